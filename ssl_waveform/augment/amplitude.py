"""Augmentations of amplitude: global scaling, per-channel sensor mismatch and additive noise."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ssl_waveform.augment.base import WaveformAugmentation, channel_rms, uniform


class AmplitudeScale(WaveformAugmentation):
    """Multiply all channels of a sample by one log-uniform random factor.

    Models a different load level or operating point; the ratios between channels are kept.

    Args:
        low: Smallest factor (> 0).
        high: Largest factor (>= low).
        p: Probability per sample.
    """

    def __init__(self, low: float = 0.7, high: float = 1.4, p: float = 1.0) -> None:
        super().__init__(p)
        if not 0.0 < low <= high:
            raise ValueError(f"AmplitudeScale: need 0 < low <= high, got low={low}, high={high}")
        self.low = low
        self.high = high

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        log_gain = uniform(
            (x.shape[0], 1, 1), math.log(self.low), math.log(self.high), x, generator
        )
        return x * log_gain.exp()

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}, p={self.p}"


class ChannelGainOffset(WaveformAugmentation):
    """Per-channel gain mismatch and DC offset, as from uncalibrated current/voltage sensors.

    Each channel gets a gain ``1 + U(-max_gain, max_gain)`` and an offset
    ``U(-max_offset, max_offset) * rms(channel)``. Keep ``max_offset`` small: a DC component in a
    phase current is itself a symptom of an open-switch fault.

    Args:
        max_gain: Largest relative gain error (0.05 is +-5 %).
        max_offset: Largest offset as a fraction of the channel's RMS.
        p: Probability per sample.
    """

    def __init__(self, max_gain: float = 0.05, max_offset: float = 0.02, p: float = 1.0) -> None:
        super().__init__(p)
        if not 0.0 <= max_gain < 1.0:
            raise ValueError(f"ChannelGainOffset: max_gain must be in [0, 1), got {max_gain}")
        if max_offset < 0.0:
            raise ValueError(f"ChannelGainOffset: max_offset must be >= 0, got {max_offset}")
        self.max_gain = max_gain
        self.max_offset = max_offset

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, c, _ = x.shape
        gain = 1.0 + uniform((b, c, 1), -self.max_gain, self.max_gain, x, generator)
        offset = uniform((b, c, 1), -self.max_offset, self.max_offset, x, generator) * channel_rms(
            x
        )
        return x * gain + offset

    def extra_repr(self) -> str:
        return f"max_gain={self.max_gain}, max_offset={self.max_offset}, p={self.p}"


class AdditiveNoise(WaveformAugmentation):
    """Add white Gaussian noise at a random signal-to-noise ratio per sample.

    The noise standard deviation of each channel is ``rms(channel) / 10**(snr_db / 20)``, so the SNR
    holds per channel whatever the channel's unit.

    Args:
        snr_db: ``(low, high)`` range of the SNR in dB, drawn uniformly per sample.
        p: Probability per sample.
    """

    def __init__(self, snr_db: tuple[float, float] = (20.0, 40.0), p: float = 1.0) -> None:
        super().__init__(p)
        low, high = snr_db
        if low > high:
            raise ValueError(
                f"AdditiveNoise: snr_db must be (low, high) with low <= high, got {snr_db}"
            )
        self.snr_db = (float(low), float(high))

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        snr = uniform((x.shape[0], 1, 1), self.snr_db[0], self.snr_db[1], x, generator)
        sigma = channel_rms(x) * torch.pow(10.0, -snr / 20.0)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + sigma * noise

    def extra_repr(self) -> str:
        return f"snr_db={self.snr_db}, p={self.p}"
