"""Identity representation for the 1-D encoder."""

from __future__ import annotations

from typing import Any

import torch

from ssl_waveform.transforms.base import Representation


class RawWaveform(Representation):
    """The (normalised) waveform itself, for the 1-D ConvNeXt.

    Shapes:
        ``[B, C, T] -> [B, C, T]`` (``T`` should be a multiple of 32, the 1-D encoder's stride).
    """

    name = "raw"
    kind = "1d"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` ``[B, C, T]`` unchanged after the input checks."""
        self.check_input(x)
        return x

    def output_shape(self, channels: int, length: int) -> tuple[int, ...]:
        self._check_channels(channels)
        return (channels, length)

    def config(self) -> dict[str, Any]:
        return {}
