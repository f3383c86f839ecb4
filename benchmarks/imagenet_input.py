"""Input size and input normalisation of an ImageNet-initialised EfficientNet-Lite0, on the *validation* split.

An ImageNet network was trained on 224 x 224 photos standardised with its checkpoint's mean/std (0.5/0.5 for
EfficientNet-Lite0). Our representations are smaller images of an already standardised waveform. This script
fine-tunes ImageNet-initialised and scratch EfficientNet-Lite0 encoders on ``fold`` images of each size, with the
checkpoint's input standardisation (``imagenet``: ``(x - 0.5) / 0.5`` after the representation) or without it
(``none``: the representation's output as it is, already about zero-mean, unit-variance), with
``--labels-per-class`` labels per class of the benchmark's labeled pool, a fixed schedule (last epoch kept) and
the same 80/20 train/validation split as the benchmark's cells. It prints validation accuracy, mean ± sd over
seeds, and the fine-tuning time; the benchmark's test sets are never read, so the table may choose defaults.
Runs resume.

Usage:
    python benchmarks/imagenet_input.py --data runs/benchmark_cpu/data/labeled \\
        --variants imagenet:64:imagenet imagenet:64:none scratch:64 imagenet:128:imagenet scratch:128
"""

from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

import torch
from ssl_ablation import finetune_once, mean_sd, val_accuracy

from ssl_waveform.data import Corpus
from ssl_waveform.models import create_encoder

ENCODER = "efficientnet_lite0"


def initial_encoder(args: argparse.Namespace, corpus: Corpus, size: int, input_norm: str) -> Path:
    """An ImageNet-initialised encoder folder at this image size, with or without the input standardisation."""
    folder = args.out / "encoders" / f"imagenet-{size}-{input_norm}"
    if not (folder / "config.json").is_file():
        encoder = create_encoder(
            ENCODER,
            "fold",
            corpus.num_channels,
            init="imagenet",
            sample_rate=corpus.sample_rate,
            window=corpus.window_length,
            image_size=size,
            channel_names=corpus.channel_names,
        )
        if input_norm == "none":
            encoder.config["input_norm"] = None
        encoder.save(folder)
    return folder


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path("runs/benchmark_cpu/data/labeled"))
    ap.add_argument("--out", type=Path, default=Path("runs/imagenet_input"))
    ap.add_argument(
        "--variants",
        nargs="+",
        default=["imagenet:64:imagenet", "imagenet:64:none", "scratch:64"],
        help="INIT:IMAGE_SIZE[:INPUT_NORM], INIT imagenet or scratch, INPUT_NORM imagenet or none",
    )
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--labels-per-class", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args(argv)
    corpus = Corpus(args.data)
    rows = []
    for variant in args.variants:
        init, size, *rest = variant.split(":")
        input_norm = rest[0] if rest else ("imagenet" if init == "imagenet" else "none")
        start = (
            str(initial_encoder(args, corpus, int(size), input_norm))
            if init == "imagenet"
            else init
        )
        scores, seconds = [], []
        for seed in args.seeds:
            run_dir = args.out / f"{init}-{size}-{input_norm}-b{args.labels_per_class}-s{seed}"
            metrics = finetune_once(
                run_dir,
                epochs=args.epochs,
                seed=seed,
                data=str(args.data),
                init=start,
                encoder=ENCODER,
                representation="fold",
                image_size=int(size),
                labels_per_class=args.labels_per_class,
                val_fraction=0.2,
                test_fraction=0.0,
                min_batches_per_epoch=6,
            )
            scores.append(val_accuracy(run_dir))
            seconds.append(metrics["wall_time_s"])
        rows.append((init, size, input_norm, scores, statistics.mean(seconds)))
        print(f"[imagenet-input] {variant}: validation accuracy {mean_sd(scores)}", flush=True)
    print(
        f"\n{ENCODER} / fold, {args.labels_per_class} labels/class, {args.epochs} epochs, validation accuracy "
        f"over seeds {args.seeds}, {args.data}, {platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| init | image | input standardisation | validation accuracy | fine-tuning s |")
    print("|---|---|---|---|---|")
    for init, size, input_norm, scores, secs in rows:
        print(f"| {init} | {size} | {input_norm} | {mean_sd(scores)} | {secs:.0f} |")


if __name__ == "__main__":
    main()
