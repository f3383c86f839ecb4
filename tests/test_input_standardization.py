"""Input standardisation per channel and pixel (``Encoder.standardize_inputs``, ``finetune --standardize-input``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_waveform.cli.finetune import main as finetune_main
from ssl_waveform.methods.classify import load_classifier
from ssl_waveform.models import create_encoder, load_encoder
from ssl_waveform.transforms import input_statistics

FS = 1000.0


def waves(n: int, seed: int = 0) -> np.ndarray:
    """Three 60 Hz phases whose 3rd harmonic differs by a few percent between windows."""
    rng = np.random.default_rng(seed)
    t = np.arange(512) / FS
    phase = 2 * np.pi * np.arange(3)[:, None] / 3
    h3 = rng.uniform(0.01, 0.05, (n, 1, 1))
    x = np.sin(2 * np.pi * 60 * t - phase) + h3 * np.sin(6 * np.pi * 60 * t - 3 * phase)
    return (5.0 * x + 0.01 * rng.standard_normal((n, 3, 512))).astype(np.float32)


def test_statistics_make_every_pixel_zero_mean_unit_std() -> None:
    enc = create_encoder("test_convnext2", "stft", 3, sample_rate=FS, window=512, image_size=32)
    x = waves(64)
    mean, std = input_statistics(enc.transform, torch.from_numpy(x), batch_size=10)
    assert mean.shape == std.shape == (3, 32, 32) and (std > 0).all()
    enc.standardize_inputs(x)
    with torch.no_grad():
        out = enc.transform(torch.from_numpy(x)).double()
    np.testing.assert_allclose(out.mean(0).numpy(), 0.0, atol=1e-3)  # float32 representation
    spread = out.std(0, unbiased=False).numpy()
    assert np.allclose(spread[spread > 0.01], 1.0, atol=1e-3)  # pixels with any variation


def test_sequences_get_one_value_per_channel() -> None:
    enc = create_encoder("convnext1d_test", "raw", 3, sample_rate=FS, window=512)
    x = waves(16)
    mean, std = input_statistics(enc.transform, torch.from_numpy(x))
    assert mean.shape == std.shape == (3,)
    enc.standardize_inputs(x)
    with torch.no_grad():
        out = enc.transform(torch.from_numpy(x)).double()
    np.testing.assert_allclose(out.mean((0, 2)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std((0, 2), unbiased=False).numpy(), 1.0, atol=1e-4)


def test_saved_and_reloaded_encoder_keeps_the_statistics(tmp_path: Path) -> None:
    enc = create_encoder("test_convnext2", "stft", 3, sample_rate=FS, window=512, image_size=32)
    x = waves(32)
    enc.standardize_inputs(x)
    enc.eval()
    enc.save(tmp_path / "enc")
    back = load_encoder(tmp_path / "enc")
    assert np.asarray(back.config.input_norm.mean).shape == (3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(back(torch.from_numpy(x[:4])), enc(torch.from_numpy(x[:4])))


def test_refuses_a_second_standardisation_and_bad_shapes() -> None:
    enc = create_encoder("test_convnext2", "stft", 3, sample_rate=FS, window=512, image_size=32)
    enc.standardize_inputs(waves(8))
    with pytest.raises(ValueError, match="already standardises"):
        enc.standardize_inputs(waves(8))
    other = create_encoder("test_convnext2", "stft", 3, sample_rate=FS, window=512, image_size=32)
    for mean, std in (
        (np.zeros((3, 16, 32)), np.ones((3, 16, 32))),  # wrong image size
        (np.zeros((2,)), np.ones((2,))),  # wrong channel count
        (np.zeros((3,)), np.zeros((3,))),  # std 0
        (np.zeros((3, 32, 1)), np.ones((3, 32, 32))),  # shapes differ
    ):
        with pytest.raises(ValueError, match="input_mean/input_std"):
            other.transform.set_input_norm(mean, std)
    other.transform.set_input_norm(np.zeros((3, 32, 1)), np.ones((3, 32, 1)))  # per row: allowed
    with pytest.raises(ValueError, match="N >= 2"):
        input_statistics(other.transform, torch.zeros(1, 3, 512))


def test_finetune_flag_stores_the_training_statistics(tmp_path: Path) -> None:
    from ssl_waveform.data import CorpusWriter

    x = waves(40, seed=1)
    y = (np.arange(40) % 2).astype(np.int64)
    x[y == 1] *= 1.0 + 0.03 * np.array([1.0, 0.0, -1.0])[None, :, None]  # a phase-ratio class
    with CorpusWriter(
        tmp_path / "c", sample_rate=FS, channel_names=["ia", "ib", "ic"], class_names=["a", "b"]
    ) as w:
        w.append(x, labels=y)
    args = [
        "--data", str(tmp_path / "c"), "--init", "scratch", "--encoder", "test_convnext2",
        "--representation", "stft", "--standardize-input", "--epochs", "1", "--batch-size", "8",
        "--select", "last", "--run-dir", str(tmp_path / "ft"), "--image-size", "32",
    ]  # fmt: skip
    assert finetune_main(args) == 0
    enc = load_classifier(tmp_path / "ft" / "classifier_last").encoder
    mean = np.asarray(enc.config.input_norm.mean)
    assert mean.shape == (3, 32, 32) and np.isfinite(mean).all()
