"""Human-readable summary and example plot of a corpus (used by the ``corpus`` and ``ingest`` CLIs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus


def describe(corpus: Corpus) -> dict[str, Any]:
    """Key facts of a corpus as a JSON-ready dict (windows, shards, rate, channels, classes, stats, size)."""
    return {
        "root": str(corpus.root),
        "windows": corpus.num_windows,
        "shards": len(corpus.shards),
        "sample_rate_hz": corpus.sample_rate,
        "window_length": corpus.window_length,
        "window_seconds": corpus.window_length / corpus.sample_rate,
        "channels": corpus.channel_names,
        "units": corpus.units,
        "dtype": corpus.dtype,
        "class_counts": corpus.class_counts,
        "meta_fields": corpus.meta_fields,
        "stats": {"mean": corpus.stats["mean"], "std": corpus.stats["std"]},
        "size_bytes": corpus.size_bytes,
    }


def format_description(d: dict[str, Any]) -> str:
    """Multi-line text rendering of :func:`describe`."""
    lines = [
        f"corpus        {d['root']}",
        f"windows       {d['windows']} in {d['shards']} shard(s), {d['size_bytes'] / 2**20:.2f} MiB on disk ({d['dtype']})",
        f"sample rate   {d['sample_rate_hz']:g} Hz, window {d['window_length']} samples ({d['window_seconds'] * 1e3:g} ms)",
        f"channels      {', '.join(f'{c} [{u}]' for c, u in zip(d['channels'], d['units']))}",
        f"meta fields   {', '.join(d['meta_fields']) or '-'}",
        "per-channel   "
        + "  ".join(
            f"{c}: mean {m:.4g} std {s:.4g}"
            for c, m, s in zip(d["channels"], d["stats"]["mean"], d["stats"]["std"])
        ),
    ]
    if d["class_counts"] is None:
        lines.append("classes       unlabeled")
    else:
        lines.append(f"classes       {len(d['class_counts'])}")
        lines += [f"  {name:<24s}{count}" for name, count in d["class_counts"].items()]
    return "\n".join(lines)


def plot_examples(corpus: Corpus, out: str | Path, n: int = 8, seed: int = 0) -> Path:
    """Save a grid of example windows: one row per class (``n`` columns) when labeled, else ``n`` panels.

    Each panel draws every channel against time in ms. Returns the image path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    if corpus.class_names is not None:
        labels = corpus.labels()
        rows = []
        for ci, name in enumerate(corpus.class_names):
            idx = np.flatnonzero(labels == ci)
            if len(idx):
                rows.append((name, np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))))
        ncols = max(len(r[1]) for r in rows)
    else:
        pick = np.sort(
            rng.choice(corpus.num_windows, size=min(n, corpus.num_windows), replace=False)
        )
        ncols = min(4, len(pick))
        rows = [("", pick[i : i + ncols]) for i in range(0, len(pick), ncols)]
    t_ms = np.arange(corpus.window_length) / corpus.sample_rate * 1e3
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(2.6 * ncols, 1.9 * len(rows)), squeeze=False, sharex=True
    )
    for r, (name, idx) in enumerate(rows):
        x = corpus.read(idx)
        for c in range(ncols):
            ax = axes[r][c]
            if c >= len(idx):
                ax.axis("off")
                continue
            for ch in range(corpus.num_channels):
                ax.plot(t_ms, x[c, ch], lw=0.7, label=corpus.channel_names[ch])
            ax.set_title(f"{name} #{idx[c]}" if name else f"#{idx[c]}", fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0][0].legend(fontsize=6, loc="upper right")
    fig.supxlabel("time [ms]", fontsize=8)
    fig.supylabel(f"[{corpus.units[0]}]", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
