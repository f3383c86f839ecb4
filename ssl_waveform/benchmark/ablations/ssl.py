"""Ablation of MAE pretraining choices, scored by SSL minus scratch on the *validation* split.

Each variant pretrains an MAE encoder (mask grid, mask ratio, normalisation, pretraining corpus, epochs), then
fine-tunes it with ``--labels-per-class`` labels per class for every seed; a scratch encoder with the same
normalisation is fine-tuned on the same labeled subsets. Scores are the validation accuracy of the last epoch of
a fixed schedule (``select=last``): the test split is never read, so the table may choose defaults. Every run
folder resumes, so an interrupted ablation continues where it stopped.

Usage:
    ssl-waveform ablation ssl --out runs/ablation                       # every variant
    ssl-waveform ablation ssl --out runs/ablation --variants grid2x2 grid8x8
"""

from __future__ import annotations

import dataclasses
import json
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import torch

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.benchmark.ablations.common import finetune_once, val_accuracy
from ssl_waveform.engine import read_log
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.finetune.run import FinetuneNormalization
from ssl_waveform.pretrain import MAEConfig, pretrain_mae
from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.corpus import write_corpus

CorpusKind = Literal["default", "broad", "labeled"]
VariantName = Literal[
    "grid2x2",
    "grid4x4",
    "grid8x8",
    "grid8x8_ratio75",
    "grid8x8_shared_scale",
    "grid8x8_broad",
    "grid8x8_broad_2x_epochs",
    "grid8x8_broad_2x_windows",
]


@dataclass(frozen=True)
class Variant:
    """One pretraining setting.

    Attributes:
        mask_cell: MAE mask cell size in model-input samples per axis.
        mask_ratio: fraction of mask cells hidden.
        normalization: waveform normalisation of the pretrained and the scratch encoder.
        corpus: ``default`` (``SimConfig()``) or ``broad`` (``SimConfig.pretraining()``) pretraining corpus.
        epochs: pretraining epochs; None takes ``SslAblationConfig.pretrain_epochs``.
        windows: pretraining corpus size; None takes ``SslAblationConfig.unlabeled_windows``.
    """

    mask_cell: int = 8
    mask_ratio: float = 0.6
    normalization: FinetuneNormalization = "per_sample"
    corpus: Literal["default", "broad"] = "default"
    epochs: int | None = None
    windows: int | None = None


VARIANTS: dict[VariantName, Variant] = {
    "grid2x2": Variant(mask_cell=32),  # the encoder's total stride: FCMAE's 2x2 cells on 64x64
    "grid4x4": Variant(mask_cell=16),
    "grid8x8": Variant(mask_cell=8),
    "grid8x8_ratio75": Variant(mask_cell=8, mask_ratio=0.75),
    "grid8x8_shared_scale": Variant(mask_cell=8, normalization="shared_scale"),
    "grid8x8_broad": Variant(mask_cell=8, corpus="broad"),
    "grid8x8_broad_2x_epochs": Variant(mask_cell=8, corpus="broad", epochs=12),
    "grid8x8_broad_2x_windows": Variant(mask_cell=8, corpus="broad", windows=8192),
}


@dataclass
class SslAblationConfig:
    """Settings of ``ssl-waveform ablation ssl``.

    Attributes:
        out: output folder (corpora, run folders, ``ablation.json``); reruns resume.
        variants: pretraining variants to run.
        seeds: fine-tuning seeds (each draws its own labeled subset).
        labels_per_class: labeled training windows per class for fine-tuning.
        unlabeled_windows: pretraining corpus size of variants that do not set their own.
        labeled_windows: size of the simulated labeled corpus.
        pretrain_epochs: pretraining epochs of variants that do not set their own.
        finetune_epochs: fine-tuning epochs (the last one is kept).
    """

    out: Path = Path("runs/ablation")
    variants: tuple[VariantName, ...] = get_args(VariantName)
    seeds: tuple[int, ...] = (0, 1, 2)
    labels_per_class: int = 10
    unlabeled_windows: int = 4096
    labeled_windows: int = 2640
    pretrain_epochs: int = 6
    finetune_epochs: int = 15


