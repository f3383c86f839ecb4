"""Shuffled streaming of windows from many shards, sharded across ranks and DataLoader workers."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .corpus import Corpus
from .errors import CorpusError, SampleRateMismatchError


def resolve_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: explicit values, else torch.distributed, else env RANK/WORLD_SIZE, else (0, 1)."""
    if rank is None or world_size is None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            auto = (torch.distributed.get_rank(), torch.distributed.get_world_size())
        else:
            auto = (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))
        rank = auto[0] if rank is None else rank
        world_size = auto[1] if world_size is None else world_size
    if not 0 <= rank < world_size:
        raise CorpusError(f"rank {rank} is not in range(world_size={world_size})")
    return rank, world_size


def as_roots(root_or_roots: str | Path | Sequence[str | Path]) -> list[Path]:
    """One or several corpus folders as a list of paths."""
    if isinstance(root_or_roots, (str, Path)):
        return [Path(root_or_roots)]
    roots = [Path(r) for r in root_or_roots]
    if not roots:
        raise CorpusError("no corpus folder given")
    return roots


def check_compatible(corpora: Sequence[Corpus], with_labels: bool) -> None:
    """Raise when corpora cannot be mixed in one stream (rate, channels, window length, classes)."""
    ref = corpora[0]
    for c in corpora:
        if c.sample_rate != ref.sample_rate:
            raise SampleRateMismatchError(
                f"{c.root}: sample_rate {c.sample_rate} Hz differs from {ref.root} ({ref.sample_rate} Hz); "
                "resample one corpus"
            )
        for field in ("channel_names", "window_length"):
            if getattr(c, field) != getattr(ref, field):
                raise CorpusError(
                    f"{c.root}: {field} {getattr(c, field)} differs from {ref.root} ({getattr(ref, field)})"
                )
        if with_labels and (c.class_names is None or c.class_names != ref.class_names):
            raise CorpusError(
                f"{c.root}: with_labels=True needs labeled corpora with identical class_names; got "
                f"{c.class_names} vs {ref.class_names} ({ref.root})"
            )


