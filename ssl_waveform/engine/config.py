"""The engine's typed configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import tyro

from ssl_waveform.serialize import ConfigError

MixedPrecision = Literal["no", "bf16", "fp16"]
MonitorMode = Literal["max", "min"]


def _short(flag: str) -> Any:
    """A short flag for a field one sets often (``--epochs`` for ``--engine.epochs``)."""
    return tyro.conf.arg(aliases=(flag,))


@dataclass
class EngineConfig:
    """Hyper-parameters of the training loop; defaults are a sensible small CPU run.

    Attributes:
        epochs: Passes over the data. Ignored when ``max_steps`` is set.
        max_steps: Total optimizer steps; overrides ``epochs`` (the run then takes
            ``ceil(max_steps / steps_per_epoch)`` epochs, the last one cut short).
        batch_size: Samples per process per micro-step.
        grad_accum: Micro-steps per optimizer step.
        base_lr: Learning rate for an effective batch of 256; the peak lr is
            ``base_lr x batch_size x grad_accum x num_processes / 256``.
        min_lr: Learning rate reached at the last step of the cosine decay, quoted like
            ``base_lr`` for a batch of 256 and scaled by the same factor.
        weight_decay: AdamW decoupled weight decay (not applied to norms, biases, tokens).
        betas: AdamW ``(beta1, beta2)``.
        warmup_steps: Linear warmup length in optimizer steps; wins over ``warmup_epochs``.
        warmup_epochs: Warmup length in epochs (may be fractional) when ``warmup_steps`` is None.
        clip_grad: Max global gradient L2 norm; None disables clipping.
        ema_decay: Decay of the exponential moving average of the weights; None disables EMA.
            When enabled, the EMA weights are evaluated and exported.
        mixed_precision: ``"no"``, ``"bf16"`` or ``"fp16"`` (autocast; fp16 adds a grad scaler).
        compile: Wrap the method in ``torch.compile``.
        channels_last: Convert the method's 4-D weights to channels-last memory format.
        checkpoint_every: Save a checkpoint every this many optimizer steps; also saved at the
            end of each epoch and of training.
        keep_checkpoints: Number of most recent checkpoints kept in ``run_dir/checkpoints``.
        log_every: Optimizer steps between progress-bar / tracker updates.
        num_workers: DataLoader worker processes.
        seed: Seed for weights-independent randomness (shuffling, masking, augmentation).
        monitor: Metric name returned by ``eval_fn`` to track; improvement triggers the "best"
            export. None disables monitoring.
        monitor_mode: ``"max"`` or ``"min"``: which direction is an improvement.
        patience: Stop after this many evaluated epochs without improvement (needs ``monitor``).
    """

    epochs: Annotated[int, _short("--epochs")] = 10
    max_steps: int | None = None
    batch_size: Annotated[int, _short("--batch-size")] = 64
    grad_accum: int = 1
    base_lr: Annotated[float, _short("--base-lr")] = 1.5e-4
    min_lr: float = 0.0
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: Annotated[int | None, _short("--warmup-steps")] = None
    warmup_epochs: Annotated[float, _short("--warmup-epochs")] = 1.0
    clip_grad: float | None = 1.0
    ema_decay: float | None = None
    mixed_precision: Annotated[MixedPrecision, _short("--mixed-precision")] = "no"
    compile: bool = False
    channels_last: bool = False
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 10
    num_workers: int = 0
    seed: Annotated[int, _short("--seed")] = 0
    monitor: str | None = None
    monitor_mode: MonitorMode = "max"
    patience: int | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps={self.max_steps} must be >= 1 or None")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            problems.append(f"warmup_steps={self.warmup_steps} must be >= 0 or None")
        if self.warmup_epochs < 0:
            problems.append(f"warmup_epochs={self.warmup_epochs} must be >= 0")
        if self.base_lr <= 0 or not 0 <= self.min_lr <= self.base_lr:
            problems.append(
                f"need base_lr > 0 and 0 <= min_lr <= base_lr, got {self.base_lr}, {self.min_lr}"
            )
        if self.weight_decay < 0:
            problems.append(f"weight_decay={self.weight_decay} must be >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas={self.betas} must be two numbers in [0, 1)")
        if self.clip_grad is not None and self.clip_grad <= 0:
            problems.append(f"clip_grad={self.clip_grad} must be > 0 or None")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            problems.append(f"ema_decay={self.ema_decay} must lie in (0, 1) or be None")
        if self.log_every < 1 or self.num_workers < 0:
            problems.append("log_every must be >= 1 and num_workers >= 0")
        if self.patience is not None and (self.patience < 1 or self.monitor is None):
            problems.append(f"patience={self.patience} needs monitor set and must be >= 1")
        if problems:
            raise ConfigError("EngineConfig: " + "; ".join(problems))
