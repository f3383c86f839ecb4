"""Classification metrics against a naive per-class reference, and the PNG figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssl_waveform.evaluation import (
    classification_metrics,
    confusion_matrix,
    plot_confusion_matrix,
    plot_training_curves,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _naive_confusion(y_true, y_pred, k):
    cm = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    return cm


def _naive_metrics(y_true, y_pred, k):
    """Per-class precision/recall/F1 by counting, one class at a time."""
    per_class = []
    for c in range(k):
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append((precision, recall, f1, tp + fn))
    present = [f1 for (_, _, f1, support) in per_class if support > 0]
    accuracy = sum(1 for t, p in zip(y_true, y_pred) if t == p) / len(y_true)
    return accuracy, sum(present) / len(present), per_class


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_equals_naive_loop(seed):
    rng = np.random.default_rng(seed)
    k = 5
    y_true = rng.integers(0, k, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, k, 200))
    cm = confusion_matrix(y_true, y_pred, k)
    assert cm.shape == (k, k)
    np.testing.assert_array_equal(cm, _naive_confusion(y_true, y_pred, k))
    assert cm.sum() == 200
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=k))


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix(np.array([0, 0, 1]), np.array([1, 1, 1]), 3)
    assert cm[0, 1] == 2 and cm[1, 1] == 1 and cm.sum() == 3


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match=r"y_pred holds labels outside \[0, 2\)"):
        confusion_matrix(np.array([0, 1]), np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="y_true holds labels outside"):
        confusion_matrix(np.array([-1, 1]), np.array([0, 1]), 2)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_classification_metrics_equal_naive_reference(seed):
    rng = np.random.default_rng(seed)
    k = 4
    names = [f"c{i}" for i in range(k)]
    y_true = rng.integers(0, k, 150)
    y_pred = np.where(rng.random(150) < 0.5, y_true, rng.integers(0, k, 150))
    m = classification_metrics(y_true, y_pred, names)
    accuracy, macro_f1, per_class = _naive_metrics(list(y_true), list(y_pred), k)
    assert m["accuracy"] == pytest.approx(accuracy)
    assert m["macro_f1"] == pytest.approx(macro_f1)
    assert m["num_samples"] == 150
    assert m["class_names"] == names
    for name, (precision, recall, f1, support) in zip(names, per_class):
        got = m["per_class"][name]
        assert got["precision"] == pytest.approx(precision)
        assert got["recall"] == pytest.approx(recall)
        assert got["f1"] == pytest.approx(f1)
        assert got["support"] == support
    assert m["confusion_matrix"] == _naive_confusion(y_true, y_pred, k).tolist()
    json.dumps(m)  # written into metrics.json as is


def test_macro_f1_ignores_classes_absent_from_the_test_set():
    # class 2 never occurs and is never predicted: it must not pull macro-F1 below 1
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, y, ["a", "b", "c"])
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_absent_class_that_is_predicted_costs_precision_not_macro_average():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])  # one sample wrongly called the absent class 2
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    _, macro_f1, _ = _naive_metrics(list(y_true), list(y_pred), 3)
    assert m["macro_f1"] == pytest.approx(macro_f1)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert m["per_class"]["c"]["precision"] == 0.0


def test_all_wrong_gives_zero():
    m = classification_metrics(np.array([0, 1, 0]), np.array([1, 0, 1]), ["a", "b"])
    assert m["accuracy"] == 0.0 and m["macro_f1"] == 0.0


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("k", [3, 30])
def test_plot_confusion_matrix_writes_png(tmp_path, k):
    rng = np.random.default_rng(0)
    y = rng.integers(0, k, 300)
    cm = confusion_matrix(y, np.where(rng.random(300) < 0.7, y, 0), k)
    out = tmp_path / "cm.png"
    plot_confusion_matrix(cm, [f"class_{i}" for i in range(k)], out, title="t")
    width, height = _png_size(out)
    assert width > 100 and height > 100


def test_plot_confusion_matrix_tolerates_empty_rows(tmp_path):
    cm = np.array([[3, 1, 0], [0, 0, 0], [0, 2, 5]])  # class 1 absent from the test set
    plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "cm.png")
    _png_size(tmp_path / "cm.png")


def test_plot_training_curves_writes_png_and_rejects_empty_log(tmp_path):
    log = tmp_path / "log.jsonl"
    rows = [
        {"epoch": e, "loss": 1.0 / (e + 1), "lr": 1e-3, "val_acc": 0.3 + 0.1 * e} for e in range(4)
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    plot_training_curves(log, tmp_path / "curves.png")
    width, height = _png_size(tmp_path / "curves.png")
    assert width > height > 100  # three panels side by side
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no epoch records"):
        plot_training_curves(empty, tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()
