"""Figures written into run folders: the row-normalised confusion matrix and per-epoch training curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


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
