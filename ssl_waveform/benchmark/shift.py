"""A shifted validation split inside the labeled pool: choose for operating-point robustness without a test set.

The benchmark's labeled pool (open loop, vdc 200-600 V, f 20-70 Hz, load time constant 2-10 ms) is cut by its own
metadata into a *low* part (f < 35 Hz and load time constant < 5 ms), which supplies the labels, and a disjoint
*high* part (f >= 55 Hz and time constant >= 6 ms), which is only scored. That reproduces the direction and about
the size of the benchmark's ``op_shift`` test set (labels from one operating range, windows from a faster drive
with slower loads: f x2.3, time constant x2.4 between the parts' medians) inside labeled training data. Used by
``ssl-waveform ablation shift`` (fine-tuning defaults) and ``recipes/ship_encoder.py`` (pretraining variants).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssl_waveform.identity import Init

LOW_PART = {"f_max": 35.0, "tau_max": 5e-3}
HIGH_PART = {"f_min": 55.0, "tau_min": 6e-3}


def split_by_operating_point(labeled: Path, out: Path) -> tuple[Path, Path]:
    """Write the low (labels) and high (scored) parts of the labeled corpus ``labeled`` under ``out/data``."""
    from ssl_waveform.data import Corpus, write_subset

    src = Corpus(labeled)
    f, tau = src.meta("f"), src.meta("l") / src.meta("r")
    parts = {
        "low": (f < LOW_PART["f_max"]) & (tau < LOW_PART["tau_max"]),
        "high": (f >= HIGH_PART["f_min"]) & (tau >= HIGH_PART["tau_min"]),
    }
    roots = {name: out / "data" / name for name in parts}
    for name, keep in parts.items():
        if not (roots[name] / "manifest.json").is_file():
            write_subset(src, roots[name], np.flatnonzero(keep), description={"part": name})
    return roots["low"], roots["high"]


@dataclass
class ShiftScores:
    """Accuracy on the high part (extrapolation), its class-balanced accuracy (mean recall over the classes present)
    and accuracy on a held-out quarter of the low part, one value per seed."""

    high: list[float] = field(default_factory=list)
    in_range: list[float] = field(default_factory=list)
    high_balanced: list[float] = field(default_factory=list)


def finetune_fixed(
    run_dir: Path,
    *,
    epochs: int,
    seed: int,
    engine_changes: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Fine-tune with a fixed schedule (last epoch kept; ``seed`` draws the labels and the run) unless ``run_dir``
    already finished; returns its ``metrics.json``. ``fields`` are other ``FinetuneConfig`` fields,
    ``engine_changes`` other ``EngineConfig`` fields (``mixed_precision`` must match any run before it in the
    same process: accelerate's state is process-wide)."""
    from ssl_waveform.finetune import FinetuneConfig, finetune

    if not (run_dir / "metrics.json").is_file():
        cfg = FinetuneConfig(run_dir=str(run_dir), subset_seed=seed, select="last", **fields)
        engine = {"epochs": epochs, "seed": seed, **(engine_changes or {})}
        finetune(dataclasses.replace(cfg, engine=dataclasses.replace(cfg.engine, **engine)))
    return json.loads((run_dir / "metrics.json").read_text())


def shift_scores(
    low: Path,
    high: Path,
    init: Init | str,
    out: Path,
    seeds: list[int],
    labels_per_class: int = 5,
    epochs: int = 10,
    engine_changes: dict[str, Any] | None = None,
    **fields: Any,
) -> ShiftScores:
    """Fine-tune ``init`` (``scratch``, a shipped encoder's name or an encoder folder) on ``labels_per_class``
    windows per class of the low part for each seed and score it on the high part and on a held-out quarter of
    the low part; run folders under ``out`` resume."""
    from ssl_waveform.data import Corpus
    from ssl_waveform.methods.classify import load_classifier

    high_corpus = Corpus(high)
    x_high, y_high = high_corpus.read(np.arange(high_corpus.num_windows)), high_corpus.labels()
    scores = ShiftScores()
    for seed in seeds:
        metrics = finetune_fixed(
            out / f"b{labels_per_class}-s{seed}",
            epochs=epochs,
            seed=seed,
            data=str(low),
            init=Init.parse(init),
            labels_per_class=labels_per_class,
            val_fraction=0.0,
            test_fraction=0.25,
            engine_changes=engine_changes,
            **fields,
        )
        pred = load_classifier(metrics["classifier"]).predict_windows(x_high).argmax(axis=1)
        scores.high.append(float((pred == y_high).mean()))
        recall = [float((pred[y_high == c] == c).mean()) for c in np.unique(y_high)]
        scores.high_balanced.append(float(np.mean(recall)))
        scores.in_range.append(float(metrics["accuracy"]))
    return scores


def shifted_part_of_unlabeled(
    unlabeled: Path, labeled: Path, out: Path, f_min: float = 70.0, vdc_min: float = 600.0
) -> Path:
    """The windows of an unlabeled *simulated* corpus beyond the labeled pool's operating range (open loop,
    f >= ``f_min`` Hz, vdc >= ``vdc_min`` V) whose simulated class is one of the labeled pool's, labeled from the
    simulator's metadata: a validation set as far out as ``op_shift`` without reading it (written once to
    ``out/data/unlabeled_high``)."""
    from ssl_waveform.data import Corpus, write_subset

    root = out / "data" / "unlabeled_high"
    if (root / "manifest.json").is_file():
        return root
    src, pool = Corpus(unlabeled), Corpus(labeled)
    names = list(pool.class_names or [])
    cls = src.meta("class_name")
    keep = np.isin(cls, names) & (src.meta("control") == "open_loop")
    keep &= (src.meta("f") >= f_min) & (src.meta("vdc") >= vdc_min)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise ValueError(
            f"{unlabeled}: no open-loop window at f >= {f_min} Hz and vdc >= {vdc_min} V"
        )
    labels = np.full(src.num_windows, -1, dtype=np.int64)
    labels[idx] = [names.index(c) for c in cls[idx]]
    return write_subset(
        src, root, idx, relabel=(names, labels), description={"part": "unlabeled_high"}
    )
