"""Pretraining entry functions: build the encoder for a corpus, compose the method, hand it to the engine.

:func:`pretrain_mae` and :func:`pretrain_simclr` resume from the run folder and end with ``run_dir/encoder``
(``model.safetensors`` + ``config.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed
from torch import nn

from ssl_waveform.data import Corpus, SourcePairDataset, StreamingWindowDataset
from ssl_waveform.engine import TrainResult, make_accelerator, train
from ssl_waveform.models.encoder import Encoder
from ssl_waveform.pretrain.config import EncoderSpec, MAEConfig, PretrainRun, SimCLRConfig


def corpus_root(data: str, runs: str, windows: int, seed: int) -> Path:
    """The corpus to pretrain on: ``data`` when given, else the built-in simulated unlabeled corpus."""
    if data:
        return Path(data)
    from ssl_waveform.sim import builtin_unlabeled_corpus

    return builtin_unlabeled_corpus(runs, windows, seed)


def build_encoder(spec: EncoderSpec, corpus: Corpus) -> Encoder:
    """An encoder matching the corpus (channels, sample rate, window) as ``spec`` describes it."""
    from ssl_waveform.models import create_encoder_for_corpus, read_encoder_config

    init = spec.init
    folder = (
        init.weights_path() if init.pretrained else None
    )  # a shipped name continues from its weights
    if folder is not None and (folder / "config.json").is_file():
        source = read_encoder_config(folder).normalization["mode"]
        if source != spec.normalization:
            raise ValueError(
                f"encoder.init={spec.init!r} was trained with normalization {source!r}, but "
                f"encoder.normalization={spec.normalization!r}: set encoder.normalization={source} to "
                "continue it (its weights expect those inputs)"
            )
    encoder = create_encoder_for_corpus(
        corpus,
        spec.name,
        spec.representation,
        init=init,
        imagenet_weights=spec.imagenet_weights,
        image_size=spec.image_size,
        normalization=spec.normalization,
        drop_path_rate=spec.drop_path,
    )
    if spec.standardize_input:
        idx = (
            np.linspace(0, corpus.num_windows - 1, min(corpus.num_windows, 4096))
            .round()
            .astype(int)
        )
        encoder.standardize_inputs(corpus.read(np.unique(idx)), replace=True)
    return encoder


def _encoder_export(method_name: str, cfg: PretrainRun):
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


def _run(method_name: str, cfg: PretrainRun, make_method, find_unused: bool) -> TrainResult:
    root = corpus_root(cfg.data, cfg.runs, cfg.builtin_windows, cfg.builtin_seed)
    if not cfg.data:
        cfg.data = str(root)
    accelerator = make_accelerator(cfg.engine, cfg.run_dir, find_unused_parameters=find_unused)
    corpus = Corpus(root)
    dataset: SourcePairDataset | StreamingWindowDataset
    if isinstance(cfg, SimCLRConfig) and cfg.positives == "source":
        dataset = SourcePairDataset(
            corpus,
            batch_size=cfg.engine.batch_size,
            field=cfg.positive_field,
            seed=cfg.engine.seed,
            rank=accelerator.process_index,
            world_size=accelerator.num_processes,
        )
    else:
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
            augment=cfg.augment,
        )
        # fail on a grid too small to mask before the engine writes anything into the run folder
        probe = torch.zeros(1, encoder.in_chans, int(encoder.config.window))
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
