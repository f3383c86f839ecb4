"""Why fine-tuned ConvNeXts sit near chance on the real ITSC recordings, and what fixes it; validation split only.

Corpus: the ITSC motor currents (../shared/external_data/ITSC/RAW_Signals_SF: 1 kHz, phases A/B/C, 13 classes, 5
recordings of 5 s each) ingested as the benchmark does (1024-sample windows, hop 512, ``source`` = recording).
Split as the benchmark's real-data cells: by recording, 20 % validation and 20 % test per class (split seed 0),
i.e. 3 training, 1 validation and 1 test recording per class. Every score below is the accuracy on the
*validation* recordings at the last epoch of a fixed schedule; the test recordings are never read here, not even
unlabeled for pretraining, so these tables may choose the benchmark's real-data settings.

Stage ``scratch``: encoder/representation x normalisation x augmentation x epochs, from scratch with every training
label. Stage ``ssl``: MAE or SimCLR (``--methods``; ``simclr-source``: positives are two windows of one recording)
pretrained on the *training* recordings with their labels unused (``real``), on simulated
1 kHz windows (``sim``), or on both (``mixed``), against scratch, at 1, 5 and all labels per class. Run folders resume.

Usage:
    ssl-waveform ablation itsc --stage scratch
    ssl-waveform ablation itsc --stage ssl --variants raw_light
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.benchmark import PRESETS
from ssl_waveform.benchmark.ablations.common import AblationError, finetune_once, val_accuracy
from ssl_waveform.benchmark.datasets import ITSC_SUBDIR, itsc_corpus, sim_corpus_like_itsc
from ssl_waveform.data import Corpus, CorpusWriter
from ssl_waveform.engine import read_log
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.finetune import write_split_parts
from ssl_waveform.finetune.run import Mode
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr
from ssl_waveform.pretrain.config import Positives

SPLIT: dict[str, Any] = {"val_fraction": 0.2, "test_fraction": 0.2, "split_seed": 0}

Stage = Literal["scratch", "ssl"]
Source = Literal["real", "sim", "mixed"]
Method = Literal["mae", "simclr", "simclr-source"]
VariantName = Literal[
    "fold_speed",
    "fold_light",
    "stft_light",
    "raw_speed",
    "raw_none",
    "raw_light",
    "imagenet_fold_light",
    "imagenet_stft_light",
    "stft_light_standardized",
    "fold_light_standardized",
    "raw_light_per_sample",
]

# fine-tuning settings per variant (spelled out: the defaults may change after this table)
VARIANTS: dict[VariantName, dict[str, Any]] = {
    "fold_speed": {"encoder": "convnext_atto", "representation": "fold", "augment": "speed"},
    "fold_light": {"encoder": "convnext_atto", "representation": "fold", "augment": "light"},
    "stft_light": {"encoder": "convnext_atto", "representation": "stft", "augment": "light"},
    "raw_speed": {"encoder": "convnext1d_atto", "representation": "raw", "augment": "speed"},
    "raw_none": {"encoder": "convnext1d_atto", "representation": "raw", "augment": "none"},
    "raw_light": {"encoder": "convnext1d_atto", "representation": "raw", "augment": "light"},
    "imagenet_fold_light": {
        "encoder": "efficientnet_lite0",
        "representation": "fold",
        "augment": "light",
        "init": "imagenet",
    },
    "imagenet_stft_light": {
        "encoder": "efficientnet_lite0",
        "representation": "stft",
        "augment": "light",
        "init": "imagenet",
    },
    "stft_light_standardized": {
        "encoder": "convnext_atto",
        "representation": "stft",
        "augment": "light",
        "standardize_input": True,
    },
    "fold_light_standardized": {
        "encoder": "convnext_atto",
        "representation": "fold",
        "augment": "light",
        "standardize_input": True,
    },
    "raw_light_per_sample": {
        "encoder": "convnext1d_atto",
        "representation": "raw",
        "augment": "light",
        "normalization": "per_sample",
    },
}


@dataclass
class ItscAblationConfig:
    """Settings of ``ssl-waveform ablation itsc``.

    Attributes:
        out: output folder (corpora, run folders, ``results_STAGE.json``); reruns resume.
        external_data: folder holding ``ITSC/RAW_Signals_SF``.
        stage: ``scratch`` (fine-tuning settings, all labels) or ``ssl`` (pretrained vs scratch by label budget).
        variants: fine-tuning variants (default: all for ``scratch``, ``raw_light`` for ``ssl``).
        seeds: fine-tuning seeds.
        epochs: fine-tuning epochs.
        budgets: labels per class of the ``ssl`` stage; 0 = all labels.
        pretrain_epochs: epochs over the training recordings (a larger corpus gets as many optimizer steps).
        sources: pretraining corpora of the ``ssl`` stage: ``real`` (the training recordings), ``sim``
            (simulated 1 kHz windows) or ``mixed`` (both).
        sim_windows: size of the simulated pretraining corpus.
        methods: pretraining methods of the ``ssl`` stage.
        modes: fine-tuning modes of the pretrained encoders (scratch is always fine-tuned in full).
    """

    out: Path = Path("runs/itsc_ablation")
    external_data: Path = Path("../shared/external_data")
    stage: Stage = "scratch"
    variants: tuple[VariantName, ...] | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30
    budgets: tuple[int, ...] = (1, 5, 0)
    pretrain_epochs: int = 100
    sources: tuple[Source, ...] = ("real",)
    sim_windows: int = 2048
    methods: tuple[Method, ...] = ("mae",)
    modes: tuple[Mode, ...] = ("full",)


def itsc(out: Path, external: Path) -> Path:
    """The benchmark's ITSC corpus (window 1024, hop 512), ingested under ``out`` once.

    Raises:
        AblationError: the recordings are not under ``external``.
    """
    root = itsc_corpus(out, external, PRESETS["cpu"])
    if root is None:
        raise AblationError(
            f"no {ITSC_SUBDIR} under {external}; give the folder that holds it with --external-data"
        )
    return root


def training_recordings(out: Path, data: Path) -> Path:
    """The training recordings' windows, unlabeled (validation and test recordings left out)."""
    root = out / "data" / "itsc_train_unlabeled"
    if not (root / "manifest.json").is_file():
        split = {"val_fraction": SPLIT["val_fraction"], "test_fraction": SPLIT["test_fraction"]}
        write_split_parts(
            Corpus(data), root, ["train"], labeled=False, seed=SPLIT["split_seed"], **split
        )
    return root


