"""Per-sample / corpus normalisation of waveforms, applied before the representation."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
from torch import nn

Normalization = Literal["none", "per_sample", "per_sample_shared", "shared_scale", "corpus"]
NORMALIZATION_MODES: tuple[str, ...] = get_args(Normalization)


SHARED_SCALE_MODES = ("per_sample_shared", "shared_scale")


def warn_if_mixed_units(mode: str, channel_names: Sequence[str], units: Sequence[str]) -> None:
    """Warn when a mode with one scale for all channels meets channels of different units.

    One RMS over a DC-link voltage (hundreds of volts) and phase currents (amperes) would leave the
    currents near zero; ``per_sample`` standardises each channel on its own instead.
    """
    if mode in SHARED_SCALE_MODES and len(set(units)) > 1:
        pairs = ", ".join(f"{n} [{u}]" for n, u in zip(channel_names, units))
        warnings.warn(
            f"normalization {mode!r} scales all channels by one factor, but they have different units "
            f"({pairs}); use normalization='per_sample' for mixed units",
            stacklevel=2,
        )


class WaveformNormalization(nn.Module):
    """Standardise waveforms ``[B, C, T]`` so that the signal's scale does not matter.

    Modes:
        ``none``: identity.
        ``per_sample``: each (sample, channel) row gets zero mean and unit standard deviation over
            time, so a 2 A and a 200 A current with the same fault look alike (default).
        ``per_sample_shared``: zero mean per channel, one scale per sample (the RMS over all
            channels), which keeps amplitude ratios between channels (e.g. phase imbalance); only
            meaningful when all channels share a unit.
        ``shared_scale``: no centring, one scale per sample (the RMS over all channels and time),
            which keeps both the amplitude ratios and each channel's DC offset (the half-wave an
            open switch removes, a current-sensor offset); only for channels that share a unit.
        ``corpus``: ``(x - mean[c]) / std[c]`` with fixed per-channel statistics of a corpus.

    Args:
        mode: One of :data:`NORMALIZATION_MODES`.
        in_chans: Number of channels ``C``.
        mean: Per-channel corpus mean (``corpus`` mode only), in the waveform's units.
        std: Per-channel corpus standard deviation (``corpus`` mode only), > 0.
        eps: Added to the standard deviation (waveform units) so that flat channels map to zeros.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        mode: str = "per_sample",
        in_chans: int = 1,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if mode not in NORMALIZATION_MODES:
            raise ValueError(
                f"unknown normalization mode {mode!r}; valid modes: {', '.join(NORMALIZATION_MODES)}"
            )
        self.mode = mode
        self.in_chans = int(in_chans)
        self.eps = float(eps)
        if mode == "corpus":
            if mean is None or std is None:
                raise ValueError(
                    "normalization mode 'corpus' needs per-channel mean= and std= (e.g. from the "
                    "corpus statistics of ssl_waveform.data); pass both or use mode='per_sample'"
                )
            if len(mean) != in_chans or len(std) != in_chans:
                raise ValueError(
                    f"corpus normalization: mean has {len(mean)} and std has {len(std)} entries, "
                    f"expected one per channel ({in_chans})"
                )
            if min(std) <= 0:
                raise ValueError(f"corpus normalization: every std must be > 0, got {list(std)}")
        elif mean is not None or std is not None:
            raise ValueError(f"mean=/std= are only used by mode='corpus', not mode={mode!r}")
        mean_t = torch.tensor(
            list(mean) if mean is not None else [0.0] * in_chans, dtype=torch.float32
        )
        std_t = torch.tensor(
            list(std) if std is not None else [1.0] * in_chans, dtype=torch.float32
        )
        self.register_buffer("mean", mean_t.view(1, -1, 1), persistent=False)
        self.register_buffer("std", std_t.view(1, -1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` ``[B, C, T]``; returns the same shape."""
        if self.mode == "none":
            return x
        if self.mode == "corpus":
            return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        if self.mode == "shared_scale":
            return x / (x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + self.eps)
        centred = x - x.mean(dim=-1, keepdim=True)
        if self.mode == "per_sample":
            scale = centred.std(dim=-1, keepdim=True, unbiased=False)
        else:
            scale = centred.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()
        return centred / (scale + self.eps)

    def config(self) -> dict[str, Any]:
        """JSON-serialisable settings (mode, statistics, eps) that rebuild this module."""
        cfg: dict[str, Any] = {"mode": self.mode, "eps": self.eps}
        if self.mode == "corpus":
            cfg["mean"] = self.mean.flatten().tolist()
            cfg["std"] = self.std.flatten().tolist()
        return cfg
