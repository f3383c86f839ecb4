"""Base class for batched waveform augmentations and the helpers they share.

Every augmentation acts on a batch of waveforms ``[B, C, T]`` on whatever device the batch lives,
draws its random parameters per sample, and is reproducible when a ``torch.Generator`` is passed
(the generator must live on the batch's device). None of them holds learnable weights.
"""

from __future__ import annotations

import abc

import torch
from torch import Tensor, nn


def check_waveform(x: Tensor, where: str) -> None:
    """Raise a clear error unless ``x`` is a floating-point batch of waveforms ``[B, C, T]``.

    Args:
        x: Tensor to check.
        where: Name of the caller, quoted in the error.
    """
    if not isinstance(x, Tensor) or x.ndim != 3 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"{where}: expected a float waveform batch of shape [B, C, T], got {shape}; "
            "reshape a single recording to [1, C, T] first"
        )


def uniform(
    shape: tuple[int, ...],
    low: float,
    high: float,
    x: Tensor,
    generator: torch.Generator | None,
) -> Tensor:
    """Draw ``U(low, high)`` samples on ``x``'s device and dtype.

    Args:
        shape: Output shape.
        low: Lower bound.
        high: Upper bound.
        x: Reference tensor giving device and dtype.
        generator: Optional generator on ``x.device``.

    Returns:
        Tensor of ``shape`` with values in ``[low, high)``.
    """
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    return low + (high - low) * u


def channel_rms(x: Tensor) -> Tensor:
    """Root-mean-square of each channel after removing its mean.

    Args:
        x: Waveforms ``[B, C, T]``.

    Returns:
        ``[B, C, 1]`` RMS in the waveform's unit (never zero, floored at 1e-12).
    """
    return x.std(dim=-1, keepdim=True, unbiased=False).clamp_min(1e-12)


def resample_at(x: Tensor, positions: Tensor) -> Tensor:
    """Linearly interpolate each waveform at fractional sample positions.

    Args:
        x: Waveforms ``[B, C, T]``.
        positions: ``[B, T_out]`` positions in samples (``0`` is the first sample); values outside
            ``[0, T-1]`` are clamped to the edge.

    Returns:
        ``[B, C, T_out]`` interpolated waveforms.
    """
    t = x.shape[-1]
    pos = positions.clamp(0, t - 1)
    left = pos.floor().long().clamp(0, max(t - 2, 0))
    right = (left + 1).clamp(max=t - 1)
    frac = (pos - left.to(pos.dtype)).unsqueeze(1)
    idx_l = left.unsqueeze(1).expand(-1, x.shape[1], -1)
    idx_r = right.unsqueeze(1).expand(-1, x.shape[1], -1)
    return torch.lerp(x.gather(-1, idx_l), x.gather(-1, idx_r), frac)


class WaveformAugmentation(nn.Module, abc.ABC):
    """An augmentation applied independently to each sample with probability ``p``.

    Subclasses implement :meth:`augment`, which transforms the whole batch with per-sample random
    parameters; :meth:`forward` then keeps the original for the samples that were not selected.

    Args:
        p: Probability that a given sample is augmented, in ``[0, 1]``.
    """

    def __init__(self, p: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    @abc.abstractmethod
    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        """Transform every sample of ``x`` ([B, C, T]) and return a tensor of the same shape."""

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment a random subset of the batch.

        Args:
            x: Waveforms ``[B, C, T]``.
            generator: Optional generator on ``x.device`` for reproducible draws.

        Returns:
            ``[B, C, T]`` waveforms; unselected samples are returned unchanged.
        """
        check_waveform(x, type(self).__name__)
        if self.p == 0.0:
            return x
        out = self.augment(x, generator)
        if self.p < 1.0:
            chosen = uniform((x.shape[0], 1, 1), 0.0, 1.0, x, generator) < self.p
            out = torch.where(chosen, out, x)
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}"
