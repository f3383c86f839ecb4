"""Base class and input checks shared by every waveform representation."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class Representation(nn.Module):
    """A batched, weight-free module turning waveforms ``[B, C, T]`` into model inputs.

    Subclasses set ``name`` (registry key) and ``kind`` (``"2d"`` for images ``[B, C, H, W]``,
    ``"1d"`` for sequences ``[B, C, T']``), implement :meth:`forward` and :meth:`output_shape`,
    and return the keyword arguments that rebuild them from :meth:`config`.

    Args:
        in_chans: Number of waveform channels ``C`` the module accepts.
        sample_rate: Sampling rate of the input in Hz.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    def __init__(self, in_chans: int, sample_rate: float) -> None:
        super().__init__()
        if in_chans < 1:
            raise ValueError(f"{type(self).__name__}: in_chans must be >= 1, got {in_chans}")
        if sample_rate <= 0:
            raise ValueError(
                f"{type(self).__name__}: sample_rate must be > 0 Hz, got {sample_rate}"
            )
        self.in_chans = int(in_chans)
        self.sample_rate = float(sample_rate)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ``ValueError`` naming the problem if ``x`` is not a float ``[B, C, T]`` batch."""
        check_waveform_batch(x, self.in_chans, where=f"representation {self.name!r}")

    def output_shape(self, channels: int, length: int) -> tuple[int, ...]:
        """Shape of one sample's output, without the batch dimension, for ``channels x length`` input."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Keyword arguments (JSON-serialisable) that rebuild this module through the registry."""
        raise NotImplementedError

    def _check_channels(self, channels: int) -> None:
        if channels != self.in_chans:
            raise ValueError(
                f"representation {self.name!r} was built for {self.in_chans} channels, asked about "
                f"{channels}; build it with in_chans={channels}"
            )


class ImageRepresentation(Representation):
    """A representation producing square images ``[B, C, image_size, image_size]``.

    Subclasses set ``self.image_size`` in ``__init__``.
    """

    kind: ClassVar[str] = "2d"
    image_size: int

    def output_shape(self, channels: int, length: int) -> tuple[int, ...]:
        self._check_channels(channels)
        return (channels, self.image_size, self.image_size)


def check_waveform_batch(x: torch.Tensor, in_chans: int, where: str) -> None:
    """Check that ``x`` is a floating-point ``[B, C, T]`` tensor with ``C == in_chans``.

    Args:
        x: The batch to check.
        in_chans: Expected channel count.
        where: Name of the caller, quoted in the error message.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: wrong rank, wrong channel count or an empty time axis.
    """
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{where}: expected a floating-point torch.Tensor [B, C, T], got {got}")
    if x.ndim != 3:
        raise ValueError(
            f"{where}: expected waveforms of shape [B, C, T] (rank 3), got shape {tuple(x.shape)} "
            f"(rank {x.ndim}); add a batch axis with x[None] for a single window"
        )
    if x.shape[1] != in_chans:
        raise ValueError(
            f"{where}: expected {in_chans} channels on axis 1, got {x.shape[1]} (shape {tuple(x.shape)}); "
            f"select the channels the encoder was built for or build one with in_chans={x.shape[1]}"
        )
    if x.shape[2] < 1:
        raise ValueError(f"{where}: the time axis is empty (shape {tuple(x.shape)})")


def db_unit_scale(magnitude: torch.Tensor, top_db: float) -> torch.Tensor:
    """Map magnitudes ``[B, C, H, W]`` to ``[0, 1]`` on a decibel scale relative to each image's peak.

    ``1`` is the peak of each (sample, channel) image and ``0`` is ``top_db`` dB below it or lower,
    which makes the output independent of the waveform's amplitude.
    """
    db = 20.0 * torch.log10(magnitude.clamp_min(1e-12))
    peak = db.amax(dim=(-2, -1), keepdim=True)
    return ((db - peak) / top_db + 1.0).clamp_min(0.0)


def check_image_size(image_size: int, where: str) -> int:
    """Return ``image_size`` if it is a positive multiple of 32 (the encoders' total stride), else raise."""
    if image_size < 32 or image_size % 32:
        raise ValueError(
            f"{where}: image_size must be a positive multiple of 32 (the encoder's total stride), "
            f"got {image_size}; use e.g. 64 or 128"
        )
    return int(image_size)
