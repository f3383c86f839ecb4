"""Map-style (random access) dataset over a corpus, for labeled sets and evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .corpus import Corpus


class WindowDataset(Dataset):
    """Random access to the windows of one corpus (or a subset of them).

    Args:
        root: corpus folder or an open :class:`Corpus`.
        indices: global window indices forming this dataset (e.g. a split by recording); all by default.
        transform: optional callable applied to each ``x`` tensor ``[C, T]``.

    ``__getitem__(i)`` returns ``(x, y)``: float32 tensor ``[C, T]`` and the int label (``-1`` when the
    corpus is unlabeled). ``__getitems__`` (used by DataLoader for batched fetching) reads a whole
    batch with one sorted, span-merged read per shard.
    """

    def __init__(
        self,
        root: str | Path | Corpus,
        indices: Sequence[int] | np.ndarray | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.corpus = root if isinstance(root, Corpus) else Corpus(root)
        if indices is None:
            self.indices = np.arange(self.corpus.num_windows, dtype=np.int64)
        else:
            self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            self.corpus.locate(self.indices)  # validates the range once, up front
        self.transform = transform
        self._labels = self.corpus.labels() if self.corpus.class_names is not None else None

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> np.ndarray:
        """Labels of this dataset's windows ``[len]`` int64 (``-1`` when unlabeled)."""
        if self._labels is None:
            return np.full(len(self.indices), -1, dtype=np.int64)
        return self._labels[self.indices]

    def _sample(self, x: np.ndarray, global_index: int) -> tuple[torch.Tensor, int]:
        t = torch.from_numpy(x)
        if self.transform is not None:
            t = self.transform(t)
        y = -1 if self._labels is None else int(self._labels[global_index])
        return t, y

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for WindowDataset of {len(self)} windows")
        g = int(self.indices[i])
        return self._sample(self.corpus.read([g])[0], g)

    def __getitems__(self, items: Sequence[int]) -> list[tuple[torch.Tensor, int]]:
        g = self.indices[np.asarray(items, dtype=np.int64)]
        x = self.corpus.read(g)
        return [self._sample(x[j], int(g[j])) for j in range(len(g))]
