"""Gramian angular summation field images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ssl_waveform.transforms.base import ImageRepresentation, check_image_size


class GramianAngularField(ImageRepresentation):
    """Gramian angular summation field (GASF) of each downsampled channel.

    Each channel is averaged down to ``image_size`` samples (``adaptive_avg_pool1d``, which also
    low-pass filters), min-max scaled to ``[-1, 1]`` per (sample, channel), read as angles
    ``phi = arccos(x)`` and turned into ``cos(phi_i + phi_j) = x_i x_j - sqrt(1-x_i^2) sqrt(1-x_j^2)``.

    Args:
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz (recorded only).
        image_size: Output height and width (samples after downsampling), a multiple of 32.

    Shapes:
        ``[B, C, T] -> [B, C, image_size, image_size]``, values in ``[-1, 1]``, symmetric.
    """

    name = "gaf"

    def __init__(self, in_chans: int, sample_rate: float = 20_000.0, image_size: int = 64) -> None:
        super().__init__(in_chans, sample_rate)
        self.image_size = check_image_size(image_size, "gaf")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform ``x`` ``[B, C, T]`` to ``[B, C, S, S]``."""
        self.check_input(x)
        small = F.adaptive_avg_pool1d(x.float(), self.image_size)
        low = small.amin(dim=-1, keepdim=True)
        high = small.amax(dim=-1, keepdim=True)
        scaled = (2.0 * (small - low) / (high - low).clamp_min(1e-12) - 1.0).clamp(-1.0, 1.0)
        sine = (1.0 - scaled.pow(2)).clamp_min(0.0).sqrt()
        return scaled.unsqueeze(-1) * scaled.unsqueeze(-2) - sine.unsqueeze(-1) * sine.unsqueeze(-2)

    def config(self) -> dict[str, Any]:
        return {"image_size": self.image_size}
