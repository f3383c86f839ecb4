"""Typed configs of self-supervised pretraining: which encoder (:class:`EncoderSpec`), MAE and SimCLR runs.

Defaults are a sensible run on 2 CPU cores; recipes' YAML files and flags hold only changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ssl_waveform.augment import PolicyName
from ssl_waveform.engine import EngineConfig
from ssl_waveform.identity import SCRATCH, Init, InitArg
from ssl_waveform.methods.masking import MaskingName
from ssl_waveform.transforms import Normalization, RepresentationName

# what makes a SimCLR positive pair: two views of one window, or two windows of one recording
Positives = Literal["views", "source"]


@dataclass
class EncoderSpec:
    """Which encoder to pretrain.

    Attributes:
        name: backbone: a timm ConvNeXt (``convnext_atto`` ... ``convnextv2_*``) or ``convnext1d_*``.
        representation: ``stft``, ``cwt``, ``fold``, ``gaf`` (2-D) or ``raw`` (1-D).
        image_size: side of 2-D representations (multiple of 32).
        init: ``scratch``, ``imagenet``, an encoder folder or a shipped encoder's name to continue from.
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
    representation: RepresentationName = "fold"
    image_size: int = 64
    init: InitArg = SCRATCH
    imagenet_weights: str | None = None
    normalization: Normalization = "shared_scale"
    drop_path: float = 0.0
    standardize_input: bool = False

    def __post_init__(self) -> None:
        self.init = Init.parse(
            self.init
        )  # the one parse point of a text init (Python callers may give one)


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
class PretrainRun:
    """What every pretraining run has: its data, folders, encoder, reader and engine.

    Attributes:
        data: unlabeled (or labeled: labels are ignored) corpus folder; empty = the built-in simulated corpus.
        runs: runs root (built-in corpora are generated once under ``runs/data``).
        run_dir: this run's folder.
        builtin_windows: size of the built-in simulated unlabeled corpus.
        builtin_seed: its seed.
        encoder: the encoder to pretrain.
        buffer_blocks: shuffle buffer of the streaming reader, in HDF5 blocks.
        engine: the shared engine's settings.
    """

    data: str = ""
    runs: str = "runs"
    run_dir: str = "runs/pretrain"
    builtin_windows: int = 6000
    builtin_seed: int = 0
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    buffer_blocks: int = 8
    engine: EngineConfig = field(default_factory=EngineConfig)


@dataclass
class MAEConfig(PretrainRun):
    """FCMAE-style masked-autoencoder pretraining; defaults run in a few minutes on 2 CPU cores.

    Attributes:
        mask_ratio: fraction of mask cells hidden.
        mask_cell: mask cell size in model-input samples per axis; 0 = the largest cell giving at least 64
            cells per sample (8 on 64x64 images, 32 on 2048-sample 1-D windows). The encoder's total stride
            (32) gives FCMAE's sparse emulation; finer cells are hidden SimMIM-style after the stem.
        masking: ``random`` (cells), ``time`` (whole time columns) or ``channel`` (whole channels).
        decoder_dim: decoder width.
        norm_pix_loss: normalise each target cell by its own mean/std.
        augment: waveform augmentation of what the MAE reconstructs from (input and target share the view):
            ``none`` (default) or a policy name such as ``invariant`` (docs/augmentations.md).
    """

    run_dir: str = "runs/pretrain_mae"
    engine: EngineConfig = field(default_factory=_mae_engine)
    mask_ratio: float = 0.6
    mask_cell: int = 0
    masking: MaskingName = "random"
    decoder_dim: int = 256
    norm_pix_loss: bool = True
    augment: PolicyName = "none"


@dataclass
class SimCLRConfig(PretrainRun):
    """SimCLR pretraining with lightly's projection head and NT-Xent (gathered across processes).

    Attributes:
        augment: augmentation policy name (``default``, ``invariant``, ``light``, ``speed``, ``none``;
            docs/augmentations.md).
        hidden_dim: projection head hidden width (0 = the encoder's embedding size).
        output_dim: projection size.
        temperature: NT-Xent temperature.
        positives: ``views`` (two augmentations of one window, SimCLR) or ``source`` (two windows of the same
            recording, each augmented once; CLOCS-style, ``data.SourcePairDataset``): needs per-window
            metadata ``positive_field`` naming the recording, as ingested corpora have.
        positive_field: the metadata field naming the recording for ``positives=source``.
    """

    run_dir: str = "runs/pretrain_simclr"
    engine: EngineConfig = field(default_factory=_simclr_engine)
    augment: PolicyName = "default"
    hidden_dim: int = 0
    output_dim: int = 128
    temperature: float = 0.1
    positives: Positives = "views"
    positive_field: str = "source"
