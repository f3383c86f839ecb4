"""Log-magnitude short-time Fourier transform images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ssl_waveform.transforms.base import ImageRepresentation, check_image_size, db_unit_scale


class STFTImage(ImageRepresentation):
    """Per-channel log-magnitude STFT, resized to a square image.

    Each channel is transformed with a Hann-windowed STFT (``center=True``, reflect padding), its
    magnitude is mapped to ``[0, 1]`` on a dB scale relative to the image's peak (``top_db`` dB of
    dynamic range, see :func:`db_unit_scale`) and the ``[n_fft // 2 + 1, frames]`` map is resized
    (bilinear, antialiased) to ``[image_size, image_size]``. Row 0 is DC, the last row is
    ``sample_rate / 2``; columns are time.

    Args:
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz (recorded; the map always spans 0 to Nyquist).
        image_size: Output height and width, a multiple of 32.
        n_fft: FFT length in samples (frequency resolution ``sample_rate / n_fft`` Hz).
        hop_length: Samples between frames.
        top_db: Dynamic range in dB kept below each image's peak.

    Shapes:
        ``[B, C, T] -> [B, C, image_size, image_size]``, values in ``[0, 1]``.
    """

    name = "stft"
    window: torch.Tensor

    def __init__(
        self,
        in_chans: int,
        sample_rate: float = 20_000.0,
        image_size: int = 64,
        n_fft: int = 256,
        hop_length: int = 32,
        top_db: float = 80.0,
    ) -> None:
        super().__init__(in_chans, sample_rate)
        self.image_size = check_image_size(image_size, "stft")
        if n_fft < 4 or hop_length < 1 or top_db <= 0:
            raise ValueError(
                f"stft: need n_fft >= 4, hop_length >= 1, top_db > 0; got n_fft={n_fft}, "
                f"hop_length={hop_length}, top_db={top_db}"
            )
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.top_db = float(top_db)
        window = torch.hann_window(self.n_fft)
        self.register_buffer("window", window, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform ``x`` ``[B, C, T]`` (``T > n_fft // 2``) to ``[B, C, S, S]``."""
        self.check_input(x)
        batch, chans, length = x.shape
        if length <= self.n_fft // 2:
            raise ValueError(
                f"stft: windows of {length} samples are too short for n_fft={self.n_fft}; "
                f"use n_fft < {2 * length}"
            )
        spec = torch.stft(
            x.reshape(batch * chans, length).float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        magnitude = spec.abs() * (2.0 / self.window.sum())  # amplitude of a sinusoid, input units
        image = db_unit_scale(magnitude.view(batch, chans, *magnitude.shape[-2:]), self.top_db)
        size = (self.image_size, self.image_size)
        return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)

    def config(self) -> dict[str, Any]:
        return {
            "image_size": self.image_size,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "top_db": self.top_db,
        }
