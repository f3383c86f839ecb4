"""``python -m ssl_waveform.finetune``: fine-tune an encoder on a labeled corpus.

With no arguments it fine-tunes the newest pretrained encoder under ``runs/`` (or a scratch encoder when there
is none) on a built-in simulated labeled set. Any config field can also be set as ``key=value``
(e.g. ``engine.epochs=40 layer_decay=0.8``); ``--config FILE.yaml`` holds changes to the defaults.
"""

from __future__ import annotations

import argparse
import sys

from ssl_waveform._cli import user_errors
from ssl_waveform.augment import list_policies
from ssl_waveform.engine import ConfigError, load_config
from ssl_waveform.finetune.run import FINETUNE_NORMALIZATIONS, FinetuneConfig, finetune

_FLAGS = {
    "data": "data",
    "init": "init",
    "imagenet_weights": "imagenet_weights",
    "labels_per_class": "labels_per_class",
    "label_fraction": "label_fraction",
    "run_dir": "run_dir",
    "runs": "runs",
    "encoder": "encoder",
    "representation": "representation",
    "normalization": "normalization",
    "standardize_input": "standardize_input",
    "mode": "mode",
    "select": "select",
    "seed": "engine.seed",
    "split_seed": "split_seed",
    "subset_seed": "subset_seed",
    "epochs": "engine.epochs",
    "batch_size": "engine.batch_size",
    "base_lr": "engine.base_lr",
    "warmup_epochs": "engine.warmup_epochs",
    "warmup_steps": "engine.warmup_steps",
    "layer_decay": "layer_decay",
    "augment": "augment",
    "window_seconds": "window_seconds",
    "window_periods": "window_periods",
    "fundamental": "fundamental",
    "mixed_precision": "engine.mixed_precision",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ssl_waveform.finetune",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", help="labeled corpus folder (default: built-in simulated labeled set)")
    p.add_argument(
        "--init",
        help="auto (default: newest encoder under runs/, else scratch) | scratch | imagenet | PATH "
        "(encoder folder from pretraining, or its model.safetensors; a timm ImageNet checkpoint file goes "
        "through --init imagenet --imagenet-weights FILE)",
    )
    p.add_argument(
        "--imagenet-weights", help="local ImageNet checkpoint for --init imagenet (offline)"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--labels-per-class", type=int, help="exactly K labeled training windows per class"
    )
    g.add_argument(
        "--label-fraction", type=float, help="this fraction of each class's training windows"
    )
    p.add_argument("--run-dir", help="output folder (default runs/finetune)")
    p.add_argument("--runs", help="runs root for built-in data and --init auto (default runs)")
    p.add_argument(
        "--encoder", help="backbone when not loading an encoder folder (default convnext_atto)"
    )
    p.add_argument("--representation", help="fold | stft | cwt | gaf | raw (default fold)")
    p.add_argument(
        "--normalization",
        choices=FINETUNE_NORMALIZATIONS,
        help="waveform normalisation of an encoder created here (scratch/imagenet; default shared_scale, use per_sample for channels of mixed units)",
    )
    p.add_argument(
        "--standardize-input",
        action="store_const",
        const=True,
        help="standardise the model input per channel and pixel with the training windows' statistics, "
        "replacing the encoder's own (for classes that differ by small deviations from a shared shape, e.g. "
        "real motor currents)",
    )
    p.add_argument("--mode", choices=["full", "probe", "two_phase"], help="default full")
    p.add_argument(
        "--select",
        choices=["best", "last"],
        help="classifier = best validation epoch with early stopping (default) or last epoch of a fixed schedule",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument(
        "--base-lr", type=float, help="lr per 256 samples (absolute lr is scaled by the batch)"
    )
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--layer-decay", type=float)
    p.add_argument(
        "--augment",
        choices=list_policies(),
        help="augmentation of the labeled training windows (default speed: up to 1.67x faster windows, "
        "sensor gain/offset error and noise, for labels from a narrower operating range than the drive's)",
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--window-seconds",
        type=float,
        help="classifier window in seconds (default: the corpus's window); predict accepts recordings this long",
    )
    w.add_argument(
        "--window-periods",
        type=float,
        help="classifier window in periods of --fundamental (e.g. 2 for a detector within two periods)",
    )
    p.add_argument(
        "--fundamental",
        type=float,
        help="nominal fundamental, Hz, for --window-periods (default 50)",
    )
    p.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"])
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--split-seed", type=int)
    p.add_argument("--subset-seed", type=int)
    p.add_argument("--config", help="YAML file with changes to the default config")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="any config field, dotted")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = []
    for attr, key in _FLAGS.items():
        value = getattr(args, attr)
        if value is not None:
            overrides.append(f"{key}={value}")
    try:
        cfg = load_config(FinetuneConfig, args.config, [*overrides, *args.overrides])
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        finetune(cfg)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
