"""The shifted validation sets: labeled-pool split by operating point, and the unlabeled corpus's far part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.benchmark.shift import shifted_part_of_unlabeled, split_by_operating_point
from ssl_waveform.data import Corpus
from ssl_waveform.sim import builtin_labeled_corpus, builtin_unlabeled_corpus


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    runs = tmp_path_factory.mktemp("runs")
    return builtin_unlabeled_corpus(runs, 256, seed=0), builtin_labeled_corpus(runs, 22 * 8, seed=1)


def test_unlabeled_far_part_keeps_open_loop_windows_of_labeled_classes_with_their_labels(
    corpora, tmp_path: Path
) -> None:
    unlabeled, labeled = corpora
    root = shifted_part_of_unlabeled(unlabeled, labeled, tmp_path, f_min=40.0, vdc_min=300.0)
    part, src, pool = Corpus(root), Corpus(unlabeled), Corpus(labeled)
    assert list(part.class_names) == list(pool.class_names)
    cls, control = src.meta("class_name"), src.meta("control")
    expected = np.isin(cls, pool.class_names) & (control == "open_loop")
    expected &= (src.meta("f") >= 40.0) & (src.meta("vdc") >= 300.0)
    assert part.num_windows == expected.sum() > 0
    assert (part.meta("f") >= 40.0).all() and (part.meta("vdc") >= 300.0).all()
    names = np.array(pool.class_names)[part.labels()]
    np.testing.assert_array_equal(names, cls[expected])
    np.testing.assert_array_equal(
        part.read(np.arange(part.num_windows)), src.read(np.flatnonzero(expected))
    )
    assert shifted_part_of_unlabeled(unlabeled, labeled, tmp_path) == root, (
        "written once, then reused"
    )


def test_unlabeled_far_part_that_is_empty_says_so(corpora, tmp_path: Path) -> None:
    unlabeled, labeled = corpora
    with pytest.raises(ValueError, match="no open-loop window at f >= 1000"):
        shifted_part_of_unlabeled(unlabeled, labeled, tmp_path, f_min=1000.0)
    assert not (tmp_path / "data" / "unlabeled_high").exists()


def test_labeled_pool_split_parts_are_disjoint_and_on_their_side(corpora, tmp_path: Path) -> None:
    _, labeled = corpora
    low, high = split_by_operating_point(labeled, tmp_path)
    lo, hi = Corpus(low), Corpus(high)
    assert (lo.meta("f") < 35.0).all() and (hi.meta("f") >= 55.0).all()
    assert lo.num_windows + hi.num_windows <= Corpus(labeled).num_windows
