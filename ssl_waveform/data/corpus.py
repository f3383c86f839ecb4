"""Read-only access to a finished corpus (manifest + shards), safe across fork and pickling."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .errors import CorpusError, ShardError
from .format import LABELS, META_GROUP, WAVEFORMS, as_str_array, open_h5, read_manifest

MAX_OPEN_FILES = 64


class Corpus:
    """A corpus folder: validated manifest plus lazily opened shards.

    HDF5 files are opened on first use in each process (a forked DataLoader worker opens its own
    handles) and at most ``MAX_OPEN_FILES`` stay open (least recently used are closed). Pickling
    drops the handles, so a Corpus can be sent to spawned workers.

    Attributes:
        root: corpus folder.
        sample_rate: Hz. channel_names, units: one per channel. class_names: list or ``None``.
        num_windows, window_length (samples), num_channels, dtype (storage dtype).
        shards: shard paths in order; shard_sizes: ``[S]`` windows per shard;
        offsets: ``[S + 1]`` global index of each shard's first window (last entry = num_windows).
        chunk_windows: ``[S]`` HDF5 chunk length (windows) of each shard.
        stats: ``{'mean': [C], 'std': [C], 'count': int}``. class_counts: ``{class: count}`` or ``None``.
        meta_fields: names of per-window metadata fields. description: free JSON from the writer.

    Raises:
        ManifestError: missing or invalid manifest. ShardError: a listed shard file is missing.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        m = read_manifest(self.root)
        self.manifest = m
        self.sample_rate = float(m["sample_rate"])
        self.channel_names: list[str] = list(m["channel_names"])
        self.units: list[str] = list(m["units"])
        self.class_names: list[str] | None = m["class_names"]
        self.window_length = int(m["window_length"])
        self.num_channels = len(self.channel_names)
        self.dtype = str(m["dtype"])
        self.num_windows = int(m["num_windows"])
        self.stats: dict[str, Any] = m["stats"]
        self.class_counts: dict[str, int] | None = m["class_counts"]
        self.meta_fields: list[str] = list(m["meta_fields"])
        self.description: dict[str, Any] = m["description"]
        self.shards = [self.root / s["file"] for s in m["shards"]]
        self.shard_sizes = np.array([int(s["num_windows"]) for s in m["shards"]], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.shard_sizes)]).astype(np.int64)
        self.chunk_windows = np.array(
            [int(s.get("chunk_windows", s["num_windows"])) for s in m["shards"]], dtype=np.int64
        )
        for i, (p, entry) in enumerate(zip(self.shards, m["shards"])):
            if not p.is_file():
                raise ShardError(
                    f"{self.root / 'manifest.json'}: shards[{i}] file {p.name} is missing; restore it "
                    "or re-run the generation/ingest"
                )
            size = p.stat().st_size
            if "bytes" in entry and size != int(entry["bytes"]):
                raise ShardError(
                    f"{p}: {size} bytes, the manifest says {entry['bytes']}: the shard is truncated or was "
                    "replaced; restore it or re-run the generation/ingest"
                )
        self._handles: OrderedDict[int, h5py.File] = OrderedDict()
        self._pid = os.getpid()

    # ------------------------------------------------------------------ plumbing
    def __len__(self) -> int:
        return self.num_windows

    def __repr__(self) -> str:
        return (
            f"Corpus({str(self.root)!r}, windows={self.num_windows}, shards={len(self.shards)}, "
            f"C={self.num_channels}, T={self.window_length}, sample_rate={self.sample_rate:g})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"] = OrderedDict()
        return state

    @property
    def size_bytes(self) -> int:
        """Bytes on disk of the shards and the manifest."""
        return (
            sum(p.stat().st_size for p in self.shards)
            + (self.root / "manifest.json").stat().st_size
        )

    def file(self, shard: int) -> h5py.File:
        """Open (or reuse) the HDF5 handle of shard number ``shard`` in the current process."""
        if self._pid != os.getpid():
            # Inherited through fork: never share HDF5 handles across processes.
            self._handles = OrderedDict()
            self._pid = os.getpid()
        f = self._handles.get(shard)
        if f is None:
            f = open_h5(self.shards[shard])
            if WAVEFORMS not in f:
                f.close()
                raise ShardError(
                    f"{self.shards[shard]}: no 'waveforms' dataset; re-run the generation"
                )
            expected = (int(self.shard_sizes[shard]), self.num_channels, self.window_length)
            if tuple(f[WAVEFORMS].shape) != expected:
                found = tuple(f[WAVEFORMS].shape)
                f.close()
                raise ShardError(
                    f"{self.shards[shard]}: holds windows of shape {found}, the manifest says {expected} "
                    f"(shards[{shard}]); the manifest or the shard is wrong: re-run the generation/ingest"
                )
            self._handles[shard] = f
            if len(self._handles) > MAX_OPEN_FILES:
                _, old = self._handles.popitem(last=False)
                old.close()
        else:
            self._handles.move_to_end(shard)
        return f

    def close(self) -> None:
        """Close every open shard handle of this process."""
        if self._pid == os.getpid():
            for f in self._handles.values():
                f.close()
        self._handles = OrderedDict()

    def read_slice(
        self, shard: int, start: int, stop: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Windows ``start:stop`` of one shard in a single contiguous read.

        Args:
            out: optional array ``[stop - start, C, T]`` of the storage dtype to read into.

        Returns:
            ``[stop - start, C, T]`` in the storage dtype.
        """
        dset = self.file(shard)[WAVEFORMS]
        try:
            if out is None:
                return dset[start:stop]
            dset.read_direct(out, source_sel=np.s_[start:stop])
            return out
        except (OSError, ValueError) as exc:
            raise ShardError(
                f"{self.shards[shard]}: cannot read windows {start}:{stop} ({exc}); the shard is "
                "corrupt: delete it and re-run the generation/ingest"
            ) from exc

    def verify(self) -> None:
        """Read every window and label once: HDF5 checks each chunk's checksum (corpora written with them).

        Raises:
            ShardError: the first shard that cannot be read, or whose checksum fails, named.
        """
        for shard, n in enumerate(self.shard_sizes):
            step = int(self.chunk_windows[shard]) * 8
            for start in range(0, int(n), step):
                self.read_slice(shard, start, min(int(n), start + step))
            if self.class_names is not None:
                try:
                    self.read_labels_slice(shard, 0, int(n))
                except OSError as exc:
                    raise ShardError(f"{self.shards[shard]}: labels unreadable ({exc})") from exc

    def read_labels_slice(self, shard: int, start: int, stop: int) -> np.ndarray:
        """Labels ``start:stop`` of one shard, int64."""
        f = self.file(shard)
        if LABELS not in f:
            raise CorpusError(f"{self.shards[shard]}: corpus {self.root} is unlabeled")
        return f[LABELS][start:stop].astype(np.int64)

    # ------------------------------------------------------------------ random access
    def locate(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map global window indices ``[n]`` to ``(shard numbers [n], indices within shard [n])``.

        Raises:
            IndexError: an index is outside ``[-num_windows, num_windows)``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        bad = (idx < -self.num_windows) | (idx >= self.num_windows)
        if bad.any():
            i = int(np.argmax(bad))
            raise IndexError(
                f"{self.root}: window index {int(idx[i])} (position {i}) out of range for "
                f"{self.num_windows} windows"
            )
        idx = np.where(idx < 0, idx + self.num_windows, idx)
        shard = np.searchsorted(self.offsets, idx, side="right") - 1
        return shard, idx - self.offsets[shard]

    def read(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Windows at global ``indices`` (any order, repeats allowed) as float32 ``[n, C, T]``.

        Indices are sorted per shard and read as few contiguous spans (a gap longer than one chunk
        starts a new span), so reading many nearby windows costs little more than one slice.
        """
        shard, local = self.locate(indices)
        out = np.empty((len(shard), self.num_channels, self.window_length), dtype=np.float32)
        for s in np.unique(shard):
            pos = np.flatnonzero(shard == s)
            order = pos[np.argsort(local[pos], kind="stable")]
            loc = local[order]
            breaks = np.flatnonzero(np.diff(loc) > self.chunk_windows[s]) + 1
            for run_pos, run_loc in zip(np.split(order, breaks), np.split(loc, breaks)):
                first = int(run_loc[0])
                block = self.read_slice(int(s), first, int(run_loc[-1]) + 1)
                out[run_pos] = block[run_loc - first]
        return out

    def labels(self) -> np.ndarray:
        """All labels ``[num_windows]`` int64 (indices into ``class_names``).

        Raises:
            CorpusError: the corpus is unlabeled.
        """
        if self.class_names is None:
            raise CorpusError(f"{self.root}: corpus is unlabeled (no class_names in manifest)")
        return np.concatenate(
            [self.read_labels_slice(i, 0, int(n)) for i, n in enumerate(self.shard_sizes)]
        )

    def meta(self, field: str) -> np.ndarray:
        """One per-window metadata field over the corpus, ``[num_windows]`` (numbers or str).

        Raises:
            CorpusError: unknown field (the message lists the valid ones).
        """
        if field not in self.meta_fields:
            raise CorpusError(
                f"{self.root}: unknown meta field {field!r}; valid fields: {self.meta_fields}"
            )
        return np.concatenate(
            [as_str_array(self.file(i)[META_GROUP][field][:]) for i in range(len(self.shards))]
        )
