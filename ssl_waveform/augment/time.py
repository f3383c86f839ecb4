"""Augmentations that move samples in time: shift, crop-and-resample, warp and span masking."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ssl_waveform.augment.base import WaveformAugmentation, resample_at, uniform


class TimeShift(WaveformAugmentation):
    """Circularly shift each waveform by a random number of samples.

    Converter waveforms are periodic, so a circular shift is a change of the window's start phase;
    the fault's signature (which half-wave is distorted, relative phase between channels) is kept
    because all channels of a sample move together.

    Args:
        max_fraction: Largest shift as a fraction of the window length ``T`` (either direction).
        p: Probability per sample.
    """

    def __init__(self, max_fraction: float = 0.25, p: float = 1.0) -> None:
        super().__init__(p)
        if not 0.0 <= max_fraction <= 1.0:
            raise ValueError(f"TimeShift: max_fraction must be in [0, 1], got {max_fraction}")
        self.max_fraction = max_fraction

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, c, t = x.shape
        max_shift = self.max_fraction * t
        shift = uniform((b, 1), -max_shift, max_shift, x, generator).round().long()
        idx = (torch.arange(t, device=x.device).unsqueeze(0) - shift) % t  # [B, T]
        return x.gather(-1, idx.unsqueeze(1).expand(b, c, t))

    def extra_repr(self) -> str:
        return f"max_fraction={self.max_fraction}, p={self.p}"


class RandomCrop(WaveformAugmentation):
    """Crop a random window and resample it back to the full length ``T``.

    This is a random crop followed by a mild resampling (a speed change by ``1/scale``), the
    waveform analogue of ``RandomResizedCrop``.

    Args:
        min_scale: Shortest crop as a fraction of ``T``, in ``(0, 1]``.
        p: Probability per sample.
    """

    def __init__(self, min_scale: float = 0.8, p: float = 1.0) -> None:
        super().__init__(p)
        if not 0.0 < min_scale <= 1.0:
            raise ValueError(f"RandomCrop: min_scale must be in (0, 1], got {min_scale}")
        self.min_scale = min_scale

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, _, t = x.shape
        length = uniform((b, 1), self.min_scale, 1.0, x, generator) * (t - 1)  # span in samples
        start = uniform((b, 1), 0.0, 1.0, x, generator) * ((t - 1) - length)
        ramp = torch.linspace(0.0, 1.0, t, device=x.device, dtype=x.dtype).unsqueeze(0)
        return resample_at(x, start + ramp * length)

    def extra_repr(self) -> str:
        return f"min_scale={self.min_scale}, p={self.p}"


class TimeWarp(WaveformAugmentation):
    """Smooth, monotonic random time warp with fixed end points.

    The displacement is a sum of ``n_harmonics`` half-sine modes with random amplitudes, so it is
    zero at both ends of the window and its slope stays well below 1 for small ``max_displacement``
    (the warp never folds time back).

    Args:
        max_displacement: Largest displacement as a fraction of ``T``.
        n_harmonics: Number of half-sine modes (more gives a wigglier warp).
        p: Probability per sample.
    """

    def __init__(
        self, max_displacement: float = 0.01, n_harmonics: int = 3, p: float = 1.0
    ) -> None:
        super().__init__(p)
        if not 0.0 <= max_displacement < 1.0 / (math.pi * max(n_harmonics, 1)):
            raise ValueError(
                f"TimeWarp: max_displacement={max_displacement} must be in [0, 1/(pi*n_harmonics)) "
                "so that the warp stays monotonic"
            )
        if n_harmonics < 1:
            raise ValueError(f"TimeWarp: n_harmonics must be >= 1, got {n_harmonics}")
        self.max_displacement = max_displacement
        self.n_harmonics = n_harmonics

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, _, t = x.shape
        k = torch.arange(1, self.n_harmonics + 1, device=x.device, dtype=x.dtype)  # [K]
        amp = uniform((b, self.n_harmonics), -1.0, 1.0, x, generator)
        amp = amp * (self.max_displacement * t / self.n_harmonics)  # samples
        tau = torch.linspace(0.0, 1.0, t, device=x.device, dtype=x.dtype)  # [T]
        modes = torch.sin(math.pi * k.unsqueeze(1) * tau.unsqueeze(0))  # [K, T]
        displacement = amp @ modes  # [B, T]
        positions = torch.arange(t, device=x.device, dtype=x.dtype).unsqueeze(0) + displacement
        return resample_at(x, positions)

    def extra_repr(self) -> str:
        return (
            f"max_displacement={self.max_displacement}, n_harmonics={self.n_harmonics}, p={self.p}"
        )


class SpanMask(WaveformAugmentation):
    """Replace short random time spans by each channel's mean (all channels at once).

    Args:
        n_spans: Number of spans per sample (they may overlap).
        max_fraction: Longest span as a fraction of ``T``; each span is at least one sample.
        p: Probability per sample.
    """

    def __init__(self, n_spans: int = 1, max_fraction: float = 0.05, p: float = 1.0) -> None:
        super().__init__(p)
        if n_spans < 1:
            raise ValueError(f"SpanMask: n_spans must be >= 1, got {n_spans}")
        if not 0.0 < max_fraction <= 1.0:
            raise ValueError(f"SpanMask: max_fraction must be in (0, 1], got {max_fraction}")
        self.n_spans = n_spans
        self.max_fraction = max_fraction

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, _, t = x.shape
        length = uniform((b, self.n_spans, 1), 1.0, max(self.max_fraction * t, 1.0), x, generator)
        start = uniform((b, self.n_spans, 1), 0.0, 1.0, x, generator) * (t - length)
        time = torch.arange(t, device=x.device, dtype=x.dtype).view(1, 1, t)
        hidden = ((time >= start.floor()) & (time < start.floor() + length.round())).any(dim=1)
        return torch.where(hidden.unsqueeze(1), x.mean(dim=-1, keepdim=True), x)

    def extra_repr(self) -> str:
        return f"n_spans={self.n_spans}, max_fraction={self.max_fraction}, p={self.p}"
