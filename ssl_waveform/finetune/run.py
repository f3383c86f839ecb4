"""The fine-tuning run: config, data preparation, training on the engine, evaluation and outputs."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from accelerate.utils import set_seed
from torch.utils.data import Dataset

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.augment import AugmentationPolicy, PolicyName, create_policy
from ssl_waveform.data import Corpus
from ssl_waveform.engine import EngineConfig, param_groups, read_log, train
from ssl_waveform.evaluation import (
    classification_metrics,
    plot_confusion_matrix,
    plot_training_curves,
)
from ssl_waveform.finetune.layer_decay import layer_decay_fn
from ssl_waveform.finetune.splits import Splits, labeled_subset, split_corpus
from ssl_waveform.identity import AUTO, SCRATCH, Init, InitArg
from ssl_waveform.methods.classify import Classifier, load_classifier
from ssl_waveform.models.encoder import Encoder
from ssl_waveform.serialize import ConfigError, to_dict
from ssl_waveform.transforms import RepresentationName

Mode = Literal["full", "probe", "two_phase"]
Selection = Literal["best", "last"]
# an encoder created here has no corpus statistics, so every normalisation but "corpus"
FinetuneNormalization = Literal["none", "per_sample", "per_sample_shared", "shared_scale"]


def _default_engine() -> EngineConfig:
    return EngineConfig(
        epochs=25,
        batch_size=32,
        base_lr=4e-3,
        min_lr=1e-5,
        weight_decay=0.05,
        betas=(0.9, 0.999),
        warmup_epochs=2.0,
        clip_grad=5.0,
        checkpoint_every=1000,
        keep_checkpoints=1,
        log_every=5,
        monitor="val_macro_f1",
        monitor_mode="max",
        patience=8,
    )


@dataclass
class FinetuneConfig:
    """Everything a fine-tuning run needs; defaults fine-tune on a built-in simulated set in minutes on 2 cores.

    Attributes:
        data: labeled corpus folder; empty = the built-in simulated labeled set (generated once under ``runs``).
        runs: root of the runs folder (built-in corpora, ``auto`` init search).
        run_dir: this run's folder (config, log, checkpoints, metrics, classifier).
        init: ``auto`` (the newest pretrained encoder under ``runs``, else scratch), ``scratch``, ``imagenet``,
            the name of a shipped encoder (``python -m ssl_waveform.zoo`` lists them), or a path: an encoder
            folder from pretraining (or its ``model.safetensors``). A timm ImageNet
            checkpoint (.pth/.bin/.safetensors) goes through ``init=imagenet`` with ``imagenet_weights=FILE``.
        imagenet_weights: local ImageNet checkpoint for ``init=imagenet`` (offline use).
        encoder: backbone name when the encoder is not loaded from a folder.
        representation: representation name when the encoder is not loaded from a folder.
        image_size: side of 2-D representations (multiple of 32).
        normalization: waveform normalisation of an encoder created here (``scratch``/``imagenet``; a loaded
            encoder keeps its own): ``shared_scale`` (default; channels sharing a unit), ``per_sample`` (mixed
            units), ``per_sample_shared``, ``none`` (see docs/representations.md).
        standardize_input: standardise the model input per channel and pixel with statistics of the training
            split's windows, labels unused (``Encoder.standardize_inputs``), replacing any the encoder had (a
            pretraining corpus's, ImageNet's); for classes that differ by small deviations from a shape every
            window shares (real ITSC recordings, docs/results.md). Off: a loaded encoder keeps its own.
        labels_per_class: draw exactly this many training windows per class (seeded); None = all.
        label_fraction: or this fraction of each class's training windows.
        val_fraction: fraction of each class (of its recordings, when grouped) for validation.
        test_fraction: fraction of each class for the test set.
        split_seed: seed of the train/val/test split (keep it fixed to compare initialisations).
        subset_seed: seed of the labeled subset drawn from the training split.
        split_by: ``auto`` (the corpus's ``source`` metadata when present), ``none``, or a metadata field name.
        mode: ``full`` fine-tuning, ``probe`` (frozen encoder, linear head) or ``two_phase`` (probe, then full).
        select: which weights become the classifier: ``best`` (the epoch with the best validation macro-F1, with
            early stopping) or ``last`` (a fixed schedule; validation metrics are only logged). ``last`` keeps a
            few-label comparison honest: selecting on a labeled validation split uses more labels than the budget.
        probe_epochs: epochs of the probe phase in ``two_phase`` mode.
        probe_base_lr: base lr (per 256 samples) of the probe / probe phase.
        layer_decay: layer-wise lr decay factor over ConvNeXt stages/blocks (1 = off, the default: measured on
            the operating-point-shift ablation, docs/results.md, 0.75 cost a pretrained encoder 3 points under the
            shift and a scratch one 5 points in range, where slowing its random early layers only hurts).
        window_seconds: the classifier's window in seconds (the shortest recording it accepts and the
            stretch it classifies); None = the corpus's window. Training reads a random stretch of this
            length from each labeled window, evaluation the last one.
        window_periods: or the window in periods of ``fundamental`` (e.g. 2 for a fast fault detector).
        fundamental: nominal fundamental frequency (Hz) that ``window_periods`` counts.
        augment: waveform augmentation policy applied to the labeled training windows (``speed``, the default,
            ``none``, ``light``, ``default``; see docs/augmentations.md). ``speed`` speeds windows up by up to
            1.67x (fundamental and switching frequency together) and adds sensor gain/offset error and mild
            noise: labels usually come from a narrower operating range than the drive runs in (it lifted a
            pretrained encoder by 10 points under the shift ablation's faster, slower-load windows).
        label_smoothing: cross-entropy label smoothing.
        drop_path: stochastic depth rate of the last block.
        head_init_scale: scale of the head's initial weights.
        adapt_sample_rate: when a loaded encoder was pretrained at another sampling rate than the corpus, treat
            the corpus's windows as if at the encoder's rate (transfer across rates, e.g. simulated 20 kHz ->
            real 1 kHz data) instead of stopping with an error.
        min_batches_per_epoch: small labeled sets are repeated so an epoch has at least this many batches (so
            warmup, validation and early stopping act on a sensible number of steps).
        builtin_windows: size of the built-in simulated labeled set.
        builtin_seed: its seed.
        engine: the shared engine's settings (epochs, batch, lr, warmup, early stopping, ...).
    """

    data: str = ""
    runs: str = "runs"
    run_dir: str = "runs/finetune"
    init: InitArg = AUTO
    imagenet_weights: str | None = None
    encoder: str = "convnext_atto"
    representation: RepresentationName = "fold"
    image_size: int = 64
    normalization: FinetuneNormalization = "shared_scale"
    standardize_input: bool = False
    labels_per_class: int | None = None
    label_fraction: float | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    split_seed: int = 0
    subset_seed: int = 0
    split_by: str = "auto"
    mode: Mode = "full"
    select: Selection = "best"
    probe_epochs: int = 5
    probe_base_lr: float = 0.05
    layer_decay: float = 1.0
    augment: PolicyName = "speed"
    window_seconds: float | None = None
    window_periods: float | None = None
    fundamental: float = 50.0
    label_smoothing: float = 0.1
    drop_path: float = 0.1
    head_init_scale: float = 1e-3
    min_batches_per_epoch: int = 8
    adapt_sample_rate: bool = False
    builtin_windows: int = 2640
    builtin_seed: int = 1
    engine: EngineConfig = field(default_factory=_default_engine)

    def __post_init__(self) -> None:
        # the one parse point of a text init (Python callers may give one)
        self.init = Init.parse(self.init)
        if self.window_seconds is not None and self.window_periods is not None:
            raise ConfigError("set window_seconds or window_periods, not both")
        if (self.window_seconds is not None and self.window_seconds <= 0) or (
            self.window_periods is not None and self.window_periods <= 0
        ):
            raise ConfigError(
                f"the window must be positive, got window_seconds={self.window_seconds}, "
                f"window_periods={self.window_periods}"
            )
        if self.fundamental <= 0:
            raise ConfigError(
                f"fundamental must be a positive frequency in Hz, got {self.fundamental}"
            )
        if self.labels_per_class is not None and self.label_fraction is not None:
            raise ConfigError("set labels_per_class or label_fraction, not both")


@dataclass
class FinetuneResult:
    """What :func:`finetune` returns: test metrics and where things were written."""

    run_dir: Path
    metrics: dict[str, Any]
    classifier_dir: Path


class _InMemory(Dataset):
    """Windows held in memory as ``{"x": [C, T], "y": int}`` samples, optionally repeated ``repeats`` times.

    ``crop`` reads a random stretch of that many samples from each window and ``augment`` (a waveform
    augmentation policy) draws a random view, both anew every epoch. Their randomness comes from a generator
    seeded by ``(seed, epoch, item)``, not from the global RNG, so it does not depend on when a batch is fetched:
    a run resumed mid-epoch sees exactly the views the uninterrupted run saw.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        repeats: int = 1,
        augment: AugmentationPolicy | None = None,
        crop: int | None = None,
        seed: int = 0,
    ) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.repeats = repeats
        self.augment = augment if augment is not None and len(augment.augmentations) else None
        self.crop = crop
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.y) * self.repeats

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = i % len(self.y)
        x = self.x[j]
        if self.augment is None and (self.crop is None or self.crop >= x.shape[-1]):
            return {"x": x, "y": self.y[j]}
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 10_000_019 + i)
        if (
            self.crop is not None and self.crop < x.shape[-1]
        ):  # a stretch of the classifier's length
            start = int(torch.randint(0, x.shape[-1] - self.crop + 1, (), generator=g))
            x = x[..., start : start + self.crop]
        if self.augment is not None:
            x = self.augment(x.unsqueeze(0), g)[0]
        return {"x": x, "y": self.y[j]}


