"""One writer per output folder: an advisory, non-blocking lock beside the folder.

``exclusive(path, what)`` holds ``fcntl.flock`` on the hidden file ``.NAME.lock`` next to ``path`` for the duration
of a write (ingest, simulate, a training run). A second writer fails at once with an error naming the holder's
PID instead of interleaving its files with the first one's. The holder deletes the lock file before it lets go,
and a process that locked a file someone has just deleted sees that its file is no longer the one at the path
and tries again, so two holders can never coexist. The kernel drops the lock when its holder dies, even on
SIGKILL (a stale lock file then stays until the next writer takes it over). Where ``fcntl`` does not exist
(Windows) there is no lock.
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
    for _ in range(10):
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise FolderLockedError(
                f"{path}: another {what} (pid {holder}) is writing it; wait for it to finish or choose "
                "another folder"
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder deleted this file while we locked it: take the new one
    else:  # pragma: no cover - ten deletions in a row
        raise FolderLockedError(
            f"{path}: could not take the lock {lock}; another {what} keeps replacing it"
        )
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        # deleted while still held, so nobody locks a file about to vanish
        lock.unlink(missing_ok=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
