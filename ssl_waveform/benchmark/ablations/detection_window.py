"""Detection window: held-out accuracy vs the classifier's window length, for the main initialisations.

A drive must name an open-switch fault within one or two fundamental periods. This ablation fine-tunes classifiers
whose window is ``--periods`` periods of a nominal ``--fundamental`` (``finetune --window-periods P``: training
reads random stretches of that length from the benchmark's labeled windows) from each initialisation, with
``--labels-per-class`` labels per class and the benchmark's fixed schedule (last epoch kept), and scores them on
the last stretch of each window of the benchmark's ``in_dist`` test set (reported, never used to choose).
Prints a table (mean ± sd over seeds) and writes ``detection_window.png``. Run folders resume.

Usage (after ``ssl-waveform benchmark --preset cpu`` has made the data and the MAE encoder):
    ssl-waveform ablation detection_window --bench runs/benchmark_cpu --out runs/detection_window
"""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_waveform._atomic import atomic_path, atomic_write_json
from ssl_waveform.benchmark.ablations.common import finetune_once
from ssl_waveform.data import Corpus
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.finetune import last_stretch
from ssl_waveform.methods.classify import load_classifier

# accuracy on in_dist, one per seed, by initialisation and classifier window (periods)
Results = dict[str, dict[float, list[float]]]


@dataclass
class DetectionWindowAblationConfig:
    """Settings of ``ssl-waveform ablation detection_window``.

    Attributes:
        bench: a benchmark's output folder (``data/labeled``, ``data/in_dist`` and, for ``mae``, its MAE
            encoder ``pretrain/mae-convnext_atto-fold/encoder``).
        out: output folder (run folders, ``detection_window.json``, ``detection_window.png``); reruns resume.
        periods: classifier windows, in periods of ``fundamental``.
        fundamental: nominal fundamental frequency (Hz) that ``periods`` counts.
        inits: initialisations: ``mae`` (the benchmark's MAE encoder), ``scratch``, a shipped encoder's name or
            an encoder folder.
        seeds: fine-tuning seeds (each draws its own labeled subset).
        labels_per_class: labeled training windows per class.
        epochs: fine-tuning epochs (the last one is kept).
    """

    bench: Path = Path("runs/benchmark_cpu")
    out: Path = Path("runs/detection_window")
    periods: tuple[float, ...] = (1.0, 2.0, 5.0)
    fundamental: float = 50.0
    inits: tuple[str, ...] = ("mae", "scratch")
    seeds: tuple[int, ...] = (0, 1, 2)
    labels_per_class: int = 10
    epochs: int = 10


def run_label(init: str) -> str:
    """How ``init`` names its run folders: as given, except an encoder folder by its name (``.../NAME/encoder``
    by ``NAME``), so that its run folders stay under ``out``."""
    folder = Path(init)
    if len(folder.parts) < 2:
        return init
    return folder.parent.name if folder.name == "encoder" else folder.name


def scores_for(
    cfg: DetectionWindowAblationConfig,
    init: str,
    start: str,
    periods: float,
    test: tuple[np.ndarray, np.ndarray],
) -> list[float]:
    """In_dist accuracy of ``start`` fine-tuned with a window of ``periods`` periods, one per seed."""
    x_test, y_test = test
    scores = []
    for seed in cfg.seeds:
        run_dir = cfg.out / f"{run_label(init)}-p{periods:g}-b{cfg.labels_per_class}-s{seed}"
        metrics = finetune_once(
            run_dir,
            epochs=cfg.epochs,
            seed=seed,
            data=str(cfg.bench / "data" / "labeled"),
            init=start,
            labels_per_class=cfg.labels_per_class,
            val_fraction=0.2,
            test_fraction=0.0,
            window_periods=periods,
            fundamental=cfg.fundamental,
            min_batches_per_epoch=6,
        )
        model = load_classifier(metrics["classifier"])
        window = int(model.encoder.config.window)
        pred = model.predict_windows(last_stretch(x_test, window)).argmax(1)
        scores.append(float((pred == y_test).mean()))
    return scores


def plot(cfg: DetectionWindowAblationConfig, results: Results, path: Path) -> None:
    """Accuracy (mean ± sd over seeds) vs the classifier window, one line per initialisation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for init, by_p in results.items():
        ps = sorted(by_p)
        means = [statistics.mean(by_p[p]) for p in ps]
        sds = [statistics.stdev(by_p[p]) if len(by_p[p]) > 1 else 0.0 for p in ps]
        ax.errorbar(ps, means, yerr=sds, marker="o", capsize=3, label=init)
    ax.set_xlabel(f"classifier window (periods of {cfg.fundamental:g} Hz)")
    ax.set_ylabel("in_dist test accuracy")
    ax.set_title(f"detection window, {cfg.labels_per_class} labels/class")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def print_table(cfg: DetectionWindowAblationConfig, results: Results, rate: float) -> None:
    """The Markdown table: one row per initialisation, one column per window."""
    print(
        f"\nin_dist test accuracy vs classifier window, {cfg.labels_per_class} labels/class, {cfg.epochs} "
        f"epochs, seeds {list(cfg.seeds)}, periods of {cfg.fundamental:g} Hz at {rate:g} Hz, "
        f"{platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| init | " + " | ".join(f"{p:g} periods ({round(p / cfg.fundamental * rate)} samples)"
                                   for p in cfg.periods) + " |")  # fmt: skip
    print("|---|" + "---|" * len(cfg.periods))
    for init, by_p in results.items():
        cells = [mean_sd(v) for v in by_p.values()]
        print(f"| {init} | " + " | ".join(cells) + " |")


def run(cfg: DetectionWindowAblationConfig) -> Results:
    """Fine-tune every initialisation at every window and score it on ``in_dist``; writes
    ``out/detection_window.json`` and ``out/detection_window.png`` and returns the scores."""
    encoders = {"mae": cfg.bench / "pretrain" / "mae-convnext_atto-fold" / "encoder"}
    test = Corpus(cfg.bench / "data" / "in_dist")
    x_test, y_test = test.read(np.arange(test.num_windows)), test.labels()
    rate = Corpus(cfg.bench / "data" / "labeled").sample_rate
    results: Results = {}
    for init in cfg.inits:
        start = str(encoders[init]) if init in encoders else init
        results[init] = {}
        for periods in cfg.periods:
            scores = scores_for(cfg, init, start, periods, (x_test, y_test))
            results[init][periods] = scores
            print(
                f"[detection] {init} {periods:g} periods: {statistics.mean(scores):.3f}", flush=True
            )

    cfg.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cfg.out / "detection_window.json", results, indent=1)
    print_table(cfg, results, rate)
    plot(cfg, results, cfg.out / "detection_window.png")
    return results
