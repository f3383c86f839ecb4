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
    python benchmarks/itsc_ablation.py --stage scratch
    python benchmarks/itsc_ablation.py --stage ssl --variants raw_light
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ssl_ablation import finetune_once, mean_sd, val_accuracy

from ssl_waveform.benchmark import PRESETS
from ssl_waveform.benchmark.datasets import ITSC_SUBDIR, itsc_corpus, sim_corpus_like_itsc
from ssl_waveform.data import Corpus, CorpusWriter
from ssl_waveform.engine import read_log
from ssl_waveform.finetune import write_split_parts
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr

SPLIT = {"val_fraction": 0.2, "test_fraction": 0.2, "split_seed": 0}

# fine-tuning settings per variant (spelled out: the defaults may change after this table)
VARIANTS: dict[str, dict[str, Any]] = {
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


def itsc(out: Path, external: Path) -> Path:
    """The benchmark's ITSC corpus (window 1024, hop 512), ingested under ``out`` once."""
    root = itsc_corpus(out, external, PRESETS["cpu"])
    if root is None:
        raise SystemExit(f"error: no {ITSC_SUBDIR} under {external}")
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
    out: Path, data: Path, fields: dict[str, Any], epochs: int, source: str, method: str = "mae"
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
        positives = "source" if method == "simclr-source" else "views"
        cfg = SimCLRConfig(
            data=str(data), run_dir=str(run_dir), augment="light", positives=positives
        )
    cfg.encoder.name, cfg.encoder.representation = fields["encoder"], fields["representation"]
    cfg.encoder.normalization = fields.get("normalization", "shared_scale")
    cfg.encoder.standardize_input = bool(fields.get("standardize_input", False))
    cfg.engine = dataclasses.replace(
        cfg.engine, epochs=epochs, batch_size=32, warmup_epochs=0.1 * epochs
    )
    (pretrain_mae if method == "mae" else pretrain_simclr)(cfg)  # type: ignore[arg-type]
    return run_dir / "encoder"


def run(
    args: argparse.Namespace,
    data: Path,
    name: str,
    init: str,
    tag: str,
    budget: int,
    mode: str = "full",
) -> list[float]:
    fields = dict(VARIANTS[name], mode=mode)
    if mode != "full":
        tag = f"{tag}-{mode}"
    if init == "scratch":
        init = fields.pop("init", init)
    fields.pop("init", None)
    scores = []
    for seed in args.seeds:
        run_dir = args.out / "finetune" / f"{name}-{tag}-b{budget or 'all'}-e{args.epochs}-s{seed}"
        finetune_once(
            run_dir,
            epochs=args.epochs,
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("runs/itsc_ablation"))
    ap.add_argument("--external-data", type=Path, default=Path("../shared/external_data"))
    ap.add_argument("--stage", choices=["scratch", "ssl"], default="scratch")
    ap.add_argument("--variants", nargs="*", default=None, choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs")
    ap.add_argument("--budgets", nargs="*", type=int, default=[1, 5, 0], help="0 = all labels")
    ap.add_argument(
        "--pretrain-epochs", type=int, default=100, help="epochs over the training recordings"
    )
    ap.add_argument("--sources", nargs="*", default=["real"], choices=["real", "sim", "mixed"])
    ap.add_argument("--sim-windows", type=int, default=2048)
    ap.add_argument(
        "--methods", nargs="*", default=["mae"], choices=["mae", "simclr", "simclr-source"]
    )
    ap.add_argument(
        "--modes",
        nargs="*",
        default=["full"],
        choices=["full", "probe", "two_phase"],
        help="fine-tuning modes of the pretrained encoders (scratch is always fine-tuned in full)",
    )
    args = ap.parse_args(argv)
    data = itsc(args.out, args.external_data)
    corpus = Corpus(data)
    print(
        f"# ITSC ablation ({args.stage}), {platform.machine()} {torch.get_num_threads()} threads; "
        f"{corpus.num_windows} windows, seeds {args.seeds}, {args.epochs} fine-tuning epochs; "
        f"validation accuracy (chance {1 / len(corpus.class_names or [1]):.3f})"
    )
    results: dict[str, Any] = {}
    if args.stage == "scratch":
        print("\n| variant | all labels (scratch, or ImageNet where named) |\n|---|---|")
        for name in args.variants or list(VARIANTS):
            s = run(args, data, name, "scratch", "scratch", 0)
            results[name] = s
            print(f"| {name} | {mean_sd(s)} |", flush=True)
    else:
        real = training_recordings(args.out, data)
        sources = {"real": real}
        if {"sim", "mixed"} & set(args.sources):
            sources["sim"] = sim_corpus_like_itsc(args.out, args.sim_windows, PRESETS["cpu"])
            sources["mixed"] = mixed(args.out, real, sources["sim"])
        for src in args.sources:
            print(f"pretraining corpus {src}: {Corpus(sources[src]).num_windows} windows")
        print(
            "\n| variant | pretraining | labels/class | fine-tuning | scratch | SSL | SSL - scratch |"
            "\n|---|---|---|---|---|---|---|"
        )
        for name in args.variants or ["raw_light"]:
            for src in args.sources:
                # same number of optimizer steps whatever the corpus size
                epochs = max(
                    1,
                    round(
                        args.pretrain_epochs
                        * Corpus(real).num_windows
                        / Corpus(sources[src]).num_windows
                    ),
                )
                for method in args.methods:
                    encoder = pretrain(args.out, sources[src], VARIANTS[name], epochs, src, method)
                    log = read_log(encoder.parent)
                    wall = sum(r["wall_time_s"] for r in log)
                    print(f"<!-- {name} {method} {src}: {len(log)} epochs, {wall:.0f} s -->")
                    for budget in args.budgets:
                        sc = run(args, data, name, "scratch", "scratch", budget)
                        for mode in args.modes:
                            tag = f"{encoder.parent.name}"
                            ssl = run(args, data, name, str(encoder), tag, budget, mode)
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
    (args.out / f"results_{args.stage}.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