def newest_pretrained_encoder(runs: str | Path) -> Path | None:
    """The most recently written encoder folder (``*/encoder/config.json``) under ``runs``, or None."""
    candidates = [p.parent for p in Path(runs).glob("**/encoder/config.json")]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p / "config.json").stat().st_mtime)


def resolve_init(cfg: FinetuneConfig) -> Init:
    """``init=auto`` made concrete: the newest pretrained encoder folder under ``runs``, else scratch."""
    if cfg.init.kind != "auto":
        return cfg.init
    found = newest_pretrained_encoder(cfg.runs)
    return Init("folder", str(found)) if found is not None else SCRATCH


def _standardize_input(
    cfg: FinetuneConfig, encoder: Encoder, corpus: Corpus, train: np.ndarray, window: int
) -> None:
    """``standardize_input``: (re)compute the input statistics on the training split's windows ``train``
    (labels unused), read only when the setting is on."""
    if cfg.standardize_input:
        windows = last_stretch(corpus.read(train), window)
        encoder.standardize_inputs(windows, replace=True)


def build_encoder_for_finetune(cfg: FinetuneConfig, corpus: Corpus, init: Init | str) -> Encoder:
    """The encoder to fine-tune: loaded from an encoder folder (keeping its representation), or created.

    Raises:
        ValueError: the encoder's sample rate or channel count does not match the corpus.
    """
    from ssl_waveform.models import (
        create_encoder_for_corpus,
        encoder_from_config,
        read_encoder_config,
    )

    init = Init.parse(init)
    folder = init.weights_path() if init.pretrained else None
    if folder is not None and folder.is_dir() and (folder / "config.json").is_file():
        config = read_encoder_config(folder)
        config.architecture.drop_path_rate = float(cfg.drop_path)
        if cfg.adapt_sample_rate and float(config.sample_rate) != corpus.sample_rate:
            print(
                f"note: encoder pretrained at {config.sample_rate:g} Hz, corpus at "
                f"{corpus.sample_rate:g} Hz: adapting the encoder to the corpus rate (adapt_sample_rate)"
            )
            config.sample_rate = corpus.sample_rate
            config.window = corpus.window_length
        # before building: the encoder keeps a copy of config
        config.provenance["init"] = str(folder)
        encoder = encoder_from_config(config, weights=folder / "model.safetensors")
    else:
        encoder = create_encoder_for_corpus(
            corpus,
            cfg.encoder,
            cfg.representation,
            init=init,
            imagenet_weights=cfg.imagenet_weights,
            image_size=cfg.image_size,
            normalization=cfg.normalization,
            drop_path_rate=cfg.drop_path,
        )
    if encoder.in_chans != corpus.num_channels:
        raise ValueError(
            f"encoder {init} takes {encoder.in_chans} channels, corpus {corpus.root} has "
            f"{corpus.num_channels} ({corpus.channel_names})"
        )
    if abs(encoder.sample_rate - corpus.sample_rate) > 1e-6:
        raise ValueError(
            f"encoder {init} expects {encoder.sample_rate:g} Hz, corpus {corpus.root} is sampled at "
            f"{corpus.sample_rate:g} Hz; resample the corpus (ingest --sample-rate) or pretrain at that rate"
        )
    return encoder