def corpus(out: Path, kind: CorpusKind, windows: int, seed: int) -> Path:
    """A simulated corpus of ``windows`` windows under ``out/data``, written once."""
    root = out / "data" / f"{kind}_n{windows}_seed{seed}"
    if not (root / "manifest.json").is_file():
        sim = SimConfig.pretraining() if kind == "broad" else SimConfig()
        write_corpus(root, sim, windows, seed=seed, labeled=kind == "labeled", progress=False)
    return root


def finetune_scores(
    cfg: SslAblationConfig,
    labeled: Path,
    init: str,
    normalization: FinetuneNormalization,
    tag: str,
) -> list[float]:
    """Validation accuracy of ``init`` fine-tuned for every seed."""
    scores = []
    for seed in cfg.seeds:
        run_dir = cfg.out / "finetune" / f"{tag}-b{cfg.labels_per_class}-s{seed}"
        finetune_once(
            run_dir,
            epochs=cfg.finetune_epochs,
            seed=seed,
            data=str(labeled),
            init=init,
            normalization=normalization,
            labels_per_class=cfg.labels_per_class,
            test_fraction=0.25,
            layer_decay=0.75,  # the fine-tuning defaults when this table was made (docs/results.md)
            augment="none",
        )
        scores.append(val_accuracy(run_dir))
    return scores


def pretrain(cfg: SslAblationConfig, name: str, v: Variant) -> tuple[Path, float]:
    """Pretrain variant ``v``; returns its encoder folder and pretraining seconds over every invocation."""
    run_dir = cfg.out / "pretrain" / name
    windows = v.windows or cfg.unlabeled_windows
    mae = MAEConfig(data=str(corpus(cfg.out, v.corpus, windows, 0)), run_dir=str(run_dir))
    mae.mask_cell, mae.mask_ratio = v.mask_cell, v.mask_ratio
    mae.encoder = dataclasses.replace(mae.encoder, normalization=v.normalization)
    mae.engine = dataclasses.replace(mae.engine, epochs=v.epochs or cfg.pretrain_epochs)
    pretrain_mae(mae)
    seconds = sum(r["wall_time_s"] for r in read_log(run_dir))  # over every (resumed) invocation
    return run_dir / "encoder", seconds


def print_table(cfg: SslAblationConfig, results: dict[str, Any]) -> None:
    """The Markdown table of every result in ``ablation.json``."""
    print(
        f"\nMAE ablation, validation accuracy at {cfg.labels_per_class} labels/class, seeds {list(cfg.seeds)}, "
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
            f"| {v.get('windows') or cfg.unlabeled_windows} x {v['epochs'] or cfg.pretrain_epochs} "
            f"| {r['pretrain_s'] / 60:.1f} min "
            f"| {mean_sd(r['ssl_val_acc'])} "
            f"| {mean_sd(r['scratch_val_acc'])} | {r['gain']:+.3f} |"
        )


def run(cfg: SslAblationConfig) -> dict[str, Any]:
    """Pretrain and fine-tune every variant of ``cfg``; returns the contents of ``out/ablation.json``
    (earlier invocations' variants included), rewritten after each variant."""
    labeled = corpus(cfg.out, "labeled", cfg.labeled_windows, 1)
    results_file = cfg.out / "ablation.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    scratch: dict[str, list[float]] = {}
    for name in cfg.variants:
        v = VARIANTS[name]
        if v.normalization not in scratch:
            scratch[v.normalization] = finetune_scores(
                cfg, labeled, "scratch", v.normalization, f"scratch-{v.normalization}"
            )
        encoder, seconds = pretrain(cfg, name, v)
        ssl = finetune_scores(cfg, labeled, str(encoder), v.normalization, name)
        base = scratch[v.normalization]
        results[name] = {
            "variant": {  # resolved, so results of other invocations print their own settings
                **dataclasses.asdict(v),
                "epochs": v.epochs or cfg.pretrain_epochs,
                "windows": v.windows or cfg.unlabeled_windows,
            },
            "ssl_val_acc": ssl,
            "scratch_val_acc": base,
            "gain": statistics.mean(ssl) - statistics.mean(base),
            "pretrain_s": seconds,
        }
        results_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(results_file, results, indent=1)
        print(f"[ablation] {name}: MAE {mean_sd(ssl)} vs scratch {mean_sd(base)}", flush=True)
    print_table(cfg, results)
    return results
