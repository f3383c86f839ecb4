"""Windowing and polyphase resampling of multichannel recordings."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from .errors import CorpusError, RecordingTooShortError

MAX_RATIO_DENOMINATOR = 10_000


def num_windows(length: int, window: int, hop: int) -> int:
    """Number of full windows of ``window`` samples, ``hop`` apart, in ``length`` samples."""
    return 0 if length < window else 1 + (length - window) // hop


def window_signal(x: np.ndarray, window: int, hop: int | None = None) -> np.ndarray:
    """Cut a recording into fixed-length windows.

    Args:
        x: recording ``[C, N]`` (channels first, N samples).
        window: window length in samples (> 0).
        hop: distance between window starts in samples (> 0); defaults to ``window`` (no overlap).
            A tail shorter than a window is dropped.

    Returns:
        ``[n, C, window]`` contiguous copy, ``n = 1 + (N - window) // hop``; window ``i`` starts at
        sample ``i * hop``.

    Raises:
        RecordingTooShortError: ``N < window``. CorpusError: bad ``window``/``hop`` or ``x`` not 2-D.
    """
    hop = window if hop is None else hop
    if window <= 0 or hop <= 0:
        raise CorpusError(
            f"window and hop must be positive sample counts, got window={window}, hop={hop}"
        )
    if x.ndim != 2:
        raise CorpusError(f"window_signal expects [C, N], got shape {x.shape}")
    if x.shape[1] < window:
        raise RecordingTooShortError(
            f"recording has {x.shape[1]} samples, shorter than one window of {window}; use a shorter "
            "window or drop the recording"
        )
    n = num_windows(x.shape[1], window, hop)
    view = np.lib.stride_tricks.sliding_window_view(
        x, window, axis=1
    )  # [C, N - window + 1, window]
    return np.ascontiguousarray(view[:, : (n - 1) * hop + 1 : hop].transpose(1, 0, 2))


def rational_ratio(orig_sr: float, target_sr: float) -> tuple[int, int]:
    """``(up, down)`` with ``up / down == target_sr / orig_sr`` (relative error < 1e-9).

    Raises:
        CorpusError: rates not positive, or the ratio needs a denominator above 10,000.
    """
    if not (orig_sr > 0 and target_sr > 0 and math.isfinite(orig_sr) and math.isfinite(target_sr)):
        raise CorpusError(f"sample rates must be positive and finite, got {orig_sr} -> {target_sr}")
    frac = Fraction(target_sr / orig_sr).limit_denominator(MAX_RATIO_DENOMINATOR)
    if abs(float(frac) - target_sr / orig_sr) > 1e-9 * target_sr / orig_sr:
        raise CorpusError(
            f"cannot resample {orig_sr} Hz -> {target_sr} Hz with a rational ratio of denominator <= "
            f"{MAX_RATIO_DENOMINATOR}; pick a target rate with a simpler ratio"
        )
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, orig_sr: float, target_sr: float, axis: int = -1) -> np.ndarray:
    """Resample along ``axis`` with a polyphase anti-aliasing FIR (``scipy.signal.resample_poly``).

    Content above the lower of the two Nyquist frequencies is attenuated (Kaiser window, beta 5),
    so downsampling does not alias. Output length is ``ceil(N * up / down)``.

    Args:
        x: array with time along ``axis``, sampled at ``orig_sr`` Hz.
        orig_sr: input sample rate, Hz. target_sr: output sample rate, Hz.

    Returns:
        Resampled array; float32 input stays float32, other input becomes float64.
    """
    up, down = rational_ratio(orig_sr, target_sr)
    if up == down:
        return np.array(x, copy=True)
    y = resample_poly(x, up, down, axis=axis)
    return y.astype(np.float32) if np.asarray(x).dtype == np.float32 else y