def _prepare_data(cfg: FinetuneConfig, corpus: Corpus) -> tuple[Splits, np.ndarray, np.ndarray]:
    labels = corpus.labels()
    splits = split_corpus(
        corpus,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        seed=cfg.split_seed,
        split_by=cfg.split_by,
    )
    train_idx = labeled_subset(
        splits.train,
        labels,
        per_class=cfg.labels_per_class,
        fraction=cfg.label_fraction,
        seed=cfg.subset_seed,
    )
    return splits, train_idx, labels


def classifier_window(cfg: FinetuneConfig, corpus: Corpus) -> int:
    """The classifier's window in samples at the corpus rate (``window_seconds``/``window_periods``).

    Raises:
        ValueError: longer than the corpus's windows, or shorter than 32 samples.
    """
    if cfg.window_seconds is None and cfg.window_periods is None:
        return corpus.window_length
    if cfg.window_seconds is not None:
        seconds = cfg.window_seconds
    else:
        assert cfg.window_periods is not None
        seconds = cfg.window_periods / cfg.fundamental
    samples = round(seconds * corpus.sample_rate)
    if not 32 <= samples <= corpus.window_length:
        raise ValueError(
            f"a window of {seconds:.4g} s is {samples} samples at {corpus.sample_rate:g} Hz; it must be between "
            f"32 samples and the corpus's window of {corpus.window_length} ({corpus.root})"
        )
    return samples


