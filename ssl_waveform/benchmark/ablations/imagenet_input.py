"""Input size and input normalisation of an ImageNet-initialised EfficientNet-Lite0, on the *validation* split.

An ImageNet network was trained on 224 x 224 photos standardised with its checkpoint's mean/std (0.5/0.5 for
EfficientNet-Lite0). Our representations are smaller images of an already standardised waveform. This ablation
fine-tunes ImageNet-initialised and scratch EfficientNet-Lite0 encoders on ``fold`` images of each size, with the
checkpoint's input standardisation (``imagenet``: ``(x - 0.5) / 0.5`` after the representation) or without it
(``none``: the representation's output as it is, already about zero-mean, unit-variance), with
``--labels-per-class`` labels per class of the benchmark's labeled pool, a fixed schedule (last epoch kept) and
the same 80/20 train/validation split as the benchmark's cells. It prints validation accuracy, mean ± sd over
seeds, and the fine-tuning time; the benchmark's test sets are never read, so the table may choose defaults.
Runs resume.

Usage:
    ssl-waveform ablation imagenet_input --data runs/benchmark_cpu/data/labeled \\
        --variants imagenet:64:imagenet imagenet:64:none scratch:64 imagenet:128:imagenet scratch:128
"""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch

from ssl_waveform.benchmark.ablations.common import finetune_once, val_accuracy
from ssl_waveform.data import Corpus
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.models import create_encoder
from ssl_waveform.serialize import ConfigError

ENCODER = "efficientnet_lite0"
StartName = Literal["imagenet", "scratch"]
InputNorm = Literal["imagenet", "none"]


@dataclass(frozen=True)
class ImagenetInputVariant:
    """One ``INIT:IMAGE_SIZE[:INPUT_NORM]`` variant.

    Attributes:
        init: ``imagenet`` or ``scratch`` weights.
        image_size: side of the ``fold`` images.
        input_norm: ``imagenet`` (the checkpoint's input standardisation) or ``none``; defaults to ``imagenet``
            for ImageNet weights and ``none`` for scratch.
    """

    init: StartName
    image_size: int
    input_norm: InputNorm

    @classmethod
    def parse(cls, text: str) -> ImagenetInputVariant:
        """``imagenet:64`` -> ``ImagenetInputVariant("imagenet", 64, "imagenet")``.

        Raises:
            ConfigError: not two or three fields, an unknown init or input norm, or a size that is not >= 1.
        """
        fields = text.split(":")
        if len(fields) not in (2, 3):
            raise ConfigError(
                f"variants: {text!r} is not INIT:IMAGE_SIZE[:INPUT_NORM], e.g. imagenet:64:none"
            )
        init, size, *rest = fields
        input_norm = rest[0] if rest else ("imagenet" if init == "imagenet" else "none")
        for what, value, choices in (
            ("INIT", init, get_args(StartName)),
            ("INPUT_NORM", input_norm, get_args(InputNorm)),
        ):
            if value not in choices:
                raise ConfigError(
                    f"variants: {what} {value!r} in {text!r} is not one of {', '.join(choices)}"
                )
        if not size.isdigit() or int(size) < 1:
            raise ConfigError(f"variants: IMAGE_SIZE {size!r} in {text!r} must be an integer >= 1")
        return cls(init, int(size), input_norm)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ImagenetInputRow:
    """One row of the table.

    Attributes:
        variant: what was fine-tuned.
        val_acc: validation accuracy at the last epoch, one per seed.
        finetune_s: mean fine-tuning wall time over the seeds, in seconds.
    """

    variant: ImagenetInputVariant
    val_acc: list[float]
    finetune_s: float


@dataclass
class ImagenetInputAblationConfig:
    """Settings of ``ssl-waveform ablation imagenet_input``.

    Attributes:
        data: labeled corpus (the benchmark's labeled pool).
        out: output folder (initial encoders, run folders); reruns resume.
        variants: INIT:IMAGE_SIZE[:INPUT_NORM], INIT imagenet or scratch, INPUT_NORM imagenet or none.
        seeds: fine-tuning seeds (each draws its own labeled subset).
        labels_per_class: labeled training windows per class.
        epochs: fine-tuning epochs (the last one is kept).
    """

    data: Path = Path("runs/benchmark_cpu/data/labeled")
    out: Path = Path("runs/imagenet_input")
    variants: tuple[str, ...] = ("imagenet:64:imagenet", "imagenet:64:none", "scratch:64")
    seeds: tuple[int, ...] = (0, 1, 2)
    labels_per_class: int = 5
    epochs: int = 10

    def __post_init__(self) -> None:
        if not self.variants:
            raise ConfigError("variants: give at least one, e.g. --variants imagenet:64 scratch:64")
        self.parsed_variants()

    def parsed_variants(self) -> list[ImagenetInputVariant]:
        """``variants`` as typed variants."""
        return [ImagenetInputVariant.parse(text) for text in self.variants]


def initial_encoder(out: Path, corpus: Corpus, size: int, input_norm: InputNorm) -> Path:
    """An ImageNet-initialised encoder folder at this image size, with or without the input standardisation."""
    folder = out / "encoders" / f"imagenet-{size}-{input_norm}"
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
            encoder.config.input_norm = None
        encoder.save(folder)
    return folder


def run_variant(
    cfg: ImagenetInputAblationConfig, corpus: Corpus, v: ImagenetInputVariant
) -> ImagenetInputRow:
    """Fine-tune one variant for every seed."""
    start = (
        str(initial_encoder(cfg.out, corpus, v.image_size, v.input_norm))
        if v.init == "imagenet"
        else v.init
    )
    scores, seconds = [], []
    for seed in cfg.seeds:
        run_dir = (
            cfg.out / f"{v.init}-{v.image_size}-{v.input_norm}-b{cfg.labels_per_class}-s{seed}"
        )
        metrics = finetune_once(
            run_dir,
            epochs=cfg.epochs,
            seed=seed,
            data=str(cfg.data),
            init=start,
            encoder=ENCODER,
            representation="fold",
            image_size=v.image_size,
            labels_per_class=cfg.labels_per_class,
            val_fraction=0.2,
            test_fraction=0.0,
            min_batches_per_epoch=6,
        )
        scores.append(val_accuracy(run_dir))
        seconds.append(metrics["wall_time_s"])
    return ImagenetInputRow(v, scores, statistics.mean(seconds))


def run(cfg: ImagenetInputAblationConfig) -> list[ImagenetInputRow]:
    """Fine-tune every variant of ``cfg``; returns the rows of the printed table."""
    corpus = Corpus(cfg.data)
    rows = []
    for text, v in zip(cfg.variants, cfg.parsed_variants()):
        rows.append(run_variant(cfg, corpus, v))
        print(
            f"[imagenet-input] {text}: validation accuracy {mean_sd(rows[-1].val_acc)}", flush=True
        )
    print(
        f"\n{ENCODER} / fold, {cfg.labels_per_class} labels/class, {cfg.epochs} epochs, validation accuracy "
        f"over seeds {list(cfg.seeds)}, {cfg.data}, {platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| init | image | input standardisation | validation accuracy | fine-tuning s |")
    print("|---|---|---|---|---|")
    for row in rows:
        v = row.variant
        print(
            f"| {v.init} | {v.image_size} | {v.input_norm} | {mean_sd(row.val_acc)} | {row.finetune_s:.0f} |"
        )
    return rows
