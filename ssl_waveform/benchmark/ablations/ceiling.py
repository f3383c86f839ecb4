"""All-label ceiling of a from-scratch ConvNeXt by normalisation, representation and epochs, on the *validation* split.

Fine-tunes scratch encoders with every labeled training window of a corpus (default: the cpu benchmark's labeled
pool, simulated by ``ssl-waveform benchmark --preset cpu --cells 'logreg-*'``), the same 80/20
train/validation split as the benchmark's cells, and a fixed schedule; prints the last epoch's validation
accuracy. The benchmark's test sets are never read, so this table may choose defaults. Runs resume.

Usage:
    ssl-waveform ablation ceiling --data runs/benchmark_cpu/data/labeled \\
        --variants fold:per_sample:10 fold:shared_scale:10 fold:shared_scale:30
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch

from ssl_waveform.benchmark.ablations.common import finetune_once, val_accuracy
from ssl_waveform.finetune.run import FinetuneNormalization
from ssl_waveform.serialize import ConfigError
from ssl_waveform.transforms import RepresentationName


@dataclass(frozen=True)
class CeilingVariant:
    """One ``REPRESENTATION:NORMALIZATION:EPOCHS`` variant.

    Attributes:
        representation: the waveform representation (``raw`` uses ``convnext1d_atto``, the 2-D ones
            ``convnext_atto`` at 64 x 64).
        normalization: the encoder's waveform normalisation.
        epochs: fine-tuning epochs.
    """

    representation: RepresentationName
    normalization: FinetuneNormalization
    epochs: int

    @classmethod
    def parse(cls, text: str) -> CeilingVariant:
        """``fold:per_sample:10`` -> ``CeilingVariant("fold", "per_sample", 10)``.

        Raises:
            ConfigError: not three fields, an unknown representation or normalisation, or epochs < 1.
        """
        fields = text.split(":")
        if len(fields) != 3:
            raise ConfigError(
                f"variants: {text!r} is not REPRESENTATION:NORMALIZATION:EPOCHS, e.g. fold:per_sample:10"
            )
        rep, norm, epochs = fields
        for value, choices in (
            (rep, get_args(RepresentationName)),
            (norm, get_args(FinetuneNormalization)),
        ):
            if value not in choices:
                raise ConfigError(
                    f"variants: {value!r} in {text!r} is not one of {', '.join(choices)}"
                )
        if not epochs.isdigit() or int(epochs) < 1:
            raise ConfigError(f"variants: epochs {epochs!r} in {text!r} must be an integer >= 1")
        return cls(rep, norm, int(epochs))  # type: ignore[arg-type]

    @property
    def encoder(self) -> str:
        """The scratch backbone of this representation."""
        return "convnext1d_atto" if self.representation == "raw" else "convnext_atto"


@dataclass(frozen=True)
class CeilingRow:
    """One row of the table: a variant and the validation accuracy of its last epoch.

    Attributes:
        variant: what was fine-tuned.
        val_acc: validation accuracy at the last epoch.
        run_dir: the fine-tuning run folder.
    """

    variant: CeilingVariant
    val_acc: float
    run_dir: Path


@dataclass
class CeilingAblationConfig:
    """Settings of ``ssl-waveform ablation ceiling``.

    Attributes:
        data: labeled corpus (all its training windows are used).
        out: output folder of the run folders; reruns resume.
        variants: REPRESENTATION:NORMALIZATION:EPOCHS (2-D representations use convnext_atto at 64x64, raw uses
            convnext1d_atto).
        seed: fine-tuning seed.
    """

    data: Path = Path("runs/benchmark_cpu/data/labeled")
    out: Path = Path("runs/ceiling")
    variants: tuple[str, ...] = ("fold:per_sample:10", "fold:shared_scale:10")
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.variants:
            raise ConfigError("variants: give at least one, e.g. --variants fold:per_sample:10")
        self.parsed_variants()

    def parsed_variants(self) -> list[CeilingVariant]:
        """``variants`` as typed variants."""
        return [CeilingVariant.parse(text) for text in self.variants]


def run(cfg: CeilingAblationConfig) -> list[CeilingRow]:
    """Fine-tune a scratch encoder on every labeled training window for each variant; returns the rows of the
    printed table."""
    rows = []
    for text, v in zip(cfg.variants, cfg.parsed_variants()):
        run_dir = cfg.out / f"{v.representation}-{v.normalization}-e{v.epochs}-s{cfg.seed}"
        finetune_once(
            run_dir,
            epochs=v.epochs,
            seed=cfg.seed,
            data=str(cfg.data),
            init="scratch",
            encoder=v.encoder,
            representation=v.representation,
            normalization=v.normalization,
            val_fraction=0.2,
            test_fraction=0.0,
            min_batches_per_epoch=6,
            layer_decay=0.75,  # the fine-tuning defaults when this table was made (docs/results.md)
            augment="none",
        )
        rows.append(CeilingRow(v, val_accuracy(run_dir), run_dir))
        print(f"[ceiling] {text}: validation accuracy {rows[-1].val_acc:.3f}", flush=True)
    print(
        f"\nscratch, all labels, validation accuracy (seed {cfg.seed}), {cfg.data}, "
        f"{platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print("| representation | normalisation | epochs | validation accuracy |\n|---|---|---|---|")
    for row in rows:
        v = row.variant
        print(f"| {v.representation} | {v.normalization} | {v.epochs} | {row.val_acc:.3f} |")
    return rows
