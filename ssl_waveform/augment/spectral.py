"""Frequency-domain augmentation: zero-phase low-pass filtering with a random cut-off."""

from __future__ import annotations

import torch
from torch import Tensor

from ssl_waveform.augment.base import WaveformAugmentation, uniform


class LowPass(WaveformAugmentation):
    """Zero-phase Butterworth-magnitude low-pass filter with a random cut-off per sample.

    The filter is applied in the frequency domain (``rfft`` -> gain ``1/sqrt(1 + (f/fc)^(2n))`` ->
    ``irfft``), so it adds no delay between channels. Cut-offs are fractions of the Nyquist
    frequency because the sampling rate is not known here; keep them high enough that the
    switching ripple that distinguishes faults survives.

    Args:
        cutoff: ``(low, high)`` cut-off range as a fraction of Nyquist, each in ``(0, 1]``.
        order: Butterworth order ``n`` (steepness of the roll-off).
        p: Probability per sample.
    """

    def __init__(
        self, cutoff: tuple[float, float] = (0.3, 0.9), order: int = 4, p: float = 1.0
    ) -> None:
        super().__init__(p)
        low, high = cutoff
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"LowPass: cutoff must satisfy 0 < low <= high <= 1, got {cutoff}")
        if order < 1:
            raise ValueError(f"LowPass: order must be >= 1, got {order}")
        self.cutoff = (float(low), float(high))
        self.order = order

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        t = x.shape[-1]
        fc = uniform((x.shape[0], 1, 1), self.cutoff[0], self.cutoff[1], x, generator)
        freq = torch.linspace(0.0, 1.0, t // 2 + 1, device=x.device, dtype=x.dtype)  # / Nyquist
        if t % 2:  # odd lengths do not reach Nyquist exactly
            freq = freq * (t - 1) / t
        gain = torch.rsqrt(1.0 + (freq / fc) ** (2 * self.order))  # [B, 1, F]
        spectrum = torch.fft.rfft(x.float(), dim=-1) * gain.float()
        return torch.fft.irfft(spectrum, n=t, dim=-1).to(x.dtype)

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, order={self.order}, p={self.p}"
