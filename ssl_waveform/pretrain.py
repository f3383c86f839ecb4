"""Typed configs and entry functions for self-supervised pretraining (MAE and SimCLR).

``recipes/pretrain_mae.py`` and ``recipes/pretrain_simclr.py`` are thin scripts over :func:`pretrain_mae` and
:func:`pretrain_simclr`; the quickstart and the benchmark call the same functions. Every run folder ends with an
``encoder/`` folder (``model.safetensors`` + ``config.json``) that ``ssl_waveform.load_encoder`` and
``python -m ssl_waveform.finetune --init`` read directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed
from torch import nn

from ssl_waveform.data import Corpus, StreamingWindowDataset
from ssl_waveform.engine import EngineConfig, TrainResult, make_accelerator, train
from ssl_waveform.models.encoder import Encoder


@dataclass
class EncoderSpec:
    """Which encoder to pretrain.

    Attributes:
        name: backbone: a timm ConvNeXt (``convnext_atto`` ... ``convnextv2_*``) or ``convnext1d_*``.
        representation: ``stft``, ``cwt``, ``fold``, ``gaf`` (2-D) or ``raw`` (1-D).
        image_size: side of 2-D representations (multiple of 32).
        init: ``scratch``, ``imagenet`` or an encoder folder to continue from.
        imagenet_weights: local ImageNet checkpoint for ``init=imagenet``.
        normalization: ``shared_scale`` (default: one RMS scale per window, keeping DC offsets and phase ratios;
            for channels sharing a unit), ``per_sample`` (per-channel standardisation, for mixed units),
            ``per_sample_shared``, ``corpus`` (the manifest's per-channel statistics) or ``none``
            (docs/representations.md).
        drop_path: stochastic depth rate.
        standardize_input: standardise the model input per channel and pixel with statistics of (up to 4,096
            windows of) the pretraining corpus (``Encoder.standardize_inputs``); kept by fine-tuning unless it
            recomputes them.
    """

    name: str = "convnext_atto"
    representation: str = "fold"
    image_size: int = 64
    init: str = "scratch"
    imagenet_weights: str | None = None
    normalization: str = "shared_scale"
    drop_path: float = 0.0
    standardize_input: bool = False


def _mae_engine() -> EngineConfig:
    return EngineConfig(
        epochs=8,
        batch_size=64,
        base_lr=1.5e-3,
        min_lr=1e-5,
        weight_decay=0.05,
        betas=(0.9, 0.95),
        warmup_epochs=1.0,
        checkpoint_every=100,
    )


def _simclr_engine() -> EngineConfig:
    return EngineConfig(
        epochs=8,
        batch_size=64,
        base_lr=1e-3,
        min_lr=1e-5,
        weight_decay=0.05,
        betas=(0.9, 0.999),
        warmup_epochs=1.0,
        checkpoint_every=100,
    )


@dataclass
class MAEConfig:
    """FCMAE-style masked-autoencoder pretraining; defaults run in a few minutes on 2 CPU cores.

    Attributes:
        data: unlabeled (or labeled: labels are ignored) corpus folder; empty = the built-in simulated corpus.
        runs: runs root (built-in corpora are generated once under ``runs/data``).
        run_dir: this run's folder.
        builtin_windows: size of the built-in simulated unlabeled corpus.
        builtin_seed: its seed.
        encoder: the encoder to pretrain.
        mask_ratio: fraction of mask cells hidden.
        mask_cell: mask cell size in model-input samples per axis; 0 = the largest cell giving at least 64
            cells per sample (8 on 64x64 images, 32 on 2048-sample 1-D windows). The encoder's total stride
            (32) gives FCMAE's sparse emulation; finer cells are hidden SimMIM-style after the stem.
        masking: ``random`` (cells), ``time`` (whole time columns) or ``channel`` (whole channels).
        decoder_dim: decoder width.
        norm_pix_loss: normalise each target cell by its own mean/std.
        buffer_blocks: shuffle buffer of the streaming reader, in HDF5 blocks.
        engine: the shared engine's settings.
    """

    data: str = ""
    runs: str = "runs"
    run_dir: str = "runs/pretrain_mae"
    builtin_windows: int = 6000
    builtin_seed: int = 0
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    mask_ratio: float = 0.6
    mask_cell: int = 0
    masking: str = "random"
    decoder_dim: int = 256
    norm_pix_loss: bool = True
    buffer_blocks: int = 8
    engine: EngineConfig = field(default_factory=_mae_engine)


@dataclass
class SimCLRConfig:
    """SimCLR pretraining with lightly's projection head and NT-Xent (gathered across processes).

    Attributes:
        data, runs, run_dir, builtin_windows, builtin_seed, encoder, buffer_blocks, engine: as in
            :class:`MAEConfig`.
        augment: augmentation policy name (``default``, ``light``, ``none``; see docs/augmentations.md).
        hidden_dim: projection head hidden width (0 = the encoder's embedding size).
        output_dim: projection size.
        temperature: NT-Xent temperature.
    """

    data: str = ""
    runs: str = "runs"
    run_dir: str = "runs/pretrain_simclr"
    builtin_windows: int = 6000
    builtin_seed: int = 0
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    augment: str = "default"
    hidden_dim: int = 0
    output_dim: int = 128
    temperature: float = 0.1
    buffer_blocks: int = 8
    engine: EngineConfig = field(default_factory=_simclr_engine)


def corpus_root(data: str, runs: str, windows: int, seed: int) -> Path:
    """The corpus to pretrain on: ``data`` when given, else the built-in simulated unlabeled corpus."""
    if data:
        return Path(data)
    from ssl_waveform.builtin import builtin_unlabeled_corpus

    return builtin_unlabeled_corpus(runs, windows, seed)


def build_encoder(spec: EncoderSpec, corpus: Corpus) -> Encoder:
    """An encoder matching the corpus (channels, sample rate, window) as ``spec`` describes it."""
    from ssl_waveform.models import create_encoder, read_encoder_config
    from ssl_waveform.transforms import warn_if_mixed_units

    if spec.init not in ("scratch", "imagenet") and (Path(spec.init) / "config.json").is_file():
        source = read_encoder_config(spec.init)["normalization"]["mode"]
        if source != spec.normalization:
            raise ValueError(
                f"encoder.init={spec.init!r} was trained with normalization {source!r}, but "
                f"encoder.normalization={spec.normalization!r}: set encoder.normalization={source} to "
                "continue it (its weights expect those inputs)"
            )
    warn_if_mixed_units(spec.normalization, corpus.channel_names, corpus.units)
    norm: dict[str, Any] = {}
    if spec.normalization == "corpus":
        norm = {"norm_mean": corpus.stats["mean"], "norm_std": corpus.stats["std"]}
    encoder = create_encoder(
        spec.name,
        spec.representation,
        corpus.num_channels,
        init=spec.init,
        imagenet_weights=spec.imagenet_weights,
        sample_rate=corpus.sample_rate,
        window=corpus.window_length,
        image_size=spec.image_size if spec.representation != "raw" else None,
        channel_names=corpus.channel_names,
        normalization=spec.normalization,
        drop_path_rate=spec.drop_path,
        **norm,
    )
    if spec.standardize_input:
        idx = (
            np.linspace(0, corpus.num_windows - 1, min(corpus.num_windows, 4096))
            .round()
            .astype(int)
        )
        encoder.standardize_inputs(corpus.read(np.unique(idx)), replace=True)
    return encoder


def _encoder_export(method_name: str, cfg: Any):
    def export(method: Any, run_dir: Path, tag: str) -> None:
        if tag == "final":
            method.encoder.save(
                run_dir / "encoder",
                provenance={
                    "method": method_name,
                    "run_dir": str(run_dir),
                    "corpus": str(cfg.data),
                },
            )

    return export


def _run(method_name: str, cfg: Any, make_method, find_unused: bool) -> TrainResult:
    root = corpus_root(cfg.data, cfg.runs, cfg.builtin_windows, cfg.builtin_seed)
    if not cfg.data:
        cfg.data = str(root)
    accelerator = make_accelerator(cfg.engine, cfg.run_dir, find_unused_parameters=find_unused)
    corpus = Corpus(root)
    dataset = StreamingWindowDataset(
        root,
        batch_size=cfg.engine.batch_size,
        shuffle=True,
        seed=cfg.engine.seed,
        buffer_blocks=cfg.buffer_blocks,
        drop_last=True,
        rank=accelerator.process_index,
        world_size=accelerator.num_processes,
    )
    if len(dataset) == 0:
        raise ValueError(
            f"{root}: {corpus.num_windows} windows give no full batch of {cfg.engine.batch_size} per "
            f"process on {accelerator.num_processes} process(es); lower engine.batch_size or add data"
        )
    # the weights' initialisation too, not only the loop (same seed, same weights)
    set_seed(cfg.engine.seed)
    method = make_method(build_encoder(cfg.encoder, corpus))
    return train(
        method,
        dataset,
        cfg.engine,
        cfg.run_dir,
        config_to_save=cfg,
        export_fn=_encoder_export(method_name, cfg),
        accelerator=accelerator,
    )


def pretrain_mae(cfg: MAEConfig) -> TrainResult:
    """Masked-autoencoder pretraining; resumes from ``cfg.run_dir`` and exports ``run_dir/encoder``."""
    from ssl_waveform.methods import MaskedAutoencoder, make_mask

    def make(encoder: Encoder) -> nn.Module:
        mae = MaskedAutoencoder(
            encoder,
            mask_ratio=cfg.mask_ratio,
            masking=cfg.masking,
            decoder_dim=cfg.decoder_dim,
            norm_pix_loss=cfg.norm_pix_loss,
            mask_cell=cfg.mask_cell or None,
        )
        # fail on a grid too small to mask before the engine writes anything into the run folder
        probe = torch.zeros(1, encoder.in_chans, int(encoder.config["window"]))
        make_mask(mae.prepare_input(probe), mae.cell, cfg.mask_ratio, cfg.masking)
        return mae

    # the backbone's pooling-head norm takes no part in the masked reconstruction
    return _run("mae", cfg, make, find_unused=True)


def pretrain_simclr(cfg: SimCLRConfig) -> TrainResult:
    """SimCLR pretraining; resumes from ``cfg.run_dir`` and exports ``run_dir/encoder``."""
    from ssl_waveform.methods import SimCLR

    def make(encoder: Encoder) -> nn.Module:
        return SimCLR(
            encoder,
            augment=cfg.augment,
            hidden_dim=cfg.hidden_dim or None,
            output_dim=cfg.output_dim,
            temperature=cfg.temperature,
        )

    return _run("simclr", cfg, make, find_unused=False)
