"""Atomic file writes: a hidden temporary sibling, fsync, then one rename.

A reader, or a crash (even ``kill -9``), sees either the old file or the complete new one, never a
half-written file. The temporary is ``.NAME.<pid>.tmp`` beside the target: hidden, so globs for final
names skip it, and named by its writer's PID, so cleanups can recognise leftovers of killed writers.
On an error the temporary is removed and an existing file at the target is left untouched.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


def temporary_path(final: str | Path) -> Path:
    """The hidden sibling ``.NAME.<pid>.tmp`` that ``final`` is written under before the rename."""
    final = Path(final)
    return final.with_name(f".{final.name}.{os.getpid()}{TMP_SUFFIX}")


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path for the caller to write ``final`` to; rename it into place on success.

    The caller must have closed the temporary file when the block ends; it is then fsynced and renamed
    to ``final`` and the rename is made durable. If the block raises, the temporary is deleted and
    ``final`` keeps its old content (or stays absent).

    Example:
        >>> with atomic_path(out) as tmp:
        ...     torch.onnx.export(model, args, str(tmp))
    """
    final = Path(final)
    tmp = temporary_path(final)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def publish_dir(tmp: str | Path, final: str | Path) -> Path:
    """Move a finished directory ``tmp`` into place at ``final`` (same file system), replacing any old one.

    An existing ``final`` is renamed aside to ``.NAME.old-<pid>.tmp``, ``tmp`` renamed in, then the old one
    deleted: a crash leaves the old or the new directory at ``final``, never a mix. A symlink at ``final`` keeps
    pointing where it did: the directory it points to is replaced. Returns the real path written.
    """
    tmp, final = Path(tmp), Path(final)
    target = final.resolve() if final.is_symlink() else final
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}{TMP_SUFFIX}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old)
    else:
        os.replace(tmp, target)
    fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(
    path: str | Path, obj: Any, *, indent: int | None = 2, **json_kwargs: Any
) -> None:
    """Write ``obj`` as JSON plus a final newline to ``path`` atomically.

    Args:
        path: Destination file.
        obj: A JSON-serialisable object; it is serialised before anything is written.
        indent: As in :func:`json.dumps`.
        **json_kwargs: Further :func:`json.dumps` arguments (e.g. ``sort_keys=True``).
    """
    atomic_write_text(path, json.dumps(obj, indent=indent, **json_kwargs) + "\n")


def fsync_dir(path: str | Path) -> None:
    """Persist a rename by syncing its directory (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
