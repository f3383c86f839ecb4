"""Classifier: loss/accuracy, classifier folder round trip, prediction on recordings of any length and rate.

``trained_classifier_dir`` (also used by tests/test_predict.py) trains a tiny 1-D classifier once per session on
three-phase tones that differ in frequency and saves it under pytest's session temp folder.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ssl_waveform.data import window_signal
from ssl_waveform.methods.classify import Classifier, load_classifier
from ssl_waveform.models import create_encoder

FS = 20_000.0
WINDOW = 512
CLASSES = ["low", "mid", "high"]
FREQS = (500.0, 1500.0, 4000.0)  # Hz, one per class; all below the Nyquist rate of FS
CHANNELS = ["ia", "ib", "ic"]


def tones(labels, n_samples: int, fs: float = FS, seed: int = 0) -> np.ndarray:
    """Three-phase tones ``[N, 3, n_samples]`` of the labels' frequencies, random phase/amplitude, light noise.

    The same seed and labels give the same waveforms at any ``fs`` (only the sampling differs).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / fs
    out = []
    for c in labels:
        phase, amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
        x = np.stack(
            [np.sin(2 * np.pi * FREQS[c] * t + phase - k * 2 * np.pi / 3) for k in range(3)]
        )
        out.append(amp * x + 0.05 * rng.standard_normal(x.shape))
    return np.asarray(out, dtype=np.float32)


def tiny_classifier(head_init_scale: float = 1.0) -> Classifier:
    encoder = create_encoder(
        "convnext1d_test", "raw", 3, sample_rate=FS, window=WINDOW, channel_names=CHANNELS
    )
    return Classifier(encoder, CLASSES, head_init_scale=head_init_scale)


def trained_classifier_dir(tmp_path_factory) -> str:
    """Folder of a classifier trained to ~100 % on ``tones``; trained once per test session."""
    folder = tmp_path_factory.getbasetemp() / "trained_tone_classifier"
    if (folder / "config.json").is_file():
        return str(folder)
    torch.manual_seed(0)
    model = tiny_classifier()
    y = np.tile(np.arange(3), 24)
    x, yt = torch.from_numpy(tones(y, WINDOW, seed=100)), torch.from_numpy(y)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(20):
        idx = torch.randint(0, len(yt), (24,), generator=gen)
        out = model({"x": x[idx], "y": yt[idx]})
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), (
        f"tone classifier did not learn: {losses}"
    )
    model.save(folder, training={"note": "tests"})
    return str(folder)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Classifier:
    return load_classifier(trained_classifier_dir(tmp_path_factory))


def test_forward_loss_is_label_smoothed_cross_entropy_and_every_parameter_learns():
    torch.manual_seed(0)
    model = tiny_classifier()
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    x = torch.from_numpy(tones(y.tolist(), WINDOW))
    out = model({"x": x, "y": y})
    assert set(out) == {"loss", "acc"} and out["loss"].ndim == out["acc"].ndim == 0
    logits = model.logits(x)
    assert logits.shape == (6, 3) and torch.isfinite(logits).all()
    # naive label smoothing: (1 - eps) * NLL of the target + eps * mean NLL over classes
    logp = torch.log_softmax(logits, dim=1)
    eps = model.label_smoothing
    naive = (-(1 - eps) * logp[torch.arange(6), y] - eps * logp.mean(dim=1)).mean()
    torch.testing.assert_close(out["loss"], naive)
    assert out["acc"].item() == pytest.approx((logits.argmax(1) == y).float().mean().item())
    out["loss"].backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not no_grad, f"parameters without gradient: {no_grad}"


def test_small_head_init_starts_at_chance_loss():
    model = tiny_classifier(head_init_scale=1e-3)
    y = torch.tensor([0, 1, 2, 0])
    loss = model({"x": torch.from_numpy(tones(y.tolist(), WINDOW)), "y": y})["loss"]
    assert loss.item() == pytest.approx(math.log(3), abs=1e-2)


def test_constructor_errors():
    enc = create_encoder("convnext1d_test", "raw", 3)
    with pytest.raises(ValueError, match=r"at least 2 classes, got \['only'\]"):
        Classifier(enc, ["only"])
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\), got 1.0"):
        Classifier(enc, ["a", "b"], label_smoothing=1.0)


def test_save_load_round_trip_gives_identical_logits(tmp_path):
    torch.manual_seed(1)
    model = tiny_classifier().eval()
    folder = model.save(tmp_path / "clf", training={"epochs": 3})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["class_names"] == CLASSES and cfg["num_classes"] == 3
    assert cfg["sample_rate"] == FS and cfg["window"] == WINDOW
    assert cfg["channel_names"] == CHANNELS and cfg["training"] == {"epochs": 3}
    assert cfg["representation"]["name"] == "raw" and "normalization" in cfg
    loaded = load_classifier(folder)
    assert not loaded.training and loaded.class_names == CLASSES
    x = torch.from_numpy(tones([0, 1, 2, 2], WINDOW, seed=5))
    with torch.no_grad():
        assert torch.equal(model.logits(x), loaded.logits(x))
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config.json not found.*not a classifier folder"):
        load_classifier(tmp_path / "nothing")
    enc_dir = create_encoder("convnext1d_test", "raw", 3).save(tmp_path / "enc")
    with pytest.raises(ValueError, match=r"for an encoder folder use ssl_waveform\.load_encoder"):
        load_classifier(enc_dir)
    other = Classifier(create_encoder("convnext1d_test", "raw", 3), ["a", "b", "c", "d"])
    folder = tiny_classifier().save(tmp_path / "clf")
    other.save(tmp_path / "other")
    (tmp_path / "other" / "model.safetensors").replace(folder / "model.safetensors")
    with pytest.raises(
        ValueError, match=r"(?s)model\.safetensors: weights do not match.*head\.weight"
    ):
        load_classifier(folder)  # 4-class head weights under a 3-class config


