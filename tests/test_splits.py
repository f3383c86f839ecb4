"""Seeded stratified splits (by window and by recording) and exact labeled subsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssl_waveform.finetune import labeled_subset, stratified_split


def _labels(counts):
    return np.concatenate([np.full(n, c) for c, n in enumerate(counts)])


def _assert_partition(splits, n):
    parts = [splits.train, splits.val, splits.test]
    for p in parts:
        assert np.all(np.diff(p) > 0), "indices must be sorted and unique"
    union = np.concatenate(parts)
    assert len(union) == n, "splits overlap or miss windows"
    np.testing.assert_array_equal(np.sort(union), np.arange(n))


def test_ungrouped_split_is_a_stratified_partition():
    counts = [40, 100, 20, 60]
    y = _labels(counts)
    s = stratified_split(y, val_fraction=0.15, test_fraction=0.25, seed=3)
    _assert_partition(s, len(y))
    for c, n in enumerate(counts):
        assert np.sum(y[s.test] == c) == round(0.25 * n)
        assert np.sum(y[s.val] == c) == round(0.15 * n)
        assert np.sum(y[s.train] == c) == n - round(0.25 * n) - round(0.15 * n)


def test_split_is_a_pure_function_of_the_seed():
    y = np.random.default_rng(0).integers(0, 4, 300)
    a = stratified_split(y, seed=7)
    b = stratified_split(y, seed=7)
    c = stratified_split(y, seed=8)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)


def test_tiny_classes_keep_a_training_window():
    # 1 window: train only; 2 windows: train + one other; 3: one in each split
    y = _labels([1, 2, 3])
    s = stratified_split(y, val_fraction=0.15, test_fraction=0.25, seed=0)
    _assert_partition(s, len(y))
    for c in range(3):
        assert np.sum(y[s.train] == c) >= 1
    assert np.sum(y[s.train] == 0) == 1
    assert [np.sum(y[p] == 2) for p in (s.train, s.val, s.test)] == [1, 1, 1]


def test_zero_fractions_put_everything_in_train():
    y = _labels([5, 5])
    s = stratified_split(y, val_fraction=0.0, test_fraction=0.0)
    np.testing.assert_array_equal(s.train, np.arange(10))
    assert len(s.val) == len(s.test) == 0


def _grouped_corpus(seed=0):
    """Recordings of 2-9 windows each; every window of a recording shares its class."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for rec in range(60):
        n = int(rng.integers(2, 10))
        labels += [rec % 3] * n
        groups += [f"rec{rec:03d}"] * n
    order = rng.permutation(len(labels))  # windows of a recording need not be contiguous
    return np.array(labels)[order], np.array(groups)[order]


def test_grouped_split_never_straddles_a_recording():
    y, groups = _grouped_corpus()
    s = stratified_split(y, val_fraction=0.2, test_fraction=0.3, seed=1, groups=groups)
    _assert_partition(s, len(y))
    sides = [set(groups[p]) for p in (s.train, s.val, s.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    # stratified over recordings: 20 recordings per class -> 6 test, 4 val, 10 train
    rec_class = {g: c for g, c in zip(groups, y)}
    for c in range(3):
        assert [sum(rec_class[g] == c for g in side) for side in sides] == [10, 4, 6]


def test_grouped_split_is_seeded():
    y, groups = _grouped_corpus()
    a = stratified_split(y, groups=groups, seed=4)
    b = stratified_split(y, groups=groups, seed=4)
    np.testing.assert_array_equal(a.test, b.test)
    np.testing.assert_array_equal(a.val, b.val)


def test_split_argument_errors():
    with pytest.raises(ValueError, match="must be 1-D"):
        stratified_split(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="sum below 1"):
        stratified_split(np.zeros(10, dtype=int), val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match=r"test_fraction=-0\.1"):
        stratified_split(np.zeros(10, dtype=int), test_fraction=-0.1)
    with pytest.raises(ValueError, match=r"groups \(3,\) and labels \(4,\) differ"):
        stratified_split(np.zeros(4, dtype=int), groups=np.arange(3))


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    val=st.floats(0.0, 0.4),
    test=st.floats(0.0, 0.4),
    seed=st.integers(0, 2**16),
)
def test_split_properties_hold_for_any_class_sizes(counts, val, test, seed):
    y = np.random.default_rng(seed).permutation(_labels(counts))
    s = stratified_split(y, val_fraction=val, test_fraction=test, seed=seed)
    _assert_partition(s, len(y))
    for c, n in enumerate(counts):
        assert np.sum(y[s.train] == c) >= 1, "every class keeps a training window"
        # stratified: each class's held-out counts are within one of the requested fraction
        if n >= 3:
            assert abs(np.sum(y[s.test] == c) - test * n) <= 1 + 1e-9
            assert abs(np.sum(y[s.val] == c) - val * n) <= 1 + 1e-9


@pytest.mark.parametrize("k", [1, 3, 10])
def test_labeled_subset_has_exactly_k_per_class(k):
    y = _labels([30, 20, 50])
    pool = stratified_split(y, seed=0).train
    sub = labeled_subset(pool, y, per_class=k, seed=2)
    assert np.all(np.diff(sub) > 0) and set(sub) <= set(pool)
    np.testing.assert_array_equal(np.bincount(y[sub], minlength=3), [k, k, k])
    np.testing.assert_array_equal(sub, labeled_subset(pool, y, per_class=k, seed=2))
    if k < 5:
        assert not np.array_equal(sub, labeled_subset(pool, y, per_class=k, seed=3))


def test_labeled_subset_fraction_and_all():
    y = _labels([40, 20])
    pool = np.arange(60)
    sub = labeled_subset(pool, y, fraction=0.25, seed=0)
    np.testing.assert_array_equal(np.bincount(y[sub]), [10, 5])
    tiny = labeled_subset(pool, y, fraction=0.01, seed=0)
    np.testing.assert_array_equal(np.bincount(y[tiny]), [1, 1])  # never drops a class
    np.testing.assert_array_equal(labeled_subset(pool[::-1], y), pool)


def test_labeled_subset_errors_name_the_short_class():
    y = _labels([10, 3, 10])
    with pytest.raises(
        ValueError, match=r"class 1 has only 3 training windows.*labels-per-class=4"
    ):
        labeled_subset(np.arange(23), y, per_class=4)
    with pytest.raises(ValueError, match="not both"):
        labeled_subset(np.arange(23), y, per_class=1, fraction=0.5)
    with pytest.raises(ValueError, match="must be >= 1"):
        labeled_subset(np.arange(23), y, per_class=0)
    with pytest.raises(ValueError, match=r"label-fraction must be in \(0, 1\]"):
        labeled_subset(np.arange(23), y, fraction=1.5)
