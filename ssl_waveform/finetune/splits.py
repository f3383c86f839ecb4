"""Seeded, stratified train/validation/test splits and labeled subsets.

Windows cut from one recording are strongly correlated, so when the corpus records a source per window the split is
made over recordings (each recording goes wholly to one side), stratified by the recording's class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_waveform.data import Corpus


@dataclass(frozen=True)
class Splits:
    """Window indices of each split (sorted, disjoint)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _allocate(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Counts for (val, test) out of n items of one class; train keeps at least one item."""
    if n <= 1:
        return 0, 0
    n_test = round(test_fraction * n)
    n_val = round(val_fraction * n)
    if test_fraction > 0 and n_test == 0 and n >= 3:
        n_test = 1
    if val_fraction > 0 and n_val == 0 and n - n_test >= 2:
        n_val = 1
    while n_val + n_test > n - 1:
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def stratified_split(
    labels: np.ndarray,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> Splits:
    """Split window indices into train/val/test, stratified by class and seeded.

    Args:
        labels: ``[N]`` integer class per window.
        val_fraction: fraction of each class (of its recordings, when grouped) for validation.
        test_fraction: fraction of each class for the test set.
        seed: the split is a pure function of (labels, groups, fractions, seed).
        groups: optional ``[N]`` recording/source id per window; windows of one group never straddle splits.

    Returns:
        Disjoint sorted index arrays covering all windows.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be in [0, 1) and sum below 1"
        )
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = np.arange(len(labels))
    groups = np.asarray(groups)
    if groups.shape != labels.shape:
        raise ValueError(f"groups {groups.shape} and labels {labels.shape} differ in shape")
    uniq, group_of_window = np.unique(groups, return_inverse=True)
    # class of a group = its most frequent label (ties: the smallest), counted in one pass: O(N + G x K)
    classes, label_index = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(uniq), len(classes)), dtype=np.int64)
    np.add.at(counts, (group_of_window, label_index), 1)
    group_label = classes[counts.argmax(axis=1)]
    side = np.zeros(len(uniq), dtype=np.int8)  # 0 train, 1 val, 2 test
    for c in np.unique(group_label):
        members = rng.permutation(np.flatnonzero(group_label == c))
        n_val, n_test = _allocate(len(members), val_fraction, test_fraction)
        side[members[:n_test]] = 2
        side[members[n_test : n_test + n_val]] = 1
    window_side = side[group_of_window]
    return Splits(
        train=np.flatnonzero(window_side == 0),
        val=np.flatnonzero(window_side == 1),
        test=np.flatnonzero(window_side == 2),
    )


def labeled_subset(
    indices: np.ndarray,
    labels: np.ndarray,
    *,
    per_class: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Seeded stratified subset of ``indices``: exactly ``per_class`` windows per class, or ``fraction`` of each.

    Raises:
        ValueError: when a class has fewer than ``per_class`` windows available, naming the class.
    """
    if per_class is not None and fraction is not None:
        raise ValueError("give labels-per-class or label-fraction, not both")
    indices = np.asarray(indices, dtype=np.int64)
    if per_class is None and fraction is None:
        return np.sort(indices)
    if per_class is not None and per_class < 1:
        raise ValueError(f"labels-per-class must be >= 1, got {per_class}")
    if fraction is not None and not 0 < fraction <= 1:
        raise ValueError(f"label-fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    chosen = []
    sub_labels = np.asarray(labels)[indices]
    for c in np.unique(sub_labels):
        members = indices[sub_labels == c]
        if per_class is not None:
            if len(members) < per_class:
                raise ValueError(
                    f"class {int(c)} has only {len(members)} training windows, fewer than "
                    f"labels-per-class={per_class}; lower it or use a larger corpus"
                )
            take = per_class
        else:
            take = max(1, round(fraction * len(members)))  # type: ignore[operator]
        chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen))


def split_groups(corpus: Corpus, split_by: str = "auto") -> np.ndarray | None:
    """The recording id per window that a split keeps together: ``auto`` = the corpus's ``source`` field when it
    has one, ``none`` = no grouping, else the metadata field of that name."""
    if split_by == "none":
        return None
    if split_by == "auto":
        return corpus.meta("source") if "source" in corpus.meta_fields else None
    return corpus.meta(split_by)


def split_corpus(
    corpus: Corpus,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    seed: int = 0,
    split_by: str = "auto",
) -> Splits:
    """The train/validation/test split fine-tuning makes of a labeled corpus (by recording when grouped); the
    same arguments give the same split everywhere (fine-tuning, the benchmark, ``corpus subset``)."""
    return stratified_split(
        corpus.labels(),
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        groups=split_groups(corpus, split_by),
    )


def write_split_parts(
    corpus: Corpus,
    out: str | Path,
    parts: Sequence[str],
    *,
    labeled: bool = True,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    seed: int = 0,
    split_by: str = "auto",
) -> np.ndarray:
    """Write the windows of ``parts`` (``train``, ``val``, ``test``) of :func:`split_corpus`'s split as a new
    corpus at ``out`` (e.g. every recording outside the test split, unlabeled, to pretrain on); returns their
    indices into ``corpus``."""
    from ssl_waveform.data import write_subset

    splits = split_corpus(
        corpus, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, split_by=split_by
    )
    idx = np.concatenate([getattr(splits, part) for part in parts])
    description = {"parts": list(parts), "split_seed": seed}
    write_subset(corpus, out, idx, labeled=labeled, description=description)
    return idx
