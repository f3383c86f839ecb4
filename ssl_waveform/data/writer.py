"""Atomic, resumable writer of corpus shards and manifest."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from .._atomic import TMP_SUFFIX, atomic_path, atomic_write_json
from .corpus import Corpus
from .errors import (
    ChannelCountError,
    CorpusError,
    NonFiniteError,
    ShardError,
    UnknownLabelError,
    WindowShapeError,
)
from .format import (
    FORMAT_VERSION,
    LABELS,
    MANIFEST_NAME,
    META_GROUP,
    SUPPORTED_DTYPES,
    WAVEFORMS,
    default_chunk_windows,
    list_shards,
    read_shard_header,
    shard_name,
)
from .stats import stats_of_shards

log = logging.getLogger(__name__)


def first_non_finite(x: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN/Inf element of ``x`` (C order), or ``None`` when all are finite."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), x.shape))


class CorpusWriter:
    """Write a corpus: HDF5 shards of ``[n, C, T]`` windows plus a JSON manifest.

    Each shard is written to a hidden temporary file (``.shard-000012.h5.<pid>.tmp``) and renamed
    into place once complete, so a crash (even ``kill -9``) never leaves a corrupt shard; a rerun
    skips the shards that :meth:`shard_complete` reports and rewrites only the rest.

    Args:
        root: corpus folder (created if needed).
        sample_rate: sampling rate of every window, Hz.
        channel_names: one name per channel, e.g. ``("ia", "ib", "ic")``.
        units: one unit for all channels, or one per channel.
        class_names: class list of a labeled corpus (labels are indices into it); ``None`` for unlabeled.
        windows_per_shard: windows per shard for :meth:`append` (``write_shard`` takes any count).
        dtype: storage dtype, ``"float32"`` or ``"float16"`` (readers always return float32).
        description: free JSON-serialisable metadata stored in the manifest (e.g. a simulator config).

    Example:
        >>> with CorpusWriter(root, sample_rate=20e3, channel_names=["ia", "ib", "ic"]) as w:
        ...     w.append(windows)  # [n, 3, T]
    """

    def __init__(
        self,
        root: str | Path,
        *,
        sample_rate: float,
        channel_names: Sequence[str],
        units: str | Sequence[str] = "A",
        class_names: Sequence[str] | None = None,
        windows_per_shard: int = 4096,
        dtype: str = "float32",
        description: dict | None = None,
    ) -> None:
        if not (
            isinstance(sample_rate, (int, float)) and math.isfinite(sample_rate) and sample_rate > 0
        ):
            raise CorpusError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        names = [str(c) for c in channel_names]
        if not names or len(set(names)) != len(names) or any(not c for c in names):
            raise CorpusError(f"channel_names must be non-empty, unique strings, got {names}")
        unit_list = [units] * len(names) if isinstance(units, str) else [str(u) for u in units]
        if len(unit_list) != len(names):
            raise CorpusError(
                f"units has {len(unit_list)} entries for {len(names)} channels {names}"
            )
        classes = None if class_names is None else [str(c) for c in class_names]
        if classes is not None and (not classes or len(set(classes)) != len(classes)):
            raise CorpusError(f"class_names must be non-empty and unique, got {classes}")
        if windows_per_shard < 1:
            raise CorpusError(f"windows_per_shard must be >= 1, got {windows_per_shard}")
        if dtype not in SUPPORTED_DTYPES:
            raise CorpusError(f"dtype {dtype!r} not supported; valid: {list(SUPPORTED_DTYPES)}")
        try:
            json.dumps(description or {})
        except TypeError as exc:
            raise CorpusError(f"description must be JSON-serialisable: {exc}") from exc
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.sample_rate = float(sample_rate)
        self.channel_names = names
        self.units = unit_list
        self.class_names = classes
        self.windows_per_shard = int(windows_per_shard)
        self.dtype = dtype
        self.description = dict(description or {})
        self.window_length: int | None = None
        self._meta_fields: list[str] | None = None
        self._buffer: list[tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]] = []
        self._buffered = 0
        existing = list_shards(self.root)
        self._next_index = (max(existing) + 1) if existing else 0
        self._finalized = False

    # ------------------------------------------------------------------ resumable generation
    def shard_path(self, index: int) -> Path:
        """Final path of shard ``index``."""
        return self.root / shard_name(index)

    def shard_complete(self, index: int) -> bool:
        """Whether shard ``index`` exists, is readable and matches this writer's settings.

        A shard that exists but is unreadable is reported incomplete (it will be rewritten); one
        written with different settings raises, since mixing two corpora in a folder is a mistake.

        Raises:
            ShardError: the shard was written with another sample rate, channels, units, classes or dtype.
        """
        path = self.shard_path(index)
        if not path.exists():
            return False
        try:
            header = read_shard_header(path)
        except ShardError as exc:
            log.warning("%s; it will be rewritten", exc)
            return False
        self._check_compatible(path, header)
        return True

    def _check_compatible(self, path: Path, h: Mapping[str, Any]) -> None:
        expected = {
            "sample_rate": self.sample_rate,
            "channel_names": self.channel_names,
            "units": self.units,
            "class_names": self.class_names,
            "dtype": self.dtype,
        }
        if self.window_length is not None:
            expected["window_length"] = self.window_length
        for key, want in expected.items():
            if h[key] != want:
                raise ShardError(
                    f"{path}: field {key!r} is {h[key]!r} but this writer uses {want!r}; the folder "
                    "holds another corpus: write to a new folder or delete the old shards."
                )
        if self.window_length is None:
            self.window_length = int(h["window_length"])

    # ------------------------------------------------------------------ validation
    def _validate(
        self,
        where: str,
        waveforms: np.ndarray,
        labels: np.ndarray | None,
        meta: Mapping[str, np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        x = np.asarray(waveforms)
        if x.ndim != 3 or x.shape[0] == 0:
            raise WindowShapeError(f"{where}: waveforms must be [n>0, C, T], got shape {x.shape}")
        if x.shape[1] != len(self.channel_names):
            raise ChannelCountError(
                f"{where}: waveforms have {x.shape[1]} channels, the corpus has "
                f"{len(self.channel_names)} {self.channel_names}"
            )
        if self.window_length is not None and x.shape[2] != self.window_length:
            raise WindowShapeError(
                f"{where}: window length {x.shape[2]} differs from the corpus window length "
                f"{self.window_length}"
            )
        if x.dtype.kind not in "fiu":
            raise WindowShapeError(f"{where}: waveforms must be numeric, got dtype {x.dtype}")
        bad = first_non_finite(x)
        if bad is not None:
            raise NonFiniteError(
                f"{where}: non-finite value {x[bad]} at window {bad[0]}, channel "
                f"{self.channel_names[bad[1]]!r}, sample {bad[2]}; clean or drop that window"
            )
        big = np.abs(x) > np.finfo(self.dtype).max
        if big.any():
            i = tuple(int(v) for v in np.argwhere(big)[0])
            raise NonFiniteError(
                f"{where}: value {x[i]} at window {i[0]}, channel {i[1]}, sample {i[2]} overflows "
                f"{self.dtype}; rescale the data (or use dtype='float32' instead of float16)"
            )
        y = self._validate_labels(where, labels, x.shape[0])
        fields = self._validate_meta(where, meta, x.shape[0])
        return x, y, fields

    def _validate_labels(self, where: str, labels: np.ndarray | None, n: int) -> np.ndarray | None:
        if self.class_names is None:
            if labels is not None:
                raise UnknownLabelError(
                    f"{where}: labels given but the writer has no class_names; pass class_names=[...]"
                )
            return None
        if labels is None:
            raise UnknownLabelError(
                f"{where}: the corpus is labeled ({self.class_names}); pass labels"
            )
        y = np.asarray(labels)
        if y.shape != (n,) or y.dtype.kind not in "iu":
            raise WindowShapeError(
                f"{where}: labels must be integers of shape ({n},), got {y.dtype} {y.shape}"
            )
        out = (y < 0) | (y >= len(self.class_names))
        if out.any():
            i = int(np.argmax(out))
            raise UnknownLabelError(
                f"{where}: label {int(y[i])} at window {i} is not in range(0, {len(self.class_names)}) "
                f"for classes {self.class_names}"
            )
        return y.astype(np.int64)

    def _validate_meta(
        self, where: str, meta: Mapping[str, np.ndarray] | None, n: int
    ) -> dict[str, np.ndarray]:
        fields: dict[str, np.ndarray] = {}
        for name, values in (meta or {}).items():
            v = np.asarray(values)
            if v.shape != (n,):
                raise WindowShapeError(
                    f"{where}: meta field {name!r} has shape {v.shape}, expected one value per window ({n},)"
                )
            if v.dtype.kind not in "biufU":
                raise WindowShapeError(
                    f"{where}: meta field {name!r} has dtype {v.dtype}; use numbers or str"
                )
            fields[str(name)] = v
        names = sorted(fields)
        if self._meta_fields is None:
            self._meta_fields = names
        elif names != self._meta_fields:
            raise WindowShapeError(
                f"{where}: meta fields {names} differ from earlier blocks {self._meta_fields}; every "
                "block must carry the same fields"
            )
        return fields

    # ------------------------------------------------------------------ writing
    def write_shard(
        self,
        index: int,
        waveforms: np.ndarray,
        labels: np.ndarray | None = None,
        meta: Mapping[str, np.ndarray] | None = None,
    ) -> Path:
        """Write shard ``index`` atomically (temporary file, fsync, rename); replaces an existing one.

        Args:
            index: shard number, 0 <= index < 1e6.
            waveforms: ``[n, C, T]`` windows in the corpus units.
            labels: ``[n]`` integers in ``range(len(class_names))``; required iff the corpus is labeled.
            meta: per-window fields, each ``[n]`` numeric or str (e.g. ``source``, ``offset``).

        Returns:
            The final shard path.
        """
        final = self.shard_path(index)
        x, y, fields = self._validate(f"{final.name}", waveforms, labels, meta)
        self.window_length = x.shape[2]
        self._write_file(index, final, x, y, fields)
        self._next_index = max(self._next_index, index + 1)
        return final

    def _write_file(
        self,
        index: int,
        final: Path,
        x: np.ndarray,
        y: np.ndarray | None,
        fields: Mapping[str, np.ndarray],
    ) -> None:
        n, c, t = x.shape
        itemsize = np.dtype(self.dtype).itemsize
        chunk = default_chunk_windows(c, t, itemsize, cap=n)
        with atomic_path(final) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["sample_rate"] = self.sample_rate
            f.attrs["channel_names"] = self.channel_names
            f.attrs["units"] = self.units
            f.attrs["shard_index"] = index
            # fletcher32: HDF5 checks every chunk's checksum when it is read, so flipped bytes are
            # an error naming the shard instead of silently wrong numbers
            f.create_dataset(
                WAVEFORMS,
                data=x.astype(self.dtype, copy=False),
                chunks=(chunk, c, t),
                fletcher32=True,
            )
            if y is not None:
                d = f.create_dataset(LABELS, data=y, chunks=True, fletcher32=True)
                d.attrs["class_names"] = self.class_names
            if fields:
                g = f.create_group(META_GROUP)
                for name, v in fields.items():
                    if v.dtype.kind == "U":
                        g.create_dataset(name, data=v.astype(object), dtype=h5py.string_dtype())
                    else:
                        g.create_dataset(name, data=v)

    def append(
        self,
        waveforms: np.ndarray,
        labels: np.ndarray | None = None,
        meta: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Buffer windows ``[n, C, T]`` and write every full shard of ``windows_per_shard`` windows.

        New shards are numbered after the highest shard already in ``root``. Arguments as in
        :meth:`write_shard`.
        """
        x, y, fields = self._validate(
            f"append block (next shard {self._next_index})", waveforms, labels, meta
        )
        self.window_length = x.shape[2]
        self._buffer.append((x, y, fields))
        self._buffered += x.shape[0]
        if self._buffered >= self.windows_per_shard:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        x = np.concatenate([b[0] for b in self._buffer])
        y = None if self._buffer[0][1] is None else np.concatenate([b[1] for b in self._buffer])  # type: ignore[misc]
        fields = {k: np.concatenate([b[2][k] for b in self._buffer]) for k in self._buffer[0][2]}
        wps = self.windows_per_shard
        n_write = len(x) if final else (len(x) // wps) * wps
        for start in range(0, n_write, wps):
            sl = slice(start, min(start + wps, n_write))
            index = self._next_index
            self._write_file(
                index,
                self.shard_path(index),
                x[sl],
                None if y is None else y[sl],
                {k: v[sl] for k, v in fields.items()},
            )
            self._next_index = index + 1
        rest = slice(n_write, len(x))
        self._buffer = (
            [(x[rest], None if y is None else y[rest], {k: v[rest] for k, v in fields.items()})]
            if n_write < len(x)
            else []
        )
        self._buffered = len(x) - n_write

    def discard_temporary_files(self) -> list[Path]:
        """Delete leftover temporary shard files of crashed writers; returns the deleted paths."""
        removed = []
        for p in self.root.iterdir():
            if p.name.startswith(".shard-") and p.name.endswith(TMP_SUFFIX):
                p.unlink(missing_ok=True)
                removed.append(p)
        return removed

    def finalize(self) -> Corpus:
        """Flush buffered windows, check every shard, compute statistics and write the manifest.

        The manifest lists every complete shard in ``root`` (including those of earlier runs), so call
        it once after all shards are written. Leftover temporary files of crashed writers are deleted.

        Returns:
            The finished :class:`Corpus`.

        Raises:
            CorpusError: nothing was written; ShardError: shards disagree with each other or this writer.
        """
        self._flush(final=True)
        self.discard_temporary_files()
        shards = list_shards(self.root)
        if not shards:
            raise CorpusError(f"{self.root}: no shards written; nothing to finalize")
        entries, class_counts, meta_fields = [], None, None
        if self.class_names is not None:
            class_counts = np.zeros(len(self.class_names), dtype=np.int64)
        for path in shards.values():
            h = read_shard_header(path)
            self._check_compatible(path, h)
            if meta_fields is None:
                meta_fields = h["meta_fields"]
            elif h["meta_fields"] != meta_fields:
                raise ShardError(
                    f"{path}: meta fields {h['meta_fields']} differ from other shards' {meta_fields}; "
                    "rewrite that shard"
                )
            if class_counts is not None:
                with h5py.File(path, "r") as f:
                    class_counts += np.bincount(f[LABELS][:], minlength=len(class_counts))
            entries.append(
                {
                    "file": path.name,
                    "num_windows": h["num_windows"],
                    "chunk_windows": h["chunk_windows"],
                    "bytes": path.stat().st_size,  # a truncated or swapped shard is caught at open
                }
            )
        stats = stats_of_shards(shards.values())
        manifest = {
            "format_version": FORMAT_VERSION,
            "sample_rate": self.sample_rate,
            "channel_names": self.channel_names,
            "units": self.units,
            "window_length": self.window_length,
            "dtype": self.dtype,
            "class_names": self.class_names,
            "num_windows": int(sum(e["num_windows"] for e in entries)),
            "shards": entries,
            "stats": stats,
            "class_counts": None
            if class_counts is None
            else dict(zip(self.class_names or [], class_counts.tolist())),
            "meta_fields": meta_fields or [],
            "description": self.description,
        }
        atomic_write_json(self.root / MANIFEST_NAME, manifest)
        self._finalized = True
        return Corpus(self.root)

    def abort(self) -> None:
        """Drop buffered windows and temporary files of this process; complete shards are kept."""
        self._buffer, self._buffered = [], 0
        for p in self.root.glob(f".shard-*.{os.getpid()}{TMP_SUFFIX}"):
            p.unlink(missing_ok=True)

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            if not self._finalized:
                self.finalize()
        else:
            self.abort()
