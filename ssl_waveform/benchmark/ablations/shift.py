"""Fine-tuning choices under an operating-point shift, scored without any benchmark test set.

The benchmark's labeled pool is cut by its own metadata into a low part (labels) and a disjoint high part
(scored only): ``ssl_waveform.benchmark.shift`` says how, so a fine-tuning default can be chosen for robustness
without reading ``op_shift``. Each variant fine-tunes a
pretrained encoder and a scratch encoder on the same labeled subsets (``--labels-per-class``, every seed) with a
fixed schedule (last epoch kept) and reports accuracy on the high part (extrapolation) and on a held-out quarter of
the low part (in range). Run folders resume.

Usage:
    ssl-waveform ablation shift --labeled runs/benchmark_cpu/data/labeled \\
        --encoder runs/benchmark_cpu/pretrain/mae-convnext_atto-fold/encoder --out runs/shift_ablation
"""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import torch

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.benchmark.shift import (
    shift_scores,
    shifted_part_of_unlabeled,
    split_by_operating_point,
)
from ssl_waveform.data import Corpus
from ssl_waveform.evaluation import mean_sd

VariantName = Literal[
    "default",
    "no_layer_decay",
    "speed_aug",
    "speed_aug_no_layer_decay",
    "two_phase",
    "probe",
]

# spelled out in full (not relative to the defaults, which these results changed)
VARIANTS: dict[VariantName, dict[str, Any]] = {
    "default": {
        "layer_decay": 0.75,
        "augment": "none",
    },  # the fine-tuning defaults before this ablation
    "no_layer_decay": {"layer_decay": 1.0, "augment": "none"},
    "speed_aug": {"layer_decay": 0.75, "augment": "speed"},
    "speed_aug_no_layer_decay": {"layer_decay": 1.0, "augment": "speed"},  # the defaults since
    # with the defaults since: probe-then-fine-tune (LP-FT, Kumar et al., ICLR 2022: fine-tuning distorts
    # pretrained features and underperforms out of distribution) and a frozen encoder with a linear head
    "two_phase": {"layer_decay": 1.0, "augment": "speed", "mode": "two_phase"},
    "probe": {"layer_decay": 1.0, "augment": "speed", "mode": "probe"},
}


@dataclass
class ShiftAblationConfig:
    """Settings of ``ssl-waveform ablation shift``.

    Attributes:
        labeled: the benchmark's labeled pool (cut into the low and high parts).
        encoder: pretrained encoder folder compared with scratch.
        out: output folder (the parts, run folders, ``shift_ablation.json``); reruns resume.
        variants: fine-tuning variants to run.
        seeds: fine-tuning seeds (each draws its own labeled subset).
        labels_per_class: labeled training windows per class.
        finetune_epochs: fine-tuning epochs (the last one is kept).
        score_unlabeled: score on the windows of this unlabeled simulated corpus beyond the labeled range (open
            loop, f >= 70 Hz, vdc >= 600 V, labeled from the simulator's metadata) instead of the labeled pool's
            high part; labels then come from the whole labeled pool.
        scratch_variants: variants that also fine-tune scratch (default: all); others reuse the latest scratch
            row.
    """

    labeled: Path = Path("runs/benchmark_cpu/data/labeled")
    encoder: Path = Path("runs/benchmark_cpu/pretrain/mae-convnext_atto-fold/encoder")
    out: Path = Path("runs/shift_ablation")
    variants: tuple[VariantName, ...] = get_args(VariantName)
    seeds: tuple[int, ...] = (0, 1, 2)
    labels_per_class: int = 5
    finetune_epochs: int = 10
    score_unlabeled: Path | None = None
    scratch_variants: tuple[VariantName, ...] | None = None


def run_variant(
    cfg: ShiftAblationConfig, low: Path, high: Path, name: VariantName, init: str, tag: str
) -> dict[str, list[float]]:
    """Scores of ``init`` fine-tuned with variant ``name`` for every seed."""
    scores = shift_scores(
        low,
        high,
        init,
        cfg.out / "finetune" / f"{name}-{tag}",
        list(cfg.seeds),
        cfg.labels_per_class,
        cfg.finetune_epochs,
        **VARIANTS[name],
    )
    return {"high": scores.high, "in_range": scores.in_range, "high_balanced": scores.high_balanced}


def print_table(cfg: ShiftAblationConfig, results: dict[str, Any]) -> None:
    """The Markdown table of every result in ``shift_ablation.json``."""
    print(
        f"\nOperating-point extrapolation inside the labeled pool, {cfg.labels_per_class} labels/class, "
        f"{cfg.finetune_epochs} epochs, seeds {list(cfg.seeds)}, encoder {cfg.encoder}, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads\n"
    )
    print(
        "| variant | SSL high | scratch high | SSL - scratch (high) | SSL in range | scratch in range |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        s, b = r["ssl"], r["scratch"]
        gain = statistics.mean(s["high"]) - statistics.mean(b["high"])
        print(
            f"| {name} | {mean_sd(s['high'])} | {mean_sd(b['high'])} | {gain:+.3f} "
            f"| {mean_sd(s['in_range'])} | {mean_sd(b['in_range'])} |"
        )


def run(cfg: ShiftAblationConfig) -> dict[str, Any]:
    """Fine-tune the encoder and scratch with every variant of ``cfg``; returns the contents of
    ``out/shift_ablation.json`` (earlier invocations' variants included), rewritten after each variant."""
    low, high = split_by_operating_point(cfg.labeled, cfg.out)
    if cfg.score_unlabeled is not None:
        low, high = (
            cfg.labeled,
            shifted_part_of_unlabeled(cfg.score_unlabeled, cfg.labeled, cfg.out),
        )
    print(
        f"labels drawn from {Corpus(low).num_windows} windows ({low}), scored on {Corpus(high).num_windows} "
        f"({high})"
    )
    results_file = cfg.out / "shift_ablation.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    scratch: dict[str, list[float]] | None = None
    for name in cfg.variants:
        ssl = run_variant(cfg, low, high, name, str(cfg.encoder), "ssl")
        if scratch is None or cfg.scratch_variants is None or name in cfg.scratch_variants:
            scratch = run_variant(cfg, low, high, name, "scratch", "scratch")
        results[name] = {"overrides": VARIANTS[name], "ssl": ssl, "scratch": scratch}
        atomic_write_json(results_file, results, indent=1)
        print(
            f"[shift] {name}: high SSL {mean_sd(ssl['high'])} vs scratch {mean_sd(scratch['high'])}; "
            f"class-balanced {mean_sd(ssl['high_balanced'])} vs {mean_sd(scratch['high_balanced'])}"
        )
    print_table(cfg, results)
    return results
