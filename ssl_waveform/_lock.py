"""One writer per output folder: an advisory, non-blocking lock beside the folder.

``exclusive(path, what)`` holds ``fcntl.flock`` on the hidden file ``.NAME.lock`` next to ``path`` for the duration
of a write (ingest, simulate, a training run). A second writer fails at once with an error naming the holder's
PID instead of interleaving its files with the first one's. The lock file is left in place (removing it while
another process waits on it would let two holders in); the kernel drops the lock when its holder exits, even on
SIGKILL. Where ``fcntl`` does not exist (Windows) there is no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class FolderLockedError(RuntimeError):
    """Another process is writing the same output folder."""


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.parent / f".{path.name}.lock"


@contextmanager
def exclusive(path: str | Path, what: str) -> Iterator[None]:
    """Hold the write lock of folder ``path`` (created parent first); ``what`` names the writer in errors.

    Raises:
        FolderLockedError: another live process holds it.
    """
    if fcntl is None:
        yield
        return
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise FolderLockedError(
                f"{path}: another {what} (pid {holder}) is writing it; wait for it to finish or choose "
                "another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
