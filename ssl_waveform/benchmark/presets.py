"""Benchmark presets: how large each part of the benchmark is.

``smoke`` checks the whole pipeline and the report format in CI (tiny everything); ``cpu`` is sized for hours on
2 CPU cores with tens of thousands of unlabeled windows; ``gpu`` is full size for one GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ssl_waveform.transforms import RepresentationName


@dataclass
class Axis:
    """One (encoder, representation) pair and the part of the grid it is run on.

    Attributes:
        encoder: backbone name.
        representation: representation name.
        budgets: labels per class run on this axis (0 = all labeled training windows).
        inits: initialisations run on this axis.
        modes: evaluation modes (``finetune``, ``probe``, ``knn``).
        mode_budgets: budgets of a mode when it runs on fewer than ``budgets``.
        pretrain_epochs: pretraining epochs of a method (``mae``, ``simclr``) on this axis when they differ
            from the preset's ``pretrain_epochs``.
    """

    encoder: str
    representation: str
    budgets: list[int]
    inits: list[str]
    modes: list[str]
    mode_budgets: dict[str, list[int]] = field(default_factory=dict)
    pretrain_epochs: dict[str, int] = field(default_factory=dict)

    def budgets_of(self, mode: str) -> list[int]:
        """Budgets run in ``mode`` on this axis."""
        return self.mode_budgets.get(mode, self.budgets)


@dataclass
class RealAxis:
    """The real-data axis: the ITSC motor currents (1 kHz, 13 classes), split by recording.

    Its settings were chosen on the validation recordings by ``ssl-waveform ablation itsc`` (docs/results.md,
    "Real data"): the classes differ by a few percent in harmonic levels and phase balance on top of a spectrum
    every window shares, so the log-spectrogram (``stft``) is standardised per channel and pixel with the
    training windows' statistics (``standardize_input``; validation accuracy with all labels 0.30 -> 0.6), and
    the augmentation scales every phase alike (``light``), keeping the phase balance.

    Attributes:
        encoder: backbone of the real-data cells.
        representation: its representation.
        inits: ``scratch``; a shipped encoder's name (``SHIPPED_AXES``: its own encoder and representation,
            adapted to the recordings' rate); ``mae-real`` (MAE on the ITSC recordings outside the test split, labels unused);
            ``mae-sim`` (MAE on simulated windows at the recordings' rate and length); ``imagenet``
            (``imagenet_encoder`` on ``imagenet_representation``: ImageNet weights need a 2-D input).
        budgets: labels per class (0 = all training windows).
        window: window length in samples (1.024 s at 1 kHz).
        hop: hop between windows.
        augment: fine-tuning augmentation policy.
        standardize_input: standardise the model input per channel and pixel (pretraining: with the pretraining
            corpus's statistics; fine-tuning: recomputed on the training split's windows).
        finetune_epochs: fine-tuning epochs (the labeled set is a few hundred windows).
        pretrain_epochs: MAE epochs over the real recordings; the simulated corpus gets as many steps.
        sim_windows: simulated windows for ``mae-sim``.
        imagenet_encoder: backbone of the ImageNet row.
        imagenet_representation: its 2-D representation.
    """

    encoder: str = "convnext_atto"
    representation: RepresentationName = "stft"
    inits: list[str] = field(
        default_factory=lambda: ["mae-real", "mae-sim", "imagenet", "scratch", *SHIPPED_AXES]
    )
    budgets: list[int] = field(default_factory=lambda: [1, 5, 0])
    window: int = 1024
    hop: int = 512
    augment: str = "light"
    standardize_input: bool = True
    finetune_epochs: int = 20
    pretrain_epochs: int = 50
    sim_windows: int = 2048
    imagenet_encoder: str = "efficientnet_lite0"
    imagenet_representation: RepresentationName = "stft"

    def axis(self, init: str) -> Axis:
        """The (encoder, representation) of an initialisation's cells (a shipped encoder keeps its own)."""
        if init in SHIPPED_AXES:
            encoder, representation = SHIPPED_AXES[init]
            return Axis(encoder, representation, self.budgets, [init], ["finetune"])
        if init == "imagenet":
            return Axis(
                self.imagenet_encoder,
                self.imagenet_representation,
                self.budgets,
                [init],
                ["finetune"],
            )
        return Axis(self.encoder, self.representation, self.budgets, [init], ["finetune"])


ALL_INITS = ["mae", "simclr", "imagenet", "scratch"]
# shipped encoders (ssl_waveform.zoo) and the (encoder, representation) they were pretrained as: they join the
# axes that match and the real-data axis (fine-tuned with adapt_sample_rate at the recordings' rate)
SHIPPED_AXES: dict[str, tuple[str, RepresentationName]] = {
    "convnext_atto_fold_simclr": ("convnext_atto", "fold"),
    "convnext_atto_fold_simclr_short": ("convnext_atto", "fold"),
}
SECONDARY_INITS = ["mae", "imagenet", "scratch"]
# EfficientNet-Lite0: the one CNN whose ImageNet weights ship in a package (extra ssl_waveform[imagenet]);
# MAE needs a ConvNeXt (see methods.mae), so its self-supervised row is SimCLR.
EFFICIENTNET_INITS = ["simclr", "imagenet", "scratch"]


@dataclass
class Preset:
    """Sizes and grid of one benchmark run (see the module docstring)."""

    name: str
    unlabeled_windows: int
    labeled_windows: int
    test_windows: int
    axes: list[Axis]
    seeds: list[int]
    pretrain_epochs: int
    pretrain_batch: int
    finetune_epochs: int
    finetune_batch: int
    image_size: int = 64
    snr_db: list[float] = field(default_factory=lambda: [40.0, 30.0, 20.0, 10.0])
    noise_budget: int = 10
    real: RealAxis = field(default_factory=RealAxis)
    windows_per_shard: int = 1024
    min_batches_per_epoch: int = 8


SHORT = {"mae": 3}  # secondary axes of the cpu preset: a short MAE run each


def _grid(encoder: str, rep: str, budgets: list[int], modes: list[str]) -> Axis:
    return Axis(encoder, rep, budgets, list(ALL_INITS), modes)


PresetName = Literal["smoke", "cpu", "gpu"]
"""The presets' names as a type, for the command line (tests check it matches :data:`PRESETS`)."""

PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke",
        unlabeled_windows=192,
        labeled_windows=22 * 8,
        test_windows=22 * 3,
        axes=[
            _grid("test_convnext", "stft", [1, 0], ["finetune", "probe", "knn"]),
            Axis("efficientnet_lite0", "fold", [1], EFFICIENTNET_INITS, ["finetune"]),
        ],
        seeds=[0],
        pretrain_epochs=1,
        pretrain_batch=32,
        finetune_epochs=1,
        finetune_batch=16,
        image_size=64,
        snr_db=[20.0, 10.0],
        noise_budget=1,
        real=RealAxis(
            encoder="test_convnext",
            inits=["mae-real", "scratch"],
            budgets=[1],
            finetune_epochs=1,
            pretrain_epochs=1,
            sim_windows=0,
        ),
        windows_per_shard=128,
        min_batches_per_epoch=2,
    ),
    # cpu: about one hour of pretraining on 2 cores, most of it MAE on the primary axis (atto/fold: 10 epochs over
    # 20k windows of the broad pretraining corpus, measured 27 min), SimCLR there for 3 epochs and the secondary
    # axes' MAE for 3 each (estimated from their step costs, about 30 min together; not yet run). The primary axis
    # carries every budget, mode and initialisation; the secondary axes (another representation, the 1-D encoder,
    # a larger encoder on the same representation) ask whether MAE vs scratch changes with them, at 5 labels per
    # class. The linear probe runs at 1 and 5 labels per class (k-NN covers frozen embeddings at every budget).
    # The last axis answers the ImageNet question with the CNN whose ImageNet weights ship in a package:
    # EfficientNet-Lite0 from ImageNet vs scratch vs SimCLR (3 epochs, measured 35 min), fine-tuned at 1, 5 and 10
    # labels per class. Whole preset: about 2 h of pretraining and 4 h of cells (about 1 min each), plus the
    # shipped encoders' cells (no pretraining; the primary axis's budgets and modes, and the real-data axis).
    "cpu": Preset(
        name="cpu",
        unlabeled_windows=20_000,
        labeled_windows=22 * 120,
        test_windows=22 * 40,
        axes=[
            Axis(
                "convnext_atto",
                "fold",
                [1, 5, 10, 0, 2, 50],
                [*ALL_INITS, *SHIPPED_AXES],
                ["finetune", "knn", "probe"],
                mode_budgets={"probe": [1, 5]},
                pretrain_epochs={"simclr": 3},
            ),
            Axis(
                "convnext_atto",
                "stft",
                [5],
                SECONDARY_INITS,
                ["finetune", "knn"],
                pretrain_epochs=SHORT,
            ),
            Axis(
                "convnext1d_atto",
                "raw",
                [5],
                SECONDARY_INITS,
                ["finetune", "knn"],
                pretrain_epochs=SHORT,
            ),
            Axis(
                "convnext_femto",
                "fold",
                [5],
                SECONDARY_INITS,
                ["finetune", "knn"],
                pretrain_epochs=SHORT,
            ),
            Axis(
                "efficientnet_lite0",
                "fold",
                [1, 5, 10],
                EFFICIENTNET_INITS,
                ["finetune"],
                pretrain_epochs={"simclr": 3},
            ),
        ],
        seeds=[0, 1, 2],
        pretrain_epochs=10,
        pretrain_batch=64,
        finetune_epochs=10,
        finetune_batch=32,
        min_batches_per_epoch=6,
        noise_budget=5,
    ),
    "gpu": Preset(
        name="gpu",
        unlabeled_windows=200_000,
        labeled_windows=22 * 400,
        test_windows=22 * 200,
        axes=[
            _grid("convnext_atto", "fold", [1, 2, 5, 10, 50, 200, 0], ["finetune", "probe", "knn"]),
            _grid("convnext_atto", "stft", [1, 5, 50, 0], ["finetune", "probe", "knn"]),
            _grid("convnext1d_atto", "raw", [1, 5, 50, 0], ["finetune", "probe", "knn"]),
            _grid("convnext_tiny", "stft", [1, 5, 50, 0], ["finetune", "probe", "knn"]),
        ],
        seeds=[0, 1, 2, 3, 4],
        pretrain_epochs=50,
        pretrain_batch=256,
        finetune_epochs=50,
        finetune_batch=64,
        image_size=128,
        noise_budget=10,
    ),
}
