"""Classification metrics and plots shared by fine-tuning, prediction and the benchmark.

Pure numpy: accuracy, macro-F1, per-class precision/recall and the confusion matrix, plus the confusion-matrix and
training-curve figures written into run folders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``[num_classes, num_classes]``; rows are true classes, columns predicted classes."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(
                f"{name} holds labels outside [0, {num_classes}): min {y.min()}, max {y.max()}"
            )
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support.

    Macro-F1 averages over the classes present in ``y_true`` (a class absent from the test set and never predicted
    would otherwise count as F1 = 0 and punish the model for the split, not for its errors).
    """
    k = len(class_names)
    cm = confusion_matrix(y_true, y_pred, k)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0
    total = max(int(support.sum()), 1)
    return {
        "accuracy": float(tp.sum() / total),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "num_samples": int(support.sum()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
    }


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = ""
) -> None:
    """Row-normalised confusion matrix as a PNG (counts annotated when the matrix is small)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    k = len(class_names)
    size = max(4.0, 0.38 * k + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    if k <= 25:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    colour = "white" if norm[i, j] > 0.5 else "black"
                    ax.text(
                        j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=6, color=colour
                    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training_curves(log_jsonl: str | Path, path: str | Path) -> None:
    """Loss, learning rate and validation metrics per epoch from an engine ``log.jsonl``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(log_jsonl).read_text().splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{log_jsonl} holds no epoch records")
    epochs = [r.get("epoch", i) for i, r in enumerate(rows)]
    val_keys = sorted({k for r in rows for k in r if k.startswith("val_")})
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    axes[0].plot(epochs, [r.get("loss", np.nan) for r in rows], marker="o")
    axes[0].set_title("training loss")
    axes[1].plot(epochs, [r.get("lr", np.nan) for r in rows], marker="o")
    axes[1].set_title("learning rate (end of epoch)")
    for key in val_keys:
        axes[2].plot(epochs, [r.get(key, np.nan) for r in rows], marker="o", label=key)
    axes[2].set_title("validation")
    if val_keys:
        axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
