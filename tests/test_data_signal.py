"""Windowing and resampling."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_waveform.data import CorpusError, RecordingTooShortError, resample, window_signal


def test_window_signal_positions_and_shape() -> None:
    x = np.arange(2 * 20, dtype=np.float32).reshape(2, 20)
    w = window_signal(x, 6, hop=4)
    assert w.shape == (4, 2, 6) and w.flags.c_contiguous  # starts 0, 4, 8, 12; 16 + 6 > 20
    for i in range(4):
        np.testing.assert_array_equal(w[i], x[:, 4 * i : 4 * i + 6])
    assert window_signal(x, 5).shape == (4, 2, 5)  # hop defaults to window
    assert window_signal(x, 20).shape == (1, 2, 20)


def test_window_signal_errors() -> None:
    with pytest.raises(RecordingTooShortError, match="19 samples"):
        window_signal(np.zeros((3, 19)), 20)
    with pytest.raises(CorpusError, match="positive"):
        window_signal(np.zeros((3, 19)), 4, hop=0)


def tone(freq: float, sr: float, seconds: float = 1.0, amp: float = 2.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def peak(x: np.ndarray, sr: float) -> tuple[float, float]:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec))
    return k * sr / len(x), float(spec[k])


@pytest.mark.parametrize(
    ("sr", "target"), [(1000.0, 2500.0), (20000.0, 1000.0), (44100.0, 16000.0)]
)
def test_resample_keeps_frequency_and_amplitude(sr: float, target: float) -> None:
    x = tone(60.0, sr)
    y = resample(x, sr, target)
    assert len(y) == int(np.ceil(len(x) * target / sr))
    freq, _ = peak(y, target)
    assert abs(freq - 60.0) <= target / len(y)
    core = y[len(y) // 10 : -len(y) // 10]  # edges carry the filter transient
    assert np.isclose(np.abs(core).max(), 2.0, rtol=0.01)


def test_resample_attenuates_tone_above_new_nyquist() -> None:
    sr, target = 10000.0, 1000.0
    alias = resample(tone(700.0, sr), sr, target)  # 700 Hz would alias to 300 Hz
    passband = resample(tone(300.0, sr), sr, target)
    core = slice(100, -100)  # edges carry the filter transient
    assert np.abs(alias[core]).max() < 0.01 * np.abs(passband[core]).max()
    naive = tone(700.0, sr)[::10]  # decimation without the filter does alias
    assert np.abs(naive).max() > 1.0


def test_resample_axis_dtype_and_bad_ratio() -> None:
    x = np.stack([tone(50.0, 1000.0), tone(80.0, 1000.0)]).astype(np.float32)  # [C, N]
    y = resample(x, 1000.0, 500.0, axis=1)
    assert y.shape == (2, 500) and y.dtype == np.float32
    np.testing.assert_array_equal(resample(x, 1000.0, 1000.0), x)
    with pytest.raises(CorpusError, match="rational ratio"):
        resample(x, 1000.0, 1000.0 * np.pi)
