"""Tests of the waveform representations, normalisation and fundamental estimation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from ssl_waveform.transforms import (
    WaveformNormalization,
    available_transforms,
    create_pipeline,
    create_transform,
    estimate_fundamental,
    warn_if_mixed_units,
)

FS = 20_000.0
T = 2048


def three_phase(
    f0: float, amplitude: float = 1.0, batch: int = 1, harmonic: float = 0.2
) -> torch.Tensor:
    """Balanced three-phase currents ``[batch, 3, T]`` with a 5th harmonic."""
    t = torch.arange(T, dtype=torch.float64) / FS
    phases = [0.0, -2 * math.pi / 3, 2 * math.pi / 3]
    rows = [
        torch.sin(2 * math.pi * f0 * t + p) + harmonic * torch.sin(5 * (2 * math.pi * f0 * t + p))
        for p in phases
    ]
    return (amplitude * torch.stack(rows)).float().expand(batch, -1, -1).clone()


def test_registry_lists_all_and_rejects_unknown_names() -> None:
    assert available_transforms() == ["cwt", "fold", "gaf", "raw", "stft"]
    with pytest.raises(KeyError, match="valid representations: cwt, fold, gaf, raw, stft"):
        create_transform("mel", in_chans=3)


@pytest.mark.parametrize("name", ["stft", "cwt", "fold", "gaf", "raw"])
def test_shapes_finite_and_output_shape(name: str) -> None:
    tr = create_pipeline(name, in_chans=3, sample_rate=FS)
    x = torch.randn(4, 3, T) * 50.0
    y = tr(x)
    assert tuple(y.shape[1:]) == tr.output_shape(3, T)
    assert y.shape[0] == 4
    assert torch.isfinite(y).all()
    assert list(tr.parameters()) == []  # transforms hold no learnable weights
    expected = (3, T) if name == "raw" else (3, 64, 64)
    assert tr.output_shape(3, T) == expected


@pytest.mark.parametrize("name", ["stft", "cwt", "fold", "gaf", "raw"])
def test_scale_invariance_with_per_sample_normalisation(name: str) -> None:
    """A 2 A and a 200 A current with the same shape give the same model input."""
    tr = create_pipeline(name, in_chans=3, sample_rate=FS)
    x = three_phase(50.0)
    np.testing.assert_allclose(tr(2.0 * x).numpy(), tr(200.0 * x).numpy(), atol=2e-4)


@pytest.mark.parametrize("name", ["stft", "cwt", "fold", "gaf", "raw"])
def test_bad_rank_and_channel_count_give_clear_errors(name: str) -> None:
    tr = create_pipeline(name, in_chans=3)
    with pytest.raises(ValueError, match=r"rank 3.*got shape \(3, 2048\)"):
        tr(torch.randn(3, T))
    with pytest.raises(ValueError, match="expected 3 channels on axis 1, got 2"):
        tr(torch.randn(1, 2, T))


def test_image_size_must_be_multiple_of_32() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        create_transform("stft", in_chans=1, image_size=48)
    assert create_transform("gaf", in_chans=1, image_size=128)(torch.randn(1, 1, T)).shape == (
        1,
        1,
        128,
        128,
    )


def test_normalisation_modes() -> None:
    x = torch.randn(5, 3, 256) * torch.tensor([1.0, 10.0, 100.0]).view(1, 3, 1) + 7.0
    per = WaveformNormalization("per_sample", 3)(x)
    np.testing.assert_allclose(per.mean(-1).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(per.std(-1, unbiased=False).numpy(), 1.0, atol=1e-4)
    shared = WaveformNormalization("per_sample_shared", 3)(x)
    ratio = shared.std(-1) / shared.std(-1)[:, :1]
    np.testing.assert_allclose(ratio.numpy(), (x.std(-1) / x.std(-1)[:, :1]).numpy(), rtol=1e-4)
    scaled = WaveformNormalization("shared_scale", 3)(x)
    factor = x / scaled  # one positive factor per sample: offsets and ratios survive
    np.testing.assert_allclose(factor.numpy(), factor[:, :1, :1].expand_as(x).numpy(), rtol=1e-4)
    np.testing.assert_allclose(scaled.pow(2).mean(dim=(1, 2)).numpy(), 1.0, rtol=1e-4)
    corpus = WaveformNormalization("corpus", 3, mean=[7.0, 7.0, 7.0], std=[1.0, 10.0, 100.0])(x)
    np.testing.assert_allclose(
        corpus.numpy(),
        ((x - 7.0) / torch.tensor([1.0, 10.0, 100.0]).view(1, 3, 1)).numpy(),
        rtol=1e-5,
    )
    assert torch.equal(WaveformNormalization("none", 3)(x), x)
    with pytest.raises(
        ValueError, match="valid modes: none, per_sample, per_sample_shared, shared_scale, corpus"
    ):
        WaveformNormalization("minmax", 3)
    with pytest.raises(ValueError, match="needs per-channel mean= and std="):
        WaveformNormalization("corpus", 3)


@pytest.mark.parametrize("f0", [20.0, 33.3, 50.0, 60.0, 77.0, 100.0])
def test_fundamental_estimate_matches_truth(f0: float) -> None:
    x = three_phase(f0) + 0.05 * torch.randn(1, 3, T, generator=torch.Generator().manual_seed(0))
    est, found = estimate_fundamental(x, FS)
    assert bool(found.item())
    assert abs(est.item() - f0) / f0 < 0.005


@pytest.mark.parametrize("f0", [5.0, 10.0])
def test_fundamental_not_found_with_under_one_and_a_half_periods(f0: float) -> None:
    est, found = estimate_fundamental(three_phase(f0), FS)
    assert not bool(found.item()) and math.isnan(est.item())


def test_fundamental_not_found_in_noise() -> None:
    _, found = estimate_fundamental(
        torch.randn(8, 3, T, generator=torch.Generator().manual_seed(1)), FS
    )
    assert not found.any()


def test_fold_rows_line_up_whatever_the_frequency() -> None:
    """Every row of the fold is one period starting at the same electrical angle."""
    fold = create_transform("fold", in_chans=3, sample_rate=FS)
    images = []
    for f0 in (40.0, 50.0, 73.0):
        x = three_phase(f0, harmonic=0.0)
        img = fold(x / x.std(-1, keepdim=True))[0, 0]
        # rows agree with each other (periodic structure lines up vertically)
        assert (img - img.mean(0, keepdim=True)).abs().max() < 0.05
        images.append(img[0])
    # and the row is the same waveform of angle at every frequency: a sine starting at its rising zero
    angle = (torch.arange(64) + 0.5) / 64 * 2 * math.pi
    for row in images:
        expected = math.sqrt(2) * torch.sin(angle) * torch.sinc(torch.tensor(1 / 64))
        np.testing.assert_allclose(row.numpy(), expected.numpy(), atol=0.06)


def test_fold_falls_back_to_fixed_length_rows() -> None:
    fold = create_transform("fold", in_chans=1, sample_rate=FS)
    ramp = torch.arange(T, dtype=torch.float32).view(1, 1, T)  # aperiodic
    period, start, found = fold.periods(ramp)
    assert not found.item() and period.item() == 64.0 and start.item() == 0.0
    img = fold(ramp)[0, 0]
    # fixed-length fold of a ramp: 32 rows of 64 samples (each pixel = one sample, zero-order hold),
    # each row repeated twice in the 64 image rows
    np.testing.assert_allclose(img[0].numpy(), np.arange(64), atol=1e-2)
    np.testing.assert_allclose(img[2].numpy(), np.arange(64, 128), atol=1e-2)
    assert torch.equal(img[0], img[1])


def test_stft_peak_at_sinusoid_frequency() -> None:
    stft = create_transform("stft", in_chans=1, sample_rate=FS, n_fft=256, image_size=64)
    t = torch.arange(T) / FS
    img = stft(torch.sin(2 * math.pi * 2500.0 * t).view(1, 1, T))[0, 0]
    peak_row = img.mean(-1).argmax().item()
    assert abs((peak_row + 0.5) / 64 * FS / 2 - 2500.0) < FS / 2 / 64 * 1.5


def test_cwt_peak_row_at_centre_frequency() -> None:
    cwt = create_transform("cwt", in_chans=1, sample_rate=FS)
    t = torch.arange(T) / FS
    for f in (100.0, 1000.0, 5000.0):
        img = cwt(torch.sin(2 * math.pi * f * t).view(1, 1, T))[0, 0]
        centre = cwt.center_frequencies[img.mean(-1).argmax()].item()
        assert abs(math.log(centre / f)) < math.log(1.1)


def test_cwt_matches_direct_convolution() -> None:
    """The folded-spectrum shortcut equals a full-length inverse FFT sampled at the same points."""
    cwt = create_transform(
        "cwt", in_chans=1, sample_rate=FS, image_size=32, oversample=1, f_min=200.0
    )
    x = torch.randn(
        1, 1, 1024, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    ).float()
    hop = 1024 // 32
    pad = (512 // hop) * hop
    padded = torch.nn.functional.pad(x, (pad, 512 + (-(pad + 1024 + 512)) % hop), mode="reflect")
    full = torch.fft.ifft(
        torch.fft.fft(padded) * cwt._filters(padded.shape[-1], x.device)
    )  # [1, S, N]
    direct = full[..., pad : pad + 1024 : hop].abs()
    from ssl_waveform.transforms import db_unit_scale

    np.testing.assert_allclose(
        cwt(x)[0].numpy(), db_unit_scale(direct, cwt.top_db).numpy(), atol=1e-4
    )


def test_gaf_is_symmetric_with_unit_diagonal_extremes() -> None:
    gaf = create_transform("gaf", in_chans=2)
    img = gaf(torch.randn(3, 2, T))
    assert torch.allclose(img, img.transpose(-1, -2), atol=1e-6)
    diag = torch.diagonal(img, dim1=-2, dim2=-1)  # cos(2 phi) = 2 x^2 - 1
    assert diag.max() <= 1.0 + 1e-6 and diag.min() >= -1.0 - 1e-6


def test_pipeline_computes_in_float32_under_autocast() -> None:
    pipe = create_pipeline("cwt", in_chans=3)
    x = torch.randn(2, 3, T, generator=torch.Generator().manual_seed(4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = pipe(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y, pipe(x), atol=1e-6)


def test_shared_scale_warns_on_channels_of_mixed_units() -> None:
    with pytest.warns(UserWarning, match=r"vdc \[V\].*use normalization='per_sample'"):
        warn_if_mixed_units("shared_scale", ["ia", "vdc"], ["A", "V"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_mixed_units("shared_scale", ["ia", "ib", "ic"], ["A", "A", "A"])
        warn_if_mixed_units("per_sample", ["ia", "vdc"], ["A", "V"])
