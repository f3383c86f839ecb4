"""Cycle-synchronous fold ("signal to image") with per-window fundamental estimation."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ssl_waveform.transforms.base import ImageRepresentation, check_image_size


def _geometry_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 for the fold's geometry (period, phase, pixel borders), float32 on devices without it (MPS)."""
    return torch.float32 if x.device.type == "mps" else torch.float64


def estimate_fundamental(
    x: torch.Tensor,
    sample_rate: float,
    f_min: float = 5.0,
    f_max: float = 100.0,
    threshold: float = 0.25,
    min_periods: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Estimate the common fundamental frequency of each window with the YIN method.

    The squared-difference function ``d(tau) = sum_c sum_t (x_c[t] - x_c[t + tau])^2`` is summed over
    channels (so three phase currents, whose sum is zero, still agree on the period), normalised by
    its cumulative mean (YIN's CMNDF) and searched for its first dip below ``threshold`` among lags
    ``tau`` in ``[sample_rate / f_max, sample_rate / f_min]`` that leave at least ``min_periods``
    periods in the window. The lag is the minimum of that dip, refined by parabolic interpolation.

    Args:
        x: Waveforms ``[B, C, T]``.
        sample_rate: Sampling rate in Hz.
        f_min: Lowest fundamental searched, Hz.
        f_max: Highest fundamental searched, Hz.
        threshold: CMNDF value below which a lag counts as periodic (0 = perfectly periodic).
        min_periods: Fewest periods a window must contain for an estimate (>= 1.1).

    Returns:
        ``(f0, found)``: ``f0`` ``[B]`` in Hz (``nan`` where not found) and ``found`` ``[B]`` bool.
    """
    if not 0 < f_min < f_max:
        raise ValueError(f"estimate_fundamental: need 0 < f_min < f_max, got {f_min}, {f_max}")
    if min_periods < 1.1:
        raise ValueError(f"estimate_fundamental: min_periods must be >= 1.1, got {min_periods}")
    # float64 where the device has it: the period multiplies up to T / P rows, so a relative error of 1e-6 in
    # it (float32 FFT autocorrelation) moves the last rows' pixel borders by ~1e-3 samples
    x = x.to(_geometry_dtype(x))
    batch, _, length = x.shape
    max_lag = int(min(sample_rate / f_min, length / min_periods))
    min_lag = max(2, math.floor(sample_rate / f_max))
    nan = torch.full((batch,), float("nan"), device=x.device)
    if max_lag <= min_lag + 1:
        return nan, torch.zeros(batch, dtype=torch.bool, device=x.device)
    x = x - x.mean(dim=-1, keepdim=True)
    n_fft = 1 << (2 * length - 1).bit_length()
    spectrum = torch.fft.rfft(x, n=n_fft)
    autocorr = torch.fft.irfft(spectrum.abs().pow(2), n=n_fft)[..., : max_lag + 2].sum(dim=1)
    energy = x.pow(2).sum(dim=1)  # [B, T]
    cumulative = F.pad(energy.cumsum(dim=-1), (1, 0))  # cumulative[k] = sum_{t<k} energy[t]
    lags = torch.arange(max_lag + 2, device=x.device)
    head = cumulative[:, length - lags]  # sum_{t < T - tau}
    tail = cumulative[:, -1:] - cumulative[:, lags]  # sum_{t >= tau}
    diff = (head + tail - 2.0 * autocorr).clamp_min(0.0)
    running_mean = diff[:, 1:].cumsum(dim=-1) / lags[1:]
    cmndf = torch.ones_like(diff)
    cmndf[:, 1:] = diff[:, 1:] / running_mean.clamp_min(1e-12)

    in_range = (lags >= min_lag) & (lags <= max_lag)
    below = (cmndf < threshold) & in_range
    found = below.any(dim=-1)
    start = torch.where(
        found, below.int().argmax(dim=-1), torch.zeros_like(found, dtype=torch.long)
    )
    after = (~below) & (lags > start.unsqueeze(-1))
    stop = torch.where(
        after.any(dim=-1), after.int().argmax(dim=-1), torch.full_like(start, max_lag + 1)
    )
    dip = (lags >= start.unsqueeze(-1)) & (lags < stop.unsqueeze(-1)) & below
    best = torch.where(dip, cmndf, torch.full_like(cmndf, float("inf"))).argmin(dim=-1)
    best = best.clamp(1, max_lag)
    left, mid, right = (cmndf.gather(1, (best + k).unsqueeze(-1)).squeeze(-1) for k in (-1, 0, 1))
    curvature = left - 2.0 * mid + right
    shift = torch.where(curvature > 1e-12, 0.5 * (left - right) / curvature.clamp_min(1e-12), 0.0)
    period = best.to(cmndf.dtype) + shift.clamp(-0.5, 0.5)
    return torch.where(found, sample_rate / period, nan), found


class CycleFold(ImageRepresentation):
    """Cycle-synchronous fold: one fundamental period per image row, aligned in angle.

    Per window, :func:`estimate_fundamental` finds the fundamental period ``P`` (samples). The window
    is resampled in the angle domain so that one period spans ``image_size`` columns: column ``w`` of
    row ``r`` is the mean of the signal over ``[t0 + (r + w / W) P, t0 + (r + (w + 1) / W) P)``
    (exact integral of the zero-order-hold signal, i.e. a box anti-aliasing filter), where ``t0`` is
    the first rising zero crossing of channel ``phase_channel``'s fundamental component, so column 0
    is the same electrical angle in every window whatever the output frequency. The window holds
    ``n = floor((T - t0) / P)`` whole periods (``t0 = 0`` if alignment would leave none); row ``h`` of
    the image shows period ``floor(h n / H)``, so with few periods (``n < H``) every period is repeated
    as a horizontal band, with many periods (``n > H``) only ``H`` of them are shown.

    Windows with fewer than ``min_periods`` periods or no clear periodicity (CMNDF never below
    ``threshold``) fall back to a plain fixed-length fold: rows of ``fallback_period`` samples
    (default ``image_size``) taken from the window start, with the same row mapping.

    Args:
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz.
        image_size: Output height (periods) and width (samples per period), a multiple of 32.
        f_min: Lowest fundamental searched, Hz.
        f_max: Highest fundamental searched, Hz.
        threshold: YIN periodicity threshold.
        min_periods: Fewest whole periods a window needs before the cycle-synchronous fold is used.
        phase_channel: Channel whose fundamental phase sets column 0.
        fallback_period: Row length in samples of the fallback fold (``None`` = ``image_size``).

    Shapes:
        ``[B, C, T] -> [B, C, image_size, image_size]`` in the (normalised) waveform's units.
    """

    name = "fold"

    def __init__(
        self,
        in_chans: int,
        sample_rate: float = 20_000.0,
        image_size: int = 64,
        f_min: float = 5.0,
        f_max: float = 100.0,
        threshold: float = 0.25,
        min_periods: float = 1.5,
        phase_channel: int = 0,
        fallback_period: int | None = None,
    ) -> None:
        super().__init__(in_chans, sample_rate)
        self.image_size = check_image_size(image_size, "fold")
        if not 0 <= phase_channel < in_chans:
            raise ValueError(f"fold: phase_channel must be in [0, {in_chans}), got {phase_channel}")
        if fallback_period is not None and fallback_period < 1:
            raise ValueError(f"fold: fallback_period must be >= 1 sample, got {fallback_period}")
        estimate_fundamental(
            torch.zeros(1, 1, 8), sample_rate, f_min, f_max, threshold, min_periods
        )
        self.f_min = float(f_min)
        self.f_max = float(f_max)
        self.threshold = float(threshold)
        self.min_periods = float(min_periods)
        self.phase_channel = int(phase_channel)
        self.fallback_period = fallback_period

    def periods(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fold geometry per window of ``x`` ``[B, C, T]``.

        Returns:
            ``(period, start, found)``: row length in samples ``[B]``, start sample ``t0`` ``[B]`` and
            whether the fundamental was found ``[B]`` (else the fallback fold is used).
        """
        length = x.shape[-1]
        f0, found = estimate_fundamental(
            x, self.sample_rate, self.f_min, self.f_max, self.threshold, self.min_periods
        )
        fallback = float(self.fallback_period or self.image_size)
        period = torch.where(found, self.sample_rate / f0, torch.full_like(f0, fallback))
        period = period.clamp(max=float(length))
        # Phase of the fundamental of the phase channel: column 0 sits at its rising zero crossing.
        dtype = _geometry_dtype(x)
        t = torch.arange(length, device=x.device, dtype=dtype)
        omega = 2.0 * math.pi / period.unsqueeze(-1)  # rad / sample, [B, 1]
        ref = x[:, self.phase_channel].to(dtype)
        ref = ref - ref.mean(dim=-1, keepdim=True)
        quadrature, in_phase = (
            -(ref * torch.sin(omega * t)).sum(-1),
            (ref * torch.cos(omega * t)).sum(-1),
        )
        # atan2 in float32 (ONNX Runtime has no float64 Atan; 1e-7 rad moves t0 by ~1e-5 samples)
        phase = torch.atan2(quadrature.float(), in_phase.float()).to(dtype)
        start = torch.remainder(-0.5 * math.pi - phase, 2.0 * math.pi) / (2.0 * math.pi) * period
        start = torch.where(found & (start + period <= length), start, torch.zeros_like(start))
        return period, start, found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fold ``x`` ``[B, C, T]`` into ``[B, C, S, S]``."""
        self.check_input(x)
        x = x.float()
        batch, chans, length = x.shape
        period, start, _ = self.periods(x)
        size = self.image_size
        n_rows = torch.floor((length - start) / period).clamp_min(1.0)  # [B]
        rows = torch.floor(
            torch.arange(size, device=x.device) * n_rows.unsqueeze(-1) / size
        )  # [B, H]
        dtype = _geometry_dtype(x)
        cols = torch.arange(size + 1, device=x.device, dtype=dtype) / size  # [W + 1]
        edges = start.view(-1, 1, 1) + (rows.unsqueeze(-1) + cols) * period.view(-1, 1, 1)
        edges = edges.clamp(0.0, float(length))  # [B, H, W + 1] sample positions of pixel borders
        # [B, C, T + 1], integral of the ZOH signal (pixels are differences of this running sum)
        integral = F.pad(x.to(dtype).cumsum(dim=-1), (1, 0))
        low = edges.floor().long().clamp(max=length - 1)
        frac = edges - low
        flat_low = low.view(batch, 1, -1).expand(-1, chans, -1)
        left = integral.gather(-1, flat_low)
        right = integral.gather(-1, flat_low + 1)
        value = (left + frac.view(batch, 1, -1) * (right - left)).view(batch, chans, size, size + 1)
        width = (edges[..., 1:] - edges[..., :-1]).clamp_min(1e-6).unsqueeze(1)
        return ((value[..., 1:] - value[..., :-1]) / width).float()

    def config(self) -> dict[str, Any]:
        return {
            "image_size": self.image_size,
            "f_min": self.f_min,
            "f_max": self.f_max,
            "threshold": self.threshold,
            "min_periods": self.min_periods,
            "phase_channel": self.phase_channel,
            "fallback_period": self.fallback_period,
        }
