"""``python -m ssl_waveform.quickstart`` (what ``make quickstart`` runs): the main job on built-in defaults.

Simulates an unlabeled corpus and a labeled fault set, MAE-pretrains a ConvNeXt encoder on the unlabeled one,
fine-tunes it and a from-scratch encoder with few labels per class, and prints their test accuracy and macro-F1
side by side. Every step resumes when re-run after an interruption.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from ssl_waveform.builtin import builtin_labeled_corpus, builtin_unlabeled_corpus
from ssl_waveform.finetune import FinetuneConfig, finetune
from ssl_waveform.pretrain import MAEConfig, pretrain_mae


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ssl_waveform.quickstart", description=__doc__)
    p.add_argument("--runs", default="runs", help="runs root (default %(default)s)")
    p.add_argument("--unlabeled-windows", type=int, default=4096, help="default %(default)s")
    p.add_argument(
        "--labeled-windows", type=int, default=2640, help="default %(default)s (22 classes)"
    )
    p.add_argument("--labels-per-class", type=int, default=10, help="default %(default)s")
    p.add_argument("--pretrain-epochs", type=int, default=6, help="default %(default)s")
    p.add_argument("--finetune-epochs", type=int, default=15, help="default %(default)s")
    p.add_argument("--encoder", default="convnext_atto", help="default %(default)s")
    p.add_argument("--representation", default="fold", help="default %(default)s")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.time()
    runs = Path(args.runs)
    out = runs / "quickstart"
    unlabeled = builtin_unlabeled_corpus(runs, args.unlabeled_windows, seed=0)
    labeled = builtin_labeled_corpus(runs, args.labeled_windows, seed=1)

    mae = MAEConfig(data=str(unlabeled), runs=str(runs), run_dir=str(out / "pretrain_mae"))
    mae.encoder.name, mae.encoder.representation = args.encoder, args.representation
    mae.engine.epochs = args.pretrain_epochs
    t0 = time.time()
    pre = pretrain_mae(mae)
    pretrain_s = time.time() - t0

    rows = []
    for name, init in (
        ("MAE-pretrained", str(out / "pretrain_mae" / "encoder")),
        ("scratch", "scratch"),
    ):
        cfg = FinetuneConfig(
            data=str(labeled),
            runs=str(runs),
            run_dir=str(out / f"finetune_{name.split('-')[0].lower()}"),
            init=init,
            encoder=args.encoder,
            representation=args.representation,
            labels_per_class=args.labels_per_class,
        )
        cfg.engine = dataclasses.replace(cfg.engine, epochs=args.finetune_epochs)
        result = finetune(cfg)
        rows.append((name, result.metrics))

    lines = [
        "| init | test accuracy | test macro-F1 | labeled windows | epochs | fine-tune time |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['num_train_windows']} "
            f"| {m['epochs']} | {m['wall_time_s']:.0f} s |"
        )
    summary = (
        f"MAE pretraining: {pre.steps} steps on {unlabeled} in {pretrain_s:.0f} s (last epoch loss {pre.loss})\n"
        f"fine-tuning: {args.labels_per_class} labeled windows per class from {labeled}, "
        f"test set of {rows[0][1]['num_test_windows']} windows\n\n" + "\n".join(lines) + "\n\n"
        f"total wall time {time.time() - start:.0f} s\n"
    )
    print("\n" + summary)
    (out / "summary.md").write_text(summary)
    (out / "summary.json").write_text(json.dumps({n: m for n, m in rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
