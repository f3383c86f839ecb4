"""What every command line shares: which errors are the user's, reported as one line with exit status 2."""

from __future__ import annotations

from ssl_waveform._lock import FolderLockedError


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors a command line reports as one ``error: ...`` line with exit status 2, not a traceback: bad or
    corrupt data, a run folder of another run, a folder another process is writing."""
    from ssl_waveform.data import CorpusError
    from ssl_waveform.engine import RunConfigMismatchError

    return (CorpusError, RunConfigMismatchError, FolderLockedError)
