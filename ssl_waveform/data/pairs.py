"""Batches of window pairs from the same recording: positives for contrastive pretraining across time.

SimCLR's default positive is a second augmentation of the same window. When the corpus records which recording
(or machine, or run) each window came from, two *different* windows of one recording are a positive that teaches
invariance to what changes along a recording (phase of the fundamental, slow drift, noise) while keeping what
the recording's condition fixes (its fault): CLOCS's contrastive multi-segment coding (Kiyasseh et al.,
"CLOCS: Contrastive Learning of Cardiac Signals Across Space, Time, and Patients", ICML 2021,
https://arxiv.org/abs/2005.13249). Only the recording's identity is used, never a label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .corpus import Corpus
from .errors import CorpusError
from .streaming import resolve_rank


class SourcePairDataset(IterableDataset):
    """Ready batches ``{"x": [B, C, T], "x_pos": [B, C, T]}``: row ``i`` of both from the same recording.

    Every batch draws ``B`` different recordings (all of them, then repeats, when the corpus has fewer than
    ``B``) so that other rows are negatives from other recordings as far as the corpus allows; for each, two
    different windows (the same one twice for a one-window recording). An epoch has
    ``num_windows // B`` batches in all, dealt round-robin to the ranks (``len`` is this rank's share) and, within
    a rank, to its data-loader workers. The draws depend only on ``(seed, epoch)``, so a resumed run sees the
    batches an uninterrupted one would. Each worker opens the corpus itself (no HDF5 handle crosses a fork).

    Args:
        root: corpus folder or an open :class:`Corpus`.
        batch_size: pairs per batch ``B``.
        field: per-window metadata naming the recording (``source`` for ingested corpora).
        seed: seed of the draws.
        rank, world_size: this process's place (default: torch.distributed / environment, else 0 of 1).

    Raises:
        CorpusError: the corpus lacks ``field``, or has fewer than two recordings (no negatives).
    """

    def __init__(
        self,
        root: str | Path | Corpus,
        batch_size: int,
        field: str = "source",
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        corpus = root if isinstance(root, Corpus) else Corpus(root)
        self.root, self.num_windows = corpus.root, corpus.num_windows
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0
        self.rank, self.world_size = resolve_rank(rank, world_size)
        names, groups = np.unique(corpus.meta(field), return_inverse=True)
        if len(names) < 2:
            raise CorpusError(
                f"{self.root}: metadata field {field!r} names {len(names)} recording(s); "
                "same-recording positives need at least two (the others are the negatives)"
            )
        order = np.argsort(groups, kind="stable")
        bounds = np.flatnonzero(np.diff(groups[order])) + 1
        self.members: list[np.ndarray] = np.split(order, bounds)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _total(self) -> int:
        return self.num_windows // self.batch_size

    def __len__(self) -> int:
        return len(range(self.rank, self._total(), self.world_size))

    def pair_indices(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One batch's anchor and positive window indices (``[B]`` each)."""
        n = len(self.members)
        picks = [rng.permutation(n) for _ in range(-(-self.batch_size // n))]
        chosen = np.concatenate(picks)[: self.batch_size]
        anchor = np.empty(self.batch_size, dtype=np.int64)
        positive = np.empty(self.batch_size, dtype=np.int64)
        for i, g in enumerate(chosen):
            m = self.members[g]
            two = rng.choice(len(m), size=2, replace=False) if len(m) > 1 else np.zeros(2, int)
            anchor[i], positive[i] = m[two[0]], m[two[1]]
        return anchor, positive

    def __iter__(self):
        worker = get_worker_info()
        wid, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        corpus = Corpus(self.root)
        rng = np.random.default_rng((self.seed, self.epoch))
        for b in range(self._total()):
            anchor, positive = self.pair_indices(
                rng
            )  # every rank and worker draws every batch: one stream
            if b % self.world_size != self.rank or (b // self.world_size) % workers != wid:
                continue
            x = corpus.read(np.concatenate([anchor, positive]))
            yield {
                "x": torch.from_numpy(x[: self.batch_size]),
                "x_pos": torch.from_numpy(x[self.batch_size :]),
            }
