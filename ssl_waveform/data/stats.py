"""Per-channel normalisation statistics, computed in one streaming pass with float64 accumulators."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import CorpusError
from .format import WAVEFORMS, open_h5

if TYPE_CHECKING:
    from .corpus import Corpus


class RunningChannelStats:
    """Mergeable per-channel mean and variance (Chan et al. parallel update, float64).

    Numerically stable when the mean is large compared to the spread (no sum-of-squares cancellation).
    """

    def __init__(self, num_channels: int) -> None:
        self.count = 0
        self.mean = np.zeros(num_channels, dtype=np.float64)
        self.m2 = np.zeros(num_channels, dtype=np.float64)

    def update(self, block: np.ndarray) -> None:
        """Add a block of windows ``[n, C, T]`` (any float dtype)."""
        x = np.asarray(block, dtype=np.float64)
        if x.size == 0:
            return
        n_b = x.shape[0] * x.shape[2]
        mean_b = x.mean(axis=(0, 2))
        m2_b = ((x - mean_b[None, :, None]) ** 2).sum(axis=(0, 2))
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n_b / n)
        self.count = n

    def result(self) -> dict[str, Any]:
        """``{'mean': [C], 'std': [C], 'count': samples per channel}``; std is the population std (ddof=0)."""
        if self.count == 0:
            raise CorpusError("no samples seen: statistics of an empty corpus are undefined")
        std = np.sqrt(self.m2 / self.count)
        return {"mean": self.mean.tolist(), "std": std.tolist(), "count": int(self.count)}


def stats_of_shards(paths: Iterable[Path], block_windows: int = 256) -> dict[str, Any]:
    """Per-channel statistics over the ``waveforms`` of the given shard files.

    Reads ``block_windows`` windows at a time, so memory stays bounded whatever the corpus size.
    """
    acc: RunningChannelStats | None = None
    for path in paths:
        with open_h5(path) as f:
            dset = f[WAVEFORMS]
            if acc is None:
                acc = RunningChannelStats(dset.shape[1])
            for start in range(0, dset.shape[0], block_windows):
                acc.update(dset[start : start + block_windows])
    if acc is None:
        raise CorpusError("no shards given: statistics of an empty corpus are undefined")
    return acc.result()


def compute_channel_stats(corpus_or_root: Corpus | str | Path) -> dict[str, Any]:
    """Per-channel mean and standard deviation over every sample of a corpus.

    Args:
        corpus_or_root: a :class:`Corpus` or the folder of one.

    Returns:
        ``{'mean': list[float] (C,), 'std': list[float] (C,), 'count': int}`` in the corpus units;
        ``std`` is the population standard deviation (numpy ``ddof=0``), ``count`` the number of
        samples per channel (windows x window length).
    """
    from .corpus import Corpus

    corpus = corpus_or_root if isinstance(corpus_or_root, Corpus) else Corpus(corpus_or_root)
    return stats_of_shards(corpus.shards)
