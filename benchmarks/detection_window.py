"""Detection window: held-out accuracy vs the classifier's window length, for the main initialisations.

A drive must name an open-switch fault within one or two fundamental periods. This script fine-tunes classifiers
whose window is ``--periods`` periods of a nominal ``--fundamental`` (``finetune --window-periods P``: training
reads random stretches of that length from the benchmark's labeled windows) from each initialisation, with
``--labels-per-class`` labels per class and the benchmark's fixed schedule (last epoch kept), and scores them on
the last stretch of each window of the benchmark's ``in_dist`` test set (reported, never used to choose).
Prints a table (mean ± sd over seeds) and writes ``detection_window.png``. Run folders resume.

Usage (after ``python -m ssl_waveform.benchmark --preset cpu`` has made the data and the MAE encoder):
    python benchmarks/detection_window.py --bench runs/benchmark_cpu --out runs/detection_window
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from ssl_ablation import finetune_once, mean_sd

from ssl_waveform.data import Corpus
from ssl_waveform.finetune import last_stretch
from ssl_waveform.methods.classify import load_classifier


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--bench", type=Path, default=Path("runs/benchmark_cpu"), help="a benchmark's output folder"
    )
    ap.add_argument("--out", type=Path, default=Path("runs/detection_window"))
    ap.add_argument("--periods", nargs="+", type=float, default=[1.0, 2.0, 5.0])
    ap.add_argument("--fundamental", type=float, default=50.0)
    ap.add_argument("--inits", nargs="+", default=["mae", "scratch"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--labels-per-class", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args(argv)
    encoders = {"mae": args.bench / "pretrain" / "mae-convnext_atto-fold" / "encoder"}
    test = Corpus(args.bench / "data" / "in_dist")
    x_test, y_test = test.read(np.arange(test.num_windows)), test.labels()
    labeled = args.bench / "data" / "labeled"
    rate = Corpus(labeled).sample_rate
    results: dict[str, dict[float, list[float]]] = {}
    for init in args.inits:
        start = str(encoders[init]) if init in encoders else init
        results[init] = {}
        for periods in args.periods:
            scores = []
            for seed in args.seeds:
                run_dir = args.out / f"{init}-p{periods:g}-b{args.labels_per_class}-s{seed}"
                metrics = finetune_once(
                    run_dir,
                    epochs=args.epochs,
                    seed=seed,
                    data=str(labeled),
                    init=start,
                    labels_per_class=args.labels_per_class,
                    val_fraction=0.2,
                    test_fraction=0.0,
                    window_periods=periods,
                    fundamental=args.fundamental,
                    min_batches_per_epoch=6,
                )
                model = load_classifier(metrics["classifier"])
                window = int(model.encoder.config["window"])
                pred = model.predict_windows(last_stretch(x_test, window)).argmax(1)
                scores.append(float((pred == y_test).mean()))
            results[init][periods] = scores
            print(
                f"[detection] {init} {periods:g} periods: {statistics.mean(scores):.3f}", flush=True
            )

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "detection_window.json").write_text(json.dumps(results, indent=1) + "\n")
    print(
        f"\nin_dist test accuracy vs classifier window, {args.labels_per_class} labels/class, {args.epochs} "
        f"epochs, seeds {args.seeds}, periods of {args.fundamental:g} Hz at {rate:g} Hz, "
        f"{platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| init | " + " | ".join(f"{p:g} periods ({round(p / args.fundamental * rate)} samples)"
                                   for p in args.periods) + " |")  # fmt: skip
    print("|---|" + "---|" * len(args.periods))
    for init, by_p in results.items():
        cells = [mean_sd(v) for v in by_p.values()]
        print(f"| {init} | " + " | ".join(cells) + " |")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for init, by_p in results.items():
        ps = sorted(by_p)
        means = [statistics.mean(by_p[p]) for p in ps]
        sds = [statistics.stdev(by_p[p]) if len(by_p[p]) > 1 else 0.0 for p in ps]
        ax.errorbar(ps, means, yerr=sds, marker="o", capsize=3, label=init)
    ax.set_xlabel(f"classifier window (periods of {args.fundamental:g} Hz)")
    ax.set_ylabel("in_dist test accuracy")
    ax.set_title(f"detection window, {args.labels_per_class} labels/class")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "detection_window.png", dpi=120)


if __name__ == "__main__":
    main()
