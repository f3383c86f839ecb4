"""All-label ceiling of a from-scratch ConvNeXt by normalisation, representation and epochs, on the *validation* split.

Fine-tunes scratch encoders with every labeled training window of a corpus (default: the cpu benchmark's labeled
pool, simulated by ``python -m ssl_waveform.benchmark --preset cpu --cells 'logreg-*'``), the same 80/20
train/validation split as the benchmark's cells, and a fixed schedule; prints the last epoch's validation
accuracy. The benchmark's test sets are never read, so this table may choose defaults. Runs resume.

Usage:
    python benchmarks/ceiling_ablation.py --data runs/benchmark_cpu/data/labeled \\
        --variants fold:per_sample:10 fold:shared_scale:10 fold:shared_scale:30
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch
from ssl_ablation import finetune_once, val_accuracy


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path("runs/benchmark_cpu/data/labeled"))
    ap.add_argument("--out", type=Path, default=Path("runs/ceiling"))
    ap.add_argument(
        "--variants",
        nargs="+",
        default=["fold:per_sample:10", "fold:shared_scale:10"],
        help="REPRESENTATION:NORMALIZATION:EPOCHS (2-D representations use convnext_atto at 64x64, "
        "raw uses convnext1d_atto)",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = []
    for variant in args.variants:
        rep, norm, epochs = variant.split(":")
        run_dir = args.out / f"{rep}-{norm}-e{epochs}-s{args.seed}"
        finetune_once(
            run_dir,
            epochs=int(epochs),
            seed=args.seed,
            data=str(args.data),
            init="scratch",
            encoder="convnext1d_atto" if rep == "raw" else "convnext_atto",
            representation=rep,
            normalization=norm,
            val_fraction=0.2,
            test_fraction=0.0,
            min_batches_per_epoch=6,
            layer_decay=0.75,  # the fine-tuning defaults when this table was made (docs/results.md)
            augment="none",
        )
        rows.append((rep, norm, epochs, val_accuracy(run_dir)))
        print(f"[ceiling] {variant}: validation accuracy {rows[-1][3]:.3f}", flush=True)
    print(
        f"\nscratch, all labels, validation accuracy (seed {args.seed}), {args.data}, "
        f"{platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| representation | normalisation | epochs | validation accuracy |\n|---|---|---|---|")
    for rep, norm, epochs, acc in rows:
        print(f"| {rep} | {norm} | {epochs} | {acc:.3f} |")


if __name__ == "__main__":
    main()