def test_predict_averages_window_logits_per_recording_like_a_naive_loop():
    torch.manual_seed(2)
    model = tiny_classifier()
    lengths = [WINDOW, WINDOW + 100, 3 * WINDOW, 1000]
    recs = [tones([i % 3], n, seed=i)[0] for i, n in enumerate(lengths)]
    hop = 128
    pred = model.predict(recs, FS, hop=hop)
    assert pred.probabilities.shape == (4, 3) and pred.indices.shape == (4,)
    np.testing.assert_array_equal(pred.windows, [1 + (n - WINDOW) // hop for n in lengths])
    np.testing.assert_allclose(pred.probabilities.sum(axis=1), 1.0, atol=1e-6)
    for i, rec in enumerate(recs):
        windows = np.stack(
            [rec[:, s : s + WINDOW] for s in range(0, len(rec[0]) - WINDOW + 1, hop)]
        )
        np.testing.assert_array_equal(windows, window_signal(rec, WINDOW, hop))
        mean_logits = torch.from_numpy(model.predict_windows(windows).mean(axis=0))
        np.testing.assert_allclose(
            pred.probabilities[i], torch.softmax(mean_logits.double(), 0).numpy(), atol=1e-5
        )
        assert pred.labels[i] == CLASSES[int(mean_logits.argmax())] == CLASSES[pred.indices[i]]
    assert pred.class_names == CLASSES
    # the default hop is half a window
    assert model.predict(recs, FS).windows.tolist() == [1 + (n - WINDOW) // 256 for n in lengths]


def test_predict_accepts_arrays_tensors_and_lists_alike():
    torch.manual_seed(3)
    model = tiny_classifier()
    x = tones([0, 1, 2], WINDOW + 256, seed=9)
    a = model.predict(x, FS)
    b = model.predict(torch.from_numpy(x), FS)
    c = model.predict(list(x), FS)
    np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    np.testing.assert_allclose(a.probabilities, c.probabilities, atol=1e-6)
    assert model.training, "predict must restore the training mode"


def test_trained_classifier_predicts_recordings_of_any_length(trained):
    y = np.tile(np.arange(3), 4)
    recs = [
        tones([c], n, seed=200 + i)[0] for i, (c, n) in enumerate(zip(y, [600, 2048, 5000] * 4))
    ]
    pred = trained.predict(recs, FS)
    assert pred.labels == [CLASSES[c] for c in y]
    assert pred.probabilities.max(axis=1).min() > 0.5


def test_prediction_is_the_same_at_twice_the_sample_rate(trained):
    y = np.tile(np.arange(3), 5)
    native = trained.predict(tones(y, 3 * WINDOW, FS, seed=7), FS)
    doubled = trained.predict(tones(y, 6 * WINDOW, 2 * FS, seed=7), 2 * FS)  # same signals, 2x rate
    np.testing.assert_array_equal(native.indices, y)
    np.testing.assert_array_equal(doubled.indices, native.indices)
    np.testing.assert_array_equal(doubled.windows, native.windows)  # resampled to the model's rate
    # the noise differs between the two samplings, so only the decisions are compared exactly
    assert doubled.probabilities[np.arange(len(y)), y].min() > 0.5


def test_predict_errors_name_the_recording():
    model = tiny_classifier()
    good = tones([0], WINDOW)[0]
    with pytest.raises(ValueError, match=r"recording 1: expected shape \[C=3, T\].*got \[2, 512\]"):
        model.predict([good, good[:2]], FS)
    with pytest.raises(ValueError, match=r"recording 0: expected shape"):
        model.predict([good[0]], FS)
    bad = good.copy()
    bad[1, 10] = np.nan
    with pytest.raises(ValueError, match="recording 2: contains NaN or Inf"):
        model.predict([good, good, bad], FS)
    with pytest.raises(
        ValueError, match=r"recording 1: 100 samples at 20000 Hz is shorter than one window \(512"
    ):
        model.predict([good, good[:, :100]], FS)
    # long enough at its own rate, too short once resampled to 20 kHz
    with pytest.raises(ValueError, match=r"recording 0: 300 samples at 20000 Hz is shorter"):
        model.predict([tones([0], 600, 2 * FS)[0]], 2 * FS)
    with pytest.raises(ValueError, match="no recordings given"):
        model.predict([], FS)
