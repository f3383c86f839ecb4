"""Ablation of MAE pretraining choices, scored by SSL minus scratch on the *validation* split.

Each variant pretrains an MAE encoder (mask grid, mask ratio, normalisation, pretraining corpus, epochs), then
fine-tunes it with ``--labels-per-class`` labels per class for every seed; a scratch encoder with the same
normalisation is fine-tuned on the same labeled subsets. Scores are the validation accuracy of the last epoch of
a fixed schedule (``select=last``): the test split is never read, so the table may choose defaults. Every run
folder resumes, so an interrupted ablation continues where it stopped.

Usage:
    python benchmarks/ssl_ablation.py --out runs/ablation                       # every variant
    python benchmarks/ssl_ablation.py --out runs/ablation --variants grid2x2 grid8x8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from ssl_waveform.benchmark.shift import finetune_fixed as finetune_once
from ssl_waveform.engine import read_log
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.pretrain import MAEConfig, pretrain_mae
from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.corpus import write_corpus


@dataclass(frozen=True)
class Variant:
    """One pretraining setting; ``epochs`` / ``windows`` left at None take the command line's values."""

    mask_cell: int = 8
    mask_ratio: float = 0.6
    normalization: str = "per_sample"
    corpus: str = "default"  # "default" (SimConfig()) or "broad" (SimConfig.pretraining())
    epochs: int | None = None
    windows: int | None = None


VARIANTS: dict[str, Variant] = {
    "grid2x2": Variant(mask_cell=32),  # the encoder's total stride: FCMAE's 2x2 cells on 64x64
    "grid4x4": Variant(mask_cell=16),
    "grid8x8": Variant(mask_cell=8),
    "grid8x8_ratio75": Variant(mask_cell=8, mask_ratio=0.75),
    "grid8x8_shared_scale": Variant(mask_cell=8, normalization="shared_scale"),
    "grid8x8_broad": Variant(mask_cell=8, corpus="broad"),
    "grid8x8_broad_2x_epochs": Variant(mask_cell=8, corpus="broad", epochs=12),
    "grid8x8_broad_2x_windows": Variant(mask_cell=8, corpus="broad", windows=8192),
}


def corpus(out: Path, kind: str, windows: int, seed: int) -> Path:
    root = out / "data" / f"{kind}_n{windows}_seed{seed}"
    if not (root / "manifest.json").is_file():
        cfg = {
            "default": SimConfig(),
            "broad": SimConfig.pretraining(),
            "labeled": SimConfig(),
        }[kind]
        write_corpus(root, cfg, windows, seed=seed, labeled=kind == "labeled", progress=False)
    return root


def val_accuracy(run_dir: Path) -> float:
    """Validation accuracy logged at the last epoch of a fine-tuning run."""
    return float(read_log(run_dir)[-1]["val_acc"])


def finetune_scores(
    args: argparse.Namespace, labeled: Path, init: str, normalization: str, tag: str
) -> list[float]:
    scores = []
    for seed in args.seeds:
        run_dir = args.out / "finetune" / f"{tag}-b{args.labels_per_class}-s{seed}"
        finetune_once(
            run_dir,
            epochs=args.finetune_epochs,
            seed=seed,
            data=str(labeled),
            init=init,
            normalization=normalization,
            labels_per_class=args.labels_per_class,
            test_fraction=0.25,
            layer_decay=0.75,  # the fine-tuning defaults when this table was made (docs/results.md)
            augment="none",
        )
        scores.append(val_accuracy(run_dir))
    return scores


def pretrain(args: argparse.Namespace, name: str, v: Variant) -> tuple[Path, float]:
    run_dir = args.out / "pretrain" / name
    windows = v.windows or args.unlabeled_windows
    cfg = MAEConfig(data=str(corpus(args.out, v.corpus, windows, 0)), run_dir=str(run_dir))
    cfg.mask_cell, cfg.mask_ratio = v.mask_cell, v.mask_ratio
    cfg.encoder.normalization = v.normalization
    cfg.engine = dataclasses.replace(cfg.engine, epochs=v.epochs or args.pretrain_epochs)
    pretrain_mae(cfg)
    seconds = sum(r["wall_time_s"] for r in read_log(run_dir))  # over every (resumed) invocation
    return run_dir / "encoder", seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--labels-per-class", type=int, default=10)
    ap.add_argument("--unlabeled-windows", type=int, default=4096)
    ap.add_argument("--labeled-windows", type=int, default=2640)
    ap.add_argument("--pretrain-epochs", type=int, default=6)
    ap.add_argument("--finetune-epochs", type=int, default=15)
    args = ap.parse_args(argv)
    labeled = corpus(args.out, "labeled", args.labeled_windows, 1)
    results_file = args.out / "ablation.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    scratch: dict[str, list[float]] = {}
    for name in args.variants:
        v = VARIANTS[name]
        if v.normalization not in scratch:
            scratch[v.normalization] = finetune_scores(
                args, labeled, "scratch", v.normalization, f"scratch-{v.normalization}"
            )
        encoder, seconds = pretrain(args, name, v)
        ssl = finetune_scores(args, labeled, str(encoder), v.normalization, name)
        base = scratch[v.normalization]
        results[name] = {
            "variant": {  # resolved, so results of other invocations print their own settings
                **dataclasses.asdict(v),
                "epochs": v.epochs or args.pretrain_epochs,
                "windows": v.windows or args.unlabeled_windows,
            },
            "ssl_val_acc": ssl,
            "scratch_val_acc": base,
            "gain": statistics.mean(ssl) - statistics.mean(base),
            "pretrain_s": seconds,
        }
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps(results, indent=1) + "\n")
        print(f"[ablation] {name}: MAE {mean_sd(ssl)} vs scratch {mean_sd(base)}", flush=True)

    print(
        f"\nMAE ablation, validation accuracy at {args.labels_per_class} labels/class, seeds {args.seeds}, "
        f"pretraining sizes as in the table, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print(
        "| variant | mask cell | ratio | normalisation | corpus | windows x epochs | pretraining "
        "| MAE | scratch | MAE - scratch |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        v = r["variant"]
        print(
            f"| {name} | {v['mask_cell']} | {v['mask_ratio']} | {v['normalization']} | {v['corpus']} "
            f"| {v.get('windows') or args.unlabeled_windows} x {v['epochs'] or args.pretrain_epochs} "
            f"| {r['pretrain_s'] / 60:.1f} min "
            f"| {mean_sd(r['ssl_val_acc'])} "
            f"| {mean_sd(r['scratch_val_acc'])} | {r['gain']:+.3f} |"
        )


if __name__ == "__main__":
    main()
