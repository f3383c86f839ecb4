"""Tests for the waveform augmentations and policies (ssl_waveform.augment)."""

from __future__ import annotations

import math

import pytest
import torch

from ssl_waveform.augment import (
    AdditiveNoise,
    AmplitudeScale,
    AugmentationPolicy,
    ChannelGainOffset,
    ChannelPermutation,
    LowPass,
    RandomCrop,
    SpanMask,
    TimeShift,
    TimeWarp,
    create_policy,
    list_policies,
)

ALL = [
    TimeShift,
    RandomCrop,
    TimeWarp,
    SpanMask,
    AmplitudeScale,
    ChannelGainOffset,
    AdditiveNoise,
    LowPass,
    ChannelPermutation,
]


def three_phase(batch: int = 4, length: int = 512, cycles: float = 4.0) -> torch.Tensor:
    """Balanced three-phase sines [B, 3, T] with a random phase per sample."""
    t = torch.arange(length) / length
    phase0 = torch.rand(batch, 1, 1, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    shifts = torch.tensor([0.0, -2 * math.pi / 3, 2 * math.pi / 3]).view(1, 3, 1)
    return torch.sin(2 * math.pi * cycles * t + phase0 + shifts)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("cls", ALL)
def test_shape_dtype_determinism_and_randomness(cls):
    x = three_phase().double()
    aug = cls()
    a, b, c = aug(x, gen(1)), aug(x, gen(1)), aug(x, gen(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.isfinite(a).all()
    assert torch.equal(a, b), "same generator seed must give the same output"
    assert not torch.equal(a, c), "different seeds must give different outputs"
    assert not torch.equal(a, x), "the augmentation must change the input"
    assert not list(aug.parameters()), "augmentations hold no learnable weights"


@pytest.mark.parametrize("cls", ALL)
def test_probability_selects_whole_samples(cls):
    x = three_phase(batch=64)
    assert torch.equal(cls(p=0.0)(x, gen(0)), x)
    out = cls(p=0.5)(x, gen(0))
    changed = (out != x).flatten(1).any(dim=1)
    assert 10 < int(changed.sum()) < 54, "about half of the samples should be augmented"


def test_bad_arguments_fail_loudly():
    with pytest.raises(ValueError, match="p must be"):
        TimeShift(p=1.5)
    with pytest.raises(ValueError, match="monotonic"):
        TimeWarp(max_displacement=0.5)
    with pytest.raises(ValueError, match="cutoff"):
        LowPass(cutoff=(0.5, 0.2))
    with pytest.raises(ValueError, match=r"\[B, C, T\]"):
        AmplitudeScale()(torch.randn(3, 100))


def test_time_shift_is_a_circular_roll_of_all_channels_together():
    x = three_phase(batch=8)
    out = TimeShift(max_fraction=0.5)(x, gen(3))
    for i in range(x.shape[0]):
        matches = [
            s for s in range(x.shape[-1]) if torch.equal(torch.roll(x[i], s, dims=-1), out[i])
        ]
        assert matches, f"sample {i} is not a circular shift of its input"


def test_amplitude_scale_is_one_factor_per_sample_within_bounds():
    x = three_phase(batch=32)
    out = AmplitudeScale(low=0.5, high=2.0)(x, gen(0))
    ratio = out / x
    per_sample = ratio[:, 0, 0]
    torch.testing.assert_close(
        ratio, per_sample.view(-1, 1, 1).expand_as(ratio), rtol=1e-5, atol=1e-5
    )
    assert per_sample.min() >= 0.5 - 1e-6 and per_sample.max() <= 2.0 + 1e-6


def test_channel_gain_offset_stays_within_bounds():
    x = three_phase(batch=16)
    out = ChannelGainOffset(max_gain=0.1, max_offset=0.05)(x, gen(0))
    gain = out.std(dim=-1) / x.std(dim=-1)
    offset = (out.mean(dim=-1) - x.mean(dim=-1) * gain) / x.std(dim=-1)
    assert ((gain - 1).abs() <= 0.1 + 1e-5).all()
    assert (offset.abs() <= 0.05 + 1e-5).all()
    assert gain.std(dim=1).mean() > 0, "gains must differ between channels"


def test_additive_noise_has_the_drawn_snr():
    x = three_phase(batch=64, length=4096)
    out = AdditiveNoise(snr_db=(10.0, 30.0))(x, gen(0))
    noise = out - x
    snr = 20 * torch.log10(x.std(dim=-1) / noise.std(dim=-1))
    assert snr.min() > 9.0 and snr.max() < 31.0
    assert snr.std() > 3.0, "SNR must be drawn per sample"


def test_low_pass_keeps_the_fundamental_and_removes_high_harmonics():
    t = torch.arange(1024) / 1024
    low = torch.sin(2 * math.pi * 8 * t)
    high = torch.sin(2 * math.pi * 400 * t)  # 0.78 of Nyquist
    x = (low + high).view(1, 1, -1).repeat(4, 3, 1)
    out = LowPass(cutoff=(0.2, 0.3), order=6)(x, gen(0))
    spec = torch.fft.rfft(out, dim=-1).abs() / 512
    assert (spec[..., 8] > 0.98).all(), "the fundamental must pass"
    assert (spec[..., 400] < 0.01).all(), "the high harmonic must be removed"


def test_channel_permutation_only_reorders_channels():
    x = torch.randn(16, 4, 64)
    out = ChannelPermutation()(x, gen(0))
    for i in range(16):
        order = [int((x[i] == out[i, c]).all(dim=-1).nonzero()) for c in range(4)]
        assert sorted(order) == [0, 1, 2, 3]


def test_span_mask_hides_short_spans_with_the_channel_mean():
    x = three_phase(batch=16, length=1000)
    out = SpanMask(n_spans=2, max_fraction=0.05)(x, gen(0))
    changed = (out != x).any(dim=1)  # [B, T]
    assert (changed.sum(dim=1) <= 2 * 50 + 2).all()
    assert (changed.sum(dim=1) >= 1).all()
    mean = x.mean(dim=-1, keepdim=True).expand_as(x)
    hidden = changed.unsqueeze(1).expand_as(x)
    torch.testing.assert_close(out[hidden], mean[hidden])


def test_time_warp_and_crop_are_small_smooth_distortions():
    x = three_phase(batch=8, length=1000)
    warped = TimeWarp(max_displacement=0.01)(x, gen(0))
    torch.testing.assert_close(warped[..., 0], x[..., 0])  # fixed end points
    torch.testing.assert_close(warped[..., -1], x[..., -1])
    # a displacement of at most 10 samples on a 250-sample period moves a sine by < 2*pi*10/250
    assert (warped - x).abs().max() < 2 * math.pi * 10 / 250 + 1e-3
    torch.testing.assert_close(RandomCrop(min_scale=1.0)(x, gen(0)), x)


def test_policy_registry_fails_loudly_and_lists_names():
    assert {"default", "light", "none"} <= set(list_policies())
    with pytest.raises(KeyError, match="default"):
        create_policy("strongest")
    with pytest.raises(TypeError, match="WaveformAugmentation"):
        AugmentationPolicy([torch.nn.Identity()])  # type: ignore[list-item]


def test_default_policy_keeps_phase_identity():
    policy = create_policy("default")
    assert not any(isinstance(a, ChannelPermutation) for a in policy.augmentations)
    assert len(policy.augmentations) >= 6


def test_two_views_differ_but_keep_shape():
    x = three_phase(batch=8)
    g = gen(0)
    for name in ("default", "light"):
        policy = create_policy(name)
        v0, v1 = policy(x, g), policy(x, g)
        assert v0.shape == v1.shape == x.shape
        assert not torch.equal(v0, v1)
        assert torch.isfinite(v0).all() and torch.isfinite(v1).all()
    assert torch.equal(create_policy("none")(x, g), x)


def test_invariant_policy_varies_speed_amplitude_and_sensors_but_keeps_phase_identity():
    policy = create_policy("invariant")
    kinds = {type(a) for a in policy.augmentations}
    assert {RandomCrop, AmplitudeScale, ChannelGainOffset, LowPass, AdditiveNoise} <= kinds
    assert ChannelPermutation not in kinds
    crop = next(a for a in policy.augmentations if isinstance(a, RandomCrop))
    assert 1 / crop.min_scale >= 2.0, "two views may differ in speed by 2x or more"
    x = three_phase(batch=16)
    v0, v1 = policy(x, gen(0)), policy(x, gen(1))
    assert v0.shape == x.shape and torch.isfinite(v0).all()
    # amplitude varies across views by more than the default policy's 0.7-1.4 range allows at the extremes
    ratio = v0.pow(2).mean(dim=(1, 2)).sqrt() / x.pow(2).mean(dim=(1, 2)).sqrt()
    assert ratio.max() / ratio.min() > 1.5
    assert not torch.equal(v0, v1)
