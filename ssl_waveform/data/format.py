"""On-disk layout of a corpus: shard names, shard attributes and the JSON manifest.

See ``docs/corpus_format.md`` for the specification. This module is the only place that knows
file names and attribute keys; the writer and the readers go through it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, get_args

import h5py
import numpy as np

from .errors import ManifestError, ShardError

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SHARD_PATTERN = re.compile(r"^shard-(\d{6})\.h5$")
WAVEFORMS = "waveforms"
LABELS = "labels"
META_GROUP = "meta"
SampleDtype = Literal["float32", "float16"]
SUPPORTED_DTYPES: tuple[str, ...] = get_args(SampleDtype)
# Chunks of about this many bytes: large enough that one chunk is one efficient read, small enough
# to fit HDF5's default 1 MiB chunk cache for random access.
TARGET_CHUNK_BYTES = 1 << 20


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard-000012.h5``)."""
    if not 0 <= index < 1_000_000:
        raise ShardError(f"shard index {index} out of range: use 0 <= index < 1000000")
    return f"shard-{index:06d}.h5"


def shard_index(path: Path) -> int | None:
    """Index encoded in a final shard file name, or ``None`` when ``path`` is not a shard."""
    m = SHARD_PATTERN.match(path.name)
    return int(m.group(1)) if m else None


def list_shards(root: Path) -> dict[int, Path]:
    """Final (complete) shard files in ``root`` by index, sorted; temporary files are ignored."""
    found = {}
    for p in root.iterdir():
        idx = shard_index(p)
        if idx is not None:
            found[idx] = p
    return dict(sorted(found.items()))


def default_chunk_windows(num_channels: int, window_length: int, itemsize: int, cap: int) -> int:
    """Windows per HDF5 chunk: the largest power of two with chunk bytes <= 1 MiB, at most ``cap``."""
    per_window = max(1, num_channels * window_length * itemsize)
    n = max(1, TARGET_CHUNK_BYTES // per_window)
    return int(min(cap, 1 << (n.bit_length() - 1)))


def open_h5(path: Path) -> h5py.File:
    """Open an HDF5 file read-only, turning any low-level failure into a :class:`ShardError`."""
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise ShardError(
            f"{path}: cannot open shard ({exc}); the file is truncated or not HDF5. Delete it and "
            "re-run the generation or ingest that produced it."
        ) from exc


def read_shard_header(path: Path) -> dict[str, Any]:
    """Read and check a shard's attributes and dataset shapes.

    Returns:
        dict with ``num_windows``, ``num_channels``, ``window_length``, ``dtype``, ``sample_rate``,
        ``channel_names``, ``units``, ``class_names`` (or ``None``), ``labeled``, ``meta_fields``,
        ``chunk_windows``.

    Raises:
        ShardError: the file is unreadable, misses a dataset/attribute, or its shapes disagree.
    """
    with open_h5(path) as f:
        try:
            if int(f.attrs["format_version"]) != FORMAT_VERSION:
                raise ShardError(
                    f"{path}: shard format_version {f.attrs['format_version']} is not supported "
                    f"(this library reads version {FORMAT_VERSION}); regenerate the corpus."
                )
            w = f[WAVEFORMS]
            n, c, t = w.shape
            labeled = LABELS in f
            if labeled and f[LABELS].shape != (n,):
                raise ShardError(f"{path}: 'labels' has shape {f[LABELS].shape}, expected ({n},)")
            meta_fields = sorted(f[META_GROUP].keys()) if META_GROUP in f else []
            for name in meta_fields:
                if f[META_GROUP][name].shape != (n,):
                    raise ShardError(
                        f"{path}: meta field {name!r} has shape {f[META_GROUP][name].shape}, expected ({n},)"
                    )
            classes = f[LABELS].attrs.get("class_names") if labeled else None
            return {
                "num_windows": int(n),
                "num_channels": int(c),
                "window_length": int(t),
                "dtype": str(w.dtype),
                "chunk_windows": int(w.chunks[0]) if w.chunks else int(n),
                "sample_rate": float(f.attrs["sample_rate"]),
                "channel_names": [str(s) for s in f.attrs["channel_names"]],
                "units": [str(s) for s in f.attrs["units"]],
                "class_names": None if classes is None else [str(s) for s in classes],
                "labeled": labeled,
                "meta_fields": meta_fields,
            }
        except (KeyError, OSError, ValueError, TypeError) as exc:
            if isinstance(exc, ShardError):
                raise
            raise ShardError(
                f"{path}: incomplete or corrupt shard ({type(exc).__name__}: {exc}); delete it and "
                "re-run the generation or ingest that produced it."
            ) from exc


MANIFEST_KEYS = (
    "format_version",
    "sample_rate",
    "channel_names",
    "units",
    "window_length",
    "dtype",
    "class_names",
    "num_windows",
    "shards",
    "stats",
    "class_counts",
    "meta_fields",
    "description",
)


def read_manifest(root: Path) -> dict[str, Any]:
    """Load and validate ``root/manifest.json``.

    Raises:
        ManifestError: missing file, invalid JSON, unknown version, missing keys or shard
            counts that do not add up.
    """
    path = root / MANIFEST_NAME
    if not path.is_file():
        hint = (
            " It holds shards but no manifest: the writer was not finalized; re-run the generation "
            "(complete shards are kept) or call CorpusWriter(...).finalize()."
            if root.is_dir() and list_shards(root)
            else " Is this a corpus folder?"
        )
        raise ManifestError(f"{path}: manifest not found.{hint}")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: unreadable manifest ({exc}); re-run finalize().") from exc
    if not isinstance(m, dict):
        raise ManifestError(f"{path}: manifest must be a JSON object, got {type(m).__name__}")
    missing = [k for k in MANIFEST_KEYS if k not in m]
    if missing:
        raise ManifestError(f"{path}: manifest lacks fields {missing}; re-run finalize().")
    if m["format_version"] != FORMAT_VERSION:
        raise ManifestError(
            f"{path}: format_version {m['format_version']} is not supported (expected "
            f"{FORMAT_VERSION}); regenerate the corpus with this library version."
        )
    total = 0
    for i, s in enumerate(m["shards"]):
        if not isinstance(s, dict) or "file" not in s or "num_windows" not in s:
            raise ManifestError(f"{path}: shards[{i}] must have 'file' and 'num_windows'")
        total += int(s["num_windows"])
    if total != m["num_windows"]:
        raise ManifestError(
            f"{path}: shards hold {total} windows but num_windows is {m['num_windows']}; "
            "re-run finalize()."
        )
    return m


def as_str_array(values: np.ndarray) -> np.ndarray:
    """Decode an HDF5 string dataset's values (bytes or str) to a numpy ``str`` array."""
    if values.dtype.kind in ("S", "O"):
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values])
    return values