class StreamingWindowDataset(IterableDataset):
    """Stream shuffled batches of windows from one or more corpora, with bounded memory.

    Each epoch the shards are cut into blocks of ``block_windows`` consecutive windows (one
    contiguous read each) and all blocks are shuffled globally (this shuffles shard order and block
    order at once). The concatenated block stream is split into equal contiguous ranges, one per
    rank; each range is cut into *buffers* of ``S = ceil(buffer_blocks * block_windows / B) * B``
    windows, dealt round-robin to DataLoader workers. A worker reads a buffer's blocks into one
    preallocated array, permutes its windows with numpy and yields ready batches, so use the
    DataLoader with ``batch_size=None``.

    Guarantees: every window is seen at most once per epoch across all ranks and workers; every rank
    yields exactly ``len(self)`` batches (so DDP never waits on a rank); the set of batches does not
    depend on ``num_workers``; the order is a pure function of ``(seed, epoch)``. To give every rank
    the same count, ``num_windows % world_size`` windows at the end of each epoch's shuffled stream
    are skipped (different ones every epoch when shuffling); with ``drop_last`` the windows of the
    last partial batch of each rank are skipped too. Memory per worker: one buffer of ``S`` windows
    plus one 8-byte entry per block.

    Args:
        root_or_roots: a corpus folder or a list of folders (same rate, channels and window length).
        batch_size: windows per batch ``B``.
        shuffle: shuffle blocks and windows (otherwise corpus order).
        seed: base seed; the epoch order is derived from ``(seed, epoch)``.
        block_windows: windows per contiguous read; defaults to the smallest shard chunk length.
        buffer_blocks: blocks per shuffle buffer (mixing versus memory).
        drop_last: drop each rank's last partial batch.
        rank, world_size: data-parallel position; default from torch.distributed when initialised,
            else env ``RANK``/``WORLD_SIZE``, else 0/1 (resolved when iterating).
        with_labels: also yield ``y`` (requires labeled corpora with the same classes).
        with_index: also yield ``index``, the global window index (corpora concatenated in order).

    Yields:
        ``{'x': float32 [B, C, T], 'y': int64 [B] (with_labels), 'index': int64 [B] (with_index)}``.
    """

    def __init__(
        self,
        root_or_roots: str | Path | Sequence[str | Path],
        batch_size: int = 256,
        shuffle: bool = True,
        seed: int = 0,
        block_windows: int | None = None,
        buffer_blocks: int = 8,
        drop_last: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
        with_labels: bool = False,
        with_index: bool = False,
    ) -> None:
        super().__init__()
        if batch_size < 1 or buffer_blocks < 1 or (block_windows is not None and block_windows < 1):
            raise CorpusError(
                f"batch_size, buffer_blocks and block_windows must be >= 1, got {batch_size}, "
                f"{buffer_blocks}, {block_windows}"
            )
        self.corpora = [Corpus(r) for r in as_roots(root_or_roots)]
        check_compatible(self.corpora, with_labels)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.block_windows = int(
            block_windows or min(int(c.chunk_windows.min()) for c in self.corpora)
        )
        self.buffer_blocks = int(buffer_blocks)
        self.drop_last = drop_last
        self.rank, self.world_size = rank, world_size
        self.with_labels = with_labels
        self.with_index = with_index
        self.epoch = 0
        # One row per shard over all corpora: (corpus, shard, first global index, windows).
        self._shard_corpus = np.concatenate(
            [np.full(len(c.shards), i, dtype=np.int64) for i, c in enumerate(self.corpora)]
        )
        self._shard_local = np.concatenate([np.arange(len(c.shards)) for c in self.corpora])
        base = np.cumsum([0] + [c.num_windows for c in self.corpora])
        self._shard_first = np.concatenate(
            [base[i] + c.offsets[:-1] for i, c in enumerate(self.corpora)]
        )
        sizes = np.concatenate([c.shard_sizes for c in self.corpora])
        self._shard_blocks = -(-sizes // self.block_windows)
        self._block_base = np.concatenate([[0], np.cumsum(self._shard_blocks)])
        self._shard_sizes = sizes
        self.num_windows = int(sizes.sum())
        self.buffer_windows = (
            math.ceil(self.buffer_blocks * self.block_windows / self.batch_size) * self.batch_size
        )

    @property
    def num_channels(self) -> int:
        """Channels per window."""
        return self.corpora[0].num_channels

    @property
    def window_length(self) -> int:
        """Samples per window."""
        return self.corpora[0].window_length

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose deterministic order the next iteration follows."""
        self.epoch = int(epoch)

    def _windows_per_rank(self, world_size: int) -> int:
        n = self.num_windows // world_size
        if n == 0:
            raise CorpusError(
                f"{self.num_windows} windows cannot feed {world_size} ranks; use a larger corpus or fewer ranks"
            )
        return (n // self.batch_size) * self.batch_size if self.drop_last else n

    def __len__(self) -> int:
        _, world = resolve_rank(self.rank, self.world_size)
        n = self._windows_per_rank(world)
        return math.ceil(n / self.batch_size)

    def _block_sizes(self, block_ids: np.ndarray) -> np.ndarray:
        shard = np.searchsorted(self._block_base, block_ids, side="right") - 1
        start = (block_ids - self._block_base[shard]) * self.block_windows
        return np.minimum(self.block_windows, self._shard_sizes[shard] - start)

    def _epoch_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """This epoch's block order ``[nb]`` and each block's end position in the stream ``[nb]``."""
        nb = int(self._block_base[-1])
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(nb)
        else:
            order = np.arange(nb)
        return order, np.cumsum(self._block_sizes(order))

    def _segments(
        self, order: np.ndarray, ends: np.ndarray, a: int, b: int
    ) -> Iterator[tuple[int, int, int]]:
        """``(flat shard, start, stop)`` slices covering stream positions ``[a, b)``."""
        j = int(np.searchsorted(ends, a, side="right"))
        while a < b:
            bid = int(order[j])
            shard = int(np.searchsorted(self._block_base, bid, side="right") - 1)
            block_start = (bid - int(self._block_base[shard])) * self.block_windows
            block_pos = int(ends[j]) - int(
                min(self.block_windows, self._shard_sizes[shard] - block_start)
            )
            lo = block_start + (a - block_pos)
            n = min(b, int(ends[j])) - a
            yield shard, lo, lo + n
            a += n
            j += 1

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rank, world = resolve_rank(self.rank, self.world_size)
        n_rank = self._windows_per_rank(world)
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        order, ends = self._epoch_blocks()
        first = rank * (self.num_windows // world)
        S = self.buffer_windows
        ref = self.corpora[0]
        buf = np.empty((S, ref.num_channels, ref.window_length), dtype=ref.dtype)
        ybuf = np.empty(S, dtype=np.int64)
        ibuf = np.empty(S, dtype=np.int64)
        for k in range(worker, math.ceil(n_rank / S), n_workers):
            a, b = first + k * S, first + min((k + 1) * S, n_rank)
            o = 0
            for shard, lo, hi in self._segments(order, ends, a, b):
                corpus = self.corpora[int(self._shard_corpus[shard])]
                local = int(self._shard_local[shard])
                corpus.read_slice(local, lo, hi, out=buf[o : o + hi - lo])
                if self.with_labels:
                    ybuf[o : o + hi - lo] = corpus.read_labels_slice(local, lo, hi)
                ibuf[o : o + hi - lo] = np.arange(lo, hi) + self._shard_first[shard]
                o += hi - lo
            n = b - a
            if self.shuffle:
                perm = np.random.default_rng([self.seed, self.epoch, rank, k]).permutation(n)
            else:
                perm = np.arange(n)
            for i in range(0, n, self.batch_size):
                idx = perm[i : i + self.batch_size]
                batch = {"x": torch.from_numpy(buf[idx].astype(np.float32, copy=False))}
                if self.with_labels:
                    batch["y"] = torch.from_numpy(ybuf[idx])
                if self.with_index:
                    batch["index"] = torch.from_numpy(ibuf[idx])
                yield batch
