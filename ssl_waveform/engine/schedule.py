"""Learning-rate schedule: linear warmup then cosine decay, a pure function of the global step."""

from __future__ import annotations

import math


def lr_at(
    step: int, *, peak_lr: float, total_steps: int, warmup_steps: int, min_lr: float = 0.0
) -> float:
    """Learning rate for optimizer step ``step`` (0-based).

    Warmup rises linearly so that step 0 already moves (``peak_lr / warmup_steps``) and step
    ``warmup_steps - 1`` uses ``peak_lr``; from step ``warmup_steps`` a half cosine falls from
    ``peak_lr`` to exactly ``min_lr`` at the last step ``total_steps - 1``. Steps past the end stay
    at ``min_lr``.

    Args:
        step: Global optimizer step, 0-based (micro-steps of gradient accumulation do not count).
        peak_lr: Learning rate at the end of warmup (already scaled by the effective batch).
        total_steps: Number of optimizer steps of the whole run, >= 1.
        warmup_steps: Number of warmup steps, 0 <= warmup_steps <= total_steps.
        min_lr: Floor reached at the last step, 0 <= min_lr <= peak_lr.

    Returns:
        The learning rate (same unit as ``peak_lr``).

    Raises:
        ValueError: On a negative step, ``total_steps < 1``, warmup outside ``[0, total_steps]`` or
            ``min_lr`` outside ``[0, peak_lr]``.
    """
    if step < 0:
        raise ValueError(f"lr_at: step must be >= 0, got {step}")
    if total_steps < 1:
        raise ValueError(f"lr_at: total_steps must be >= 1, got {total_steps}")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(
            f"lr_at: warmup_steps must lie in [0, total_steps={total_steps}], got {warmup_steps}"
        )
    if not 0.0 <= min_lr <= peak_lr:
        raise ValueError(f"lr_at: need 0 <= min_lr ({min_lr}) <= peak_lr ({peak_lr})")
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    decay_steps = total_steps - 1 - warmup_steps
    if decay_steps <= 0:
        # No room for a decay phase (warmup covers the run): hold the peak.
        return peak_lr if step < total_steps else min_lr
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def scaled_peak_lr(base_lr: float, effective_batch: int) -> float:
    """Absolute peak learning rate by the linear scaling rule ``base_lr x effective_batch / 256``.

    Args:
        base_lr: Learning rate quoted for a batch of 256 samples.
        effective_batch: Samples per optimizer step over all processes and accumulation steps.

    Returns:
        The absolute peak learning rate.
    """
    if effective_batch < 1:
        raise ValueError(f"effective batch must be >= 1, got {effective_batch}")
    return base_lr * effective_batch / 256.0