def mixed(out: Path, real: Path, sim: Path) -> Path:
    """The training recordings and the simulated windows in one unlabeled corpus (waveforms only)."""
    root = out / "data" / f"mixed_{sim.name}"
    if not (root / "manifest.json").is_file():
        parts = [Corpus(real), Corpus(sim)]
        writer = CorpusWriter(
            root, sample_rate=1000.0, channel_names=parts[0].channel_names, units=parts[0].units
        )
        for i, c in enumerate(parts):
            writer.write_shard(i, c.read(np.arange(c.num_windows)))
        writer.finalize()
    return root


def pretrain(
    out: Path, data: Path, fields: dict[str, Any], epochs: int, source: str, method: Method = "mae"
) -> Path:
    """MAE, SimCLR (``light`` views: all phases scaled alike) or SimCLR with same-recording positives
    (``simclr-source``: two windows of one training recording, CLOCS-style; the recording is metadata, not a
    label) on ``data``, input standardised when the variant standardises it (statistics of ``data``); returns
    the encoder folder."""
    std = "-std" if fields.get("standardize_input") else ""
    name = f"{method}-{source}-{fields['encoder']}-{fields['representation']}{std}-e{epochs}"
    run_dir = out / "pretrain" / name
    cfg: MAEConfig | SimCLRConfig
    if method == "mae":
        cfg = MAEConfig(data=str(data), run_dir=str(run_dir))
    else:
        positives: Positives = "source" if method == "simclr-source" else "views"
        cfg = SimCLRConfig(
            data=str(data), run_dir=str(run_dir), augment="light", positives=positives
        )
    cfg.encoder = dataclasses.replace(
        cfg.encoder,
        name=fields["encoder"],
        representation=fields["representation"],
        normalization=fields.get("normalization", "shared_scale"),
        standardize_input=bool(fields.get("standardize_input", False)),
    )
    cfg.engine = dataclasses.replace(
        cfg.engine, epochs=epochs, batch_size=32, warmup_epochs=0.1 * epochs
    )
    if isinstance(cfg, MAEConfig):
        pretrain_mae(cfg)
    else:
        pretrain_simclr(cfg)
    return run_dir / "encoder"


