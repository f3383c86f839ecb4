"""Morlet wavelet scalograms computed in the frequency domain."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ssl_waveform.transforms.base import ImageRepresentation, check_image_size, db_unit_scale


class MorletScalogram(ImageRepresentation):
    """Per-channel analytic-Morlet continuous wavelet transform magnitude, as a square image.

    ``image_size`` centre frequencies are spaced logarithmically from ``f_min`` (row 0) to
    ``f_max`` (last row). Each channel is reflect-padded by half a window on both sides, multiplied
    in the frequency domain by the analytic Morlet filters
    ``psi(f) = exp(-(w0 / fc * (f - fc))^2 / 2)`` (``f > 0`` only, bandwidth ``fc / w0``), and brought
    back to the time domain only at ``oversample * image_size`` time points per window: folding the
    spectrum into that many bins before the inverse FFT samples the filtered signal exactly at those
    points, which keeps the cost at ``O(B C S (T + P log P))`` instead of ``O(B C S T log T)``. The
    magnitudes are averaged over groups of ``oversample`` points and mapped to ``[0, 1]`` in dB (see
    :func:`db_unit_scale`).

    Args:
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz.
        image_size: Output height (scales) and width (time), a multiple of 32.
        f_min: Lowest centre frequency in Hz.
        f_max: Highest centre frequency in Hz; ``None`` means ``0.45 * sample_rate``.
        w0: Morlet centre angular frequency (cycles of the wavelet ~ ``w0 / 2 pi``), 6 by default.
        oversample: Time points computed per output column before averaging.
        top_db: Dynamic range in dB kept below each image's peak.

    Shapes:
        ``[B, C, T] -> [B, C, image_size, image_size]``, values in ``[0, 1]``.
    """

    name = "cwt"
    center_frequencies: torch.Tensor

    def __init__(
        self,
        in_chans: int,
        sample_rate: float = 20_000.0,
        image_size: int = 64,
        f_min: float = 20.0,
        f_max: float | None = None,
        w0: float = 6.0,
        oversample: int = 4,
        top_db: float = 80.0,
    ) -> None:
        super().__init__(in_chans, sample_rate)
        self.image_size = check_image_size(image_size, "cwt")
        f_max = 0.45 * self.sample_rate if f_max is None else float(f_max)
        if not 0 < f_min < f_max <= self.sample_rate / 2:
            raise ValueError(
                f"cwt: need 0 < f_min < f_max <= sample_rate / 2 = {self.sample_rate / 2} Hz, "
                f"got f_min={f_min}, f_max={f_max}"
            )
        if w0 <= 0 or oversample < 1 or top_db <= 0:
            raise ValueError(
                f"cwt: need w0 > 0, oversample >= 1, top_db > 0; got {w0}, {oversample}, {top_db}"
            )
        self.f_min = float(f_min)
        self.f_max = f_max
        self.w0 = float(w0)
        self.oversample = int(oversample)
        self.top_db = float(top_db)
        freqs = torch.logspace(math.log10(self.f_min), math.log10(f_max), self.image_size)
        self.register_buffer("center_frequencies", freqs, persistent=False)
        # filters depend only on the padded length and device: computed once, reused every batch
        self._cache_key: tuple[int, int, str] | None = None
        self._cache = torch.empty(0)

    def _filters(self, n_fft: int, device: torch.device) -> torch.Tensor:
        """Analytic Morlet filters ``[S, n_fft]`` (real, zero at negative frequencies)."""
        freqs = torch.fft.fftfreq(n_fft, d=1.0 / self.sample_rate, device=device)
        fc = self.center_frequencies.to(device).unsqueeze(-1)
        response = torch.exp(-0.5 * (self.w0 / fc * (freqs - fc)) ** 2)
        # Zero the Gaussian tails: below 1e-6 they add nothing, and subnormal floats are very slow.
        keep = (freqs > 0) & (response > 1e-6)
        return torch.where(keep, 2.0 * response, torch.zeros_like(response))

    def _folded_filters(self, total: int, hop: int, device: torch.device) -> torch.Tensor:
        """Positive-frequency filters laid out for the folding matmul, ``[M, hop / 2, S]`` (cached)."""
        key = (total, hop, str(device))
        if self._cache_key != key:
            half, n_points = hop // 2, total // hop
            filters = self._filters(total, device)[:, : half * n_points] / hop
            self._cache = filters.view(-1, half, n_points).permute(2, 1, 0).contiguous()
            self._cache_key = key
        return self._cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform ``x`` ``[B, C, T]`` (``T >= 8``) to ``[B, C, S, S]``."""
        self.check_input(x)
        batch, chans, length = x.shape
        if length < 8:
            raise ValueError(f"cwt: windows must have at least 8 samples, got {length}")
        # Even hop: the analytic filters vanish at negative frequencies (the upper half of the FFT),
        # so only the first hop / 2 folding blocks, i.e. the rfft bins, contribute.
        hop = 2 * max(1, length // (2 * self.image_size * self.oversample))
        # Reflect-pad by about half a window on each side (against wrap-around), keeping the padded
        # length a multiple of `hop` and the window's first sample on the sampling grid.
        pad_left = (length // 2 // hop) * hop
        pad_right = length // 2 + (-(pad_left + length + length // 2)) % hop
        padded = F.pad(x.float(), (pad_left, pad_right), mode="reflect")
        total = padded.shape[-1]
        n_out = -(-length // hop)  # sampled time points inside the window
        n_points = total // hop
        half = hop // 2
        spectrum = torch.fft.rfft(padded, dim=-1)[..., : half * n_points]  # [B, C, N / 2]
        # Fold every filtered spectrum into n_points bins (bin m collects frequencies m + j * n_points):
        # the inverse FFT of the folded spectrum is the filtered signal sampled every `hop` samples.
        # Real-valued batched matmul over m: [M, B*C*2, hop/2] @ [M, hop/2, S] -> [M, B*C*2, S].
        filters = self._folded_filters(total, hop, x.device)
        parts = torch.view_as_real(spectrum.reshape(batch, chans, half, n_points))
        parts = parts.permute(3, 0, 1, 4, 2).reshape(n_points, batch * chans * 2, half)
        folded = torch.bmm(parts, filters).view(n_points, batch, chans, 2, -1).transpose(-1, -2)
        coeffs = torch.fft.ifft(torch.view_as_complex(folded.contiguous()), dim=0)  # [M, B, C, S]
        start = pad_left // hop
        magnitude = coeffs[start : start + n_out].abs().permute(1, 2, 3, 0)  # [B, C, S, n_out]
        image = F.adaptive_avg_pool2d(magnitude, (self.image_size, self.image_size))
        return db_unit_scale(image, self.top_db)

    def config(self) -> dict[str, Any]:
        return {
            "image_size": self.image_size,
            "f_min": self.f_min,
            "f_max": self.f_max,
            "w0": self.w0,
            "oversample": self.oversample,
            "top_db": self.top_db,
        }