def last_stretch(x: np.ndarray, window: int) -> np.ndarray:
    """The last ``window`` samples of windows ``[N, C, T]`` (what a classifier of that window evaluates).

    Raises:
        ValueError: the windows are shorter than ``window``.
    """
    if x.shape[-1] < window:
        raise ValueError(
            f"windows of {x.shape[-1]} samples are shorter than the classifier's window {window}"
        )
    return x[..., x.shape[-1] - window :]


def _evaluate(
    model: Classifier, x: np.ndarray, y: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    logits = model.predict_windows(last_stretch(x, int(model.encoder.config.window)))
    return classification_metrics(y, logits.argmax(axis=1), class_names)


def _param_groups_fn(cfg: FinetuneConfig, layer_decay: float):
    def make(model: Any) -> list[dict]:
        scale = (
            layer_decay_fn(model, model.encoder.backbone, layer_decay) if layer_decay < 1 else None
        )
        return param_groups(model, cfg.engine.weight_decay, lr_scale_fn=scale)

    return make


def _phase(
    cfg: FinetuneConfig,
    model: Classifier,
    train_set: _InMemory,
    val: tuple[np.ndarray, np.ndarray],
    run_dir: Path,
    *,
    probe: bool,
    epochs: int,
) -> None:
    """One training phase on the engine; the best (by validation macro-F1) classifier lands in ``run_dir``."""
    engine = dataclasses.replace(
        cfg.engine, epochs=epochs, batch_size=min(cfg.engine.batch_size, len(train_set))
    )
    if probe:
        engine = dataclasses.replace(engine, base_lr=cfg.probe_base_lr, weight_decay=0.0)
    model.freeze_encoder(probe)

    def eval_fn(m: Any, epoch: int) -> dict[str, float]:
        metrics = _evaluate(m, val[0], val[1], model.class_names)
        return {"val_acc": metrics["accuracy"], "val_macro_f1": metrics["macro_f1"]}

    def export_fn(m: Any, out: Path, tag: str) -> None:
        m.save(out / ("classifier" if tag == "best" else "classifier_last"), training={"tag": tag})

    train(
        model,
        train_set,
        engine,
        run_dir,
        config_to_save=cfg,
        eval_fn=eval_fn if len(val[1]) else None,
        export_fn=export_fn,
        param_groups_fn=_param_groups_fn(cfg, 1.0 if probe else cfg.layer_decay),
    )


def _repeats(n: int, batch_size: int, min_batches: int) -> int:
    batches = max(1, n // min(batch_size, n))
    return max(1, math.ceil(min_batches / batches))


@dataclass
class _Run:
    """What :func:`finetune` builds before training: the run's config (a changed copy when early stopping is
    off), data, splits and the classifier."""

    cfg: FinetuneConfig
    corpus: Corpus
    splits: Splits
    train_idx: np.ndarray
    labels: np.ndarray
    init: Init
    model: Classifier
    train_set: _InMemory
    keep_best: bool

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.run_dir)


def _labeled_corpus(cfg: FinetuneConfig) -> Corpus:
    data_root = cfg.data
    if not data_root:
        from ssl_waveform.sim import builtin_labeled_corpus

        data_root = str(builtin_labeled_corpus(cfg.runs, cfg.builtin_windows, cfg.builtin_seed))
    corpus = Corpus(data_root)
    if corpus.class_names is None:
        raise ValueError(f"{corpus.root} is unlabeled; fine-tuning needs a labeled corpus")
    return corpus


def _build(cfg: FinetuneConfig) -> _Run:
    """Split and subset the labeled corpus, build the classifier and the training set."""
    corpus = _labeled_corpus(cfg)
    splits, train_idx, labels = _prepare_data(cfg, corpus)
    if len(splits.val) == 0 and cfg.select == "best":
        print("note: no validation split (too few windows per class); early stopping is off")
    keep_best = cfg.select == "best" and len(splits.val) > 0
    if not keep_best:  # a changed copy: the caller's config is never modified
        cfg = dataclasses.replace(
            cfg, engine=dataclasses.replace(cfg.engine, monitor=None, patience=None)
        )
    init = resolve_init(cfg)
    set_seed(
        cfg.engine.seed
    )  # a scratch encoder's and the head's initialisation follow the run's seed
    encoder = build_encoder_for_finetune(cfg, corpus, init)
    # the classifier's window: what predict slides and its shortest input
    encoder.config.window = window = classifier_window(cfg, corpus)
    model = Classifier(
        encoder,
        list(corpus.class_names or []),
        label_smoothing=cfg.label_smoothing,
        head_init_scale=cfg.head_init_scale,
    )
    _standardize_input(cfg, encoder, corpus, splits.train, window)
    repeats = _repeats(len(train_idx), cfg.engine.batch_size, cfg.min_batches_per_epoch)
    train_set = _InMemory(
        corpus.read(train_idx),
        labels[train_idx],
        repeats,
        create_policy(cfg.augment),
        crop=window,
        seed=cfg.engine.seed,
    )
    print(
        f"fine-tuning {encoder.config.architecture.name} ({encoder.config.representation_name}) "
        f"init={init} mode={cfg.mode}: {len(train_idx)} labeled training windows "
        f"({len(np.unique(labels[train_idx]))} classes), {len(splits.val)} val, {len(splits.test)} test; "
        f"window {window} samples ({window / corpus.sample_rate * 1e3:.4g} ms)"
    )
    return _Run(cfg, corpus, splits, train_idx, labels, init, model, train_set, keep_best)


def _train_classifier(run: _Run) -> Path:
    """Train in the run's mode; returns the folder of the classifier the setting keeps."""
    cfg, model, run_dir = run.cfg, run.model, run.run_dir
    val = (run.corpus.read(run.splits.val), run.labels[run.splits.val])
    if cfg.mode == "two_phase":
        _phase(
            cfg, model, run.train_set, val, run_dir / "probe", probe=True, epochs=cfg.probe_epochs
        )
        best = run_dir / "probe" / "classifier"
        if run.keep_best and best.is_dir():
            model.load_state_dict(load_classifier(best).state_dict())
    probe = cfg.mode == "probe"
    _phase(cfg, model, run.train_set, val, run_dir, probe=probe, epochs=cfg.engine.epochs)
    # chosen by the setting, not by which folders exist (a run folder may hold another run's `classifier/`)
    classifier_dir = run_dir / "classifier"
    if not (run.keep_best and classifier_dir.is_dir()):
        classifier_dir = run_dir / "classifier_last"
    return classifier_dir


def _test_and_write(run: _Run, classifier_dir: Path, start: float) -> dict[str, Any]:
    """Test the kept classifier (when there is a test split) and write ``metrics.json`` and the plots."""
    class_names, test_idx, run_dir = list(run.model.class_names), run.splits.test, run.run_dir
    test: dict[str, Any] = {"accuracy": None, "macro_f1": None, "confusion_matrix": None}
    if len(test_idx):  # else the caller evaluates on its own test sets (e.g. the benchmark)
        test = _evaluate(
            load_classifier(classifier_dir),
            run.corpus.read(test_idx),
            run.labels[test_idx],
            class_names,
        )
    metrics = {
        **test,
        "epochs": len(read_log(run_dir)),
        "wall_time_s": time.time() - start,
        "init": str(run.init),
        "num_train_windows": len(run.train_idx),
        "num_val_windows": len(run.splits.val),
        "num_test_windows": len(test_idx),
        "classifier": str(classifier_dir),
        "config": to_dict(run.cfg),
    }
    atomic_write_json(run_dir / "metrics.json", metrics)
    plot_training_curves(run_dir / "log.jsonl", run_dir / "training_curves.png")
    if test["confusion_matrix"] is not None:
        plot_confusion_matrix(
            np.asarray(test["confusion_matrix"]),
            class_names,
            run_dir / "confusion_matrix.png",
            title=f"test: acc {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f} "
            f"(init {Path(str(run.init)).name})",
        )
        print(
            f"test accuracy {test['accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}  "
            f"({len(test_idx)} windows) -> {run_dir / 'metrics.json'}"
        )
    return metrics


def finetune(cfg: FinetuneConfig) -> FinetuneResult:
    """Run one fine-tuning: split, subset, train (resuming when interrupted), test, write the outputs.

    ``cfg`` is not modified. Returns a :class:`FinetuneResult` with the test metrics (also in
    ``run_dir/metrics.json``).
    """
    start = time.time()
    run = _build(cfg)
    classifier_dir = _train_classifier(run)
    metrics = _test_and_write(run, classifier_dir, start)
    return FinetuneResult(run_dir=run.run_dir, metrics=metrics, classifier_dir=classifier_dir)