def finetune_variant(
    cfg: ItscAblationConfig,
    data: Path,
    name: VariantName,
    init: str,
    tag: str,
    budget: int,
    mode: Mode = "full",
) -> list[float]:
    """Validation accuracy of variant ``name`` fine-tuned from ``init`` with ``budget`` labels per class (0 =
    all), one per seed; ImageNet variants start from ImageNet where ``init`` is ``scratch``."""
    fields = dict(VARIANTS[name], mode=mode)
    if mode != "full":
        tag = f"{tag}-{mode}"
    if init == "scratch":
        init = fields.pop("init", init)
    fields.pop("init", None)
    scores = []
    for seed in cfg.seeds:
        run_dir = cfg.out / "finetune" / f"{name}-{tag}-b{budget or 'all'}-e{cfg.epochs}-s{seed}"
        finetune_once(
            run_dir,
            epochs=cfg.epochs,
            seed=seed,
            data=str(data),
            init=init,
            labels_per_class=budget or None,
            min_batches_per_epoch=6,
            **SPLIT,
            **fields,
        )
        scores.append(val_accuracy(run_dir))
    return scores


def scratch_stage(cfg: ItscAblationConfig, data: Path) -> dict[str, Any]:
    """Every variant from scratch (or ImageNet, where named) with all labels."""
    results: dict[str, Any] = {}
    print("\n| variant | all labels (scratch, or ImageNet where named) |\n|---|---|")
    for name in cfg.variants or list(VARIANTS):
        s = finetune_variant(cfg, data, name, "scratch", "scratch", 0)
        results[name] = s
        print(f"| {name} | {mean_sd(s)} |", flush=True)
    return results


def pretraining_corpora(cfg: ItscAblationConfig, data: Path) -> dict[str, Path]:
    """The unlabeled pretraining corpora by source (the simulated ones only when asked for)."""
    real = training_recordings(cfg.out, data)
    sources = {"real": real}
    if {"sim", "mixed"} & set(cfg.sources):
        sources["sim"] = sim_corpus_like_itsc(cfg.out, cfg.sim_windows, PRESETS["cpu"])
        sources["mixed"] = mixed(cfg.out, real, sources["sim"])
    for src in cfg.sources:
        print(f"pretraining corpus {src}: {Corpus(sources[src]).num_windows} windows")
    return sources


def ssl_stage(cfg: ItscAblationConfig, data: Path) -> dict[str, Any]:
    """Pretrained (every variant x source x method) vs scratch, by label budget and fine-tuning mode."""
    results: dict[str, Any] = {}
    sources = pretraining_corpora(cfg, data)
    real_windows = Corpus(sources["real"]).num_windows
    print(
        "\n| variant | pretraining | labels/class | fine-tuning | scratch | SSL | SSL - scratch |"
        "\n|---|---|---|---|---|---|---|"
    )
    for name in cfg.variants or ("raw_light",):
        for src in cfg.sources:
            # same number of optimizer steps whatever the corpus size
            windows = Corpus(sources[src]).num_windows
            epochs = max(1, round(cfg.pretrain_epochs * real_windows / windows))
            for method in cfg.methods:
                encoder = pretrain(cfg.out, sources[src], VARIANTS[name], epochs, src, method)
                log = read_log(encoder.parent)
                wall = sum(r["wall_time_s"] for r in log)
                print(f"<!-- {name} {method} {src}: {len(log)} epochs, {wall:.0f} s -->")
                for budget in cfg.budgets:
                    sc = finetune_variant(cfg, data, name, "scratch", "scratch", budget)
                    for mode in cfg.modes:
                        tag = f"{encoder.parent.name}"
                        ssl = finetune_variant(cfg, data, name, str(encoder), tag, budget, mode)
                        gain = float(np.mean(ssl) - np.mean(sc))
                        results[f"{name}-{method}-{src}-b{budget}-{mode}"] = {
                            "scratch": sc,
                            method: ssl,
                        }
                        print(
                            f"| {name} | {method} {src} e{epochs} | {budget or 'all'} | {mode} "
                            f"| {mean_sd(sc)} | {mean_sd(ssl)} | {gain:+.3f} |",
                            flush=True,
                        )
    return results


def run(cfg: ItscAblationConfig) -> dict[str, Any]:
    """Run ``cfg.stage``; prints its table, writes ``out/results_STAGE.json`` and returns its contents.

    Raises:
        AblationError: the ITSC recordings are not under ``cfg.external_data``.
    """
    data = itsc(cfg.out, cfg.external_data)
    corpus = Corpus(data)
    print(
        f"# ITSC ablation ({cfg.stage}), {platform.machine()} {torch.get_num_threads()} threads; "
        f"{corpus.num_windows} windows, seeds {list(cfg.seeds)}, {cfg.epochs} fine-tuning epochs; "
        f"validation accuracy (chance {1 / len(corpus.class_names or [1]):.3f})"
    )
    results = scratch_stage(cfg, data) if cfg.stage == "scratch" else ssl_stage(cfg, data)
    atomic_write_json(cfg.out / f"results_{cfg.stage}.json", results, indent=1)
    return results
