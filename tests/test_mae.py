"""Tests for the FCMAE-style masked autoencoder and its masked-reconstruction loss."""

from __future__ import annotations

import math

import pytest
import torch

from ssl_waveform.augment import create_policy
from ssl_waveform.losses import MaskedReconstructionLoss
from ssl_waveform.methods import MaskedAutoencoder, make_mask, upsample_mask
from ssl_waveform.models import create_encoder


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def three_phase(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    """Three-phase currents [B, 3, T] with random frequency, phase, amplitude and a harmonic."""
    g = gen(seed)
    t = torch.arange(length) / 20_000.0
    f = 50 + 20 * torch.rand(batch, 1, 1, generator=g)
    phase = 2 * math.pi * torch.rand(batch, 1, 1, generator=g)
    amp = 1 + torch.rand(batch, 1, 1, generator=g)
    shifts = torch.tensor([0.0, -2 * math.pi / 3, 2 * math.pi / 3]).view(1, 3, 1)
    angle = 2 * math.pi * f * t * 10 + phase + shifts  # ~ 5 periods in a short window
    return amp * (torch.sin(angle) + 0.2 * torch.sin(5 * angle))


def encoder_1d(window: int = 512):
    torch.manual_seed(0)
    return create_encoder("convnext1dv2_test", "raw", 3, window=window)


def encoder_2d():
    torch.manual_seed(0)
    return create_encoder("test_convnext", "stft", 3, window=512, image_size=64)


# ---------------------------------------------------------------- loss


def test_loss_ignores_visible_cells():
    g = gen(0)
    pred, target = torch.randn(2, 3, 8, 32, generator=g), torch.randn(2, 3, 8, 32, generator=g)
    mask = torch.rand(2, 3, 8, generator=g) < 0.5
    loss_fn = MaskedReconstructionLoss()
    base = loss_fn(pred, target, mask)
    changed_visible = torch.where(mask.unsqueeze(-1), pred, torch.full_like(pred, float("nan")))
    assert torch.equal(loss_fn(changed_visible, target, mask), base)
    changed_hidden = torch.where(mask.unsqueeze(-1), pred + 1.0, pred)
    assert loss_fn(changed_hidden, target, mask) != base


def test_loss_equals_a_naive_per_cell_computation():
    g = gen(1)
    pred = torch.randn(2, 2, 5, 16, generator=g)
    target = 3 + 2 * torch.randn(2, 2, 5, 16, generator=g)
    mask = torch.rand(2, 2, 5, generator=g) < 0.6
    total, count = 0.0, 0
    for idx in mask.nonzero().tolist():
        t = target[tuple(idx)]
        t = (t - t.mean()) / torch.sqrt(t.var(unbiased=False) + 1e-6)
        total += ((pred[tuple(idx)] - t) ** 2).mean().item()
        count += 1
    assert MaskedReconstructionLoss()(pred, target, mask).item() == pytest.approx(
        total / count, rel=1e-5
    )
    raw = ((pred - target) ** 2).mean(-1)[mask].mean()
    torch.testing.assert_close(MaskedReconstructionLoss(norm_target=False)(pred, target, mask), raw)


def test_loss_validates_its_arguments():
    loss_fn = MaskedReconstructionLoss()
    with pytest.raises(ValueError, match="same shape"):
        loss_fn(
            torch.zeros(1, 2, 4, 8), torch.zeros(1, 2, 4, 9), torch.ones(1, 2, 4, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match="mask must be bool"):
        loss_fn(torch.zeros(1, 2, 4, 8), torch.zeros(1, 2, 4, 8), torch.ones(1, 2, 4))
    with pytest.raises(ValueError, match="hides no cell"):
        loss_fn(
            torch.zeros(1, 2, 4, 8), torch.zeros(1, 2, 4, 8), torch.zeros(1, 2, 4, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match="eps"):
        MaskedReconstructionLoss(eps=0.0)


# ---------------------------------------------------------------- method


@pytest.mark.parametrize("make_encoder", [encoder_1d, encoder_2d], ids=["1d", "2d"])
@pytest.mark.parametrize("masking", ["random", "time", "channel"])
@pytest.mark.parametrize("mask_cell", [None, 32], ids=["fine", "stride"])
def test_step_is_finite_and_every_parameter_learns(make_encoder, masking, mask_cell):
    mae = MaskedAutoencoder(make_encoder(), masking=masking, decoder_dim=32, mask_cell=mask_cell)
    assert mae.sparse == (mae.cell == 32)
    out = mae({"x": three_phase(4, 512)})
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    # the stride-cell (FCMAE) path fills hidden cells in the decoder, the fine-cell (SimMIM) path
    # after the stem; channel masking hides no cell in every channel, so neither token is used
    unused = {"mask_token" if mae.sparse else "decoder.mask_token"}
    if masking == "channel":
        unused |= {"mask_token", "decoder.mask_token"}
    for name, p in mae.named_parameters():
        # the pooled-embedding head (norm after global pooling) is not part of the MAE path
        if name in unused or name.startswith("encoder.backbone.head."):
            assert p.grad is None or not p.grad.any()
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} gets no gradient"


def test_mask_ratio_is_exact_on_the_mask_grid():
    mae = MaskedAutoencoder(encoder_1d(window=640), mask_ratio=0.6)
    assert mae.cell == 8  # 640 / 32 = 20 cells is too coarse; 640 / 8 = 80 cells is the first >= 64
    out = mae({"x": three_phase(3, 640)})
    assert out["mask_ratio"].item() == pytest.approx(round(0.6 * 80) / 80)


@pytest.mark.parametrize(
    ("make_encoder", "cell", "cells"),
    [(encoder_1d, 8, 64), (encoder_2d, 8, 64), (lambda: encoder_1d(window=2048), 32, 64)],
    ids=["1d-512", "2d-64px", "1d-2048"],
)
def test_default_grid_has_at_least_64_cells(make_encoder, cell, cells):
    mae = MaskedAutoencoder(make_encoder(), decoder_dim=32)
    window = int(mae.encoder.config.window)
    mask = make_mask(mae.prepare_input(three_phase(2, window)), mae.cell, 0.6)
    assert mae.cell == cell and math.prod(mask.shape[2:]) == cells


def test_method_loss_ignores_predictions_on_visible_cells():
    mae = MaskedAutoencoder(encoder_2d(), decoder_dim=32)
    x = mae.prepare_input(three_phase(4, 512))
    mask = make_mask(x, mae.cell, mae.mask_ratio, "random", gen(0))
    latent, visible = mae.forward_encoder(x, mask)
    pred = mae.forward_decoder(latent, visible, tuple(x.shape[2:]))
    hidden = mask.flatten(2).unsqueeze(-1)
    junk = torch.where(hidden, pred, 1e3 * torch.randn_like(pred))
    assert torch.equal(mae.forward_loss(x, junk, mask), mae.forward_loss(x, pred, mask))


@pytest.mark.parametrize("make_encoder", [encoder_1d, encoder_2d], ids=["1d", "2d"])
@pytest.mark.parametrize("masking", ["random", "channel"])
@pytest.mark.parametrize("mask_cell", [None, 16, 32], ids=["default", "16", "stride"])
def test_encoder_ignores_the_hidden_input(make_encoder, masking, mask_cell):
    mae = MaskedAutoencoder(
        make_encoder(), masking=masking, decoder_dim=32, mask_cell=mask_cell
    ).eval()
    x = mae.prepare_input(three_phase(4, 512))
    mask = make_mask(x, mae.cell, mae.mask_ratio, masking, gen(2))
    hidden = upsample_mask(mask, tuple(x.shape[2:]))
    perturbed = torch.where(hidden, 100 * torch.randn_like(x), x)
    with torch.no_grad():
        latent, visible = mae.forward_encoder(x, mask)
        latent_p, _ = mae.forward_encoder(perturbed, mask)
    torch.testing.assert_close(latent_p, latent)
    keep = visible.unsqueeze(1).expand_as(latent)
    assert latent[keep].abs().sum() > 0 and not latent[~keep].any()


def test_loss_decreases_on_a_tiny_corpus():
    torch.manual_seed(0)
    mae = MaskedAutoencoder(encoder_1d(window=256), decoder_dim=32)
    corpus = three_phase(8, 256, seed=3)
    opt = torch.optim.AdamW(mae.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = mae({"x": corpus})["loss"]  # a fresh random mask every step
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.75 * first, f"loss went from {first:.3f} to {last:.3f}"


def test_reconstruct_returns_input_shaped_tensors_that_keep_visible_cells():
    mae = MaskedAutoencoder(encoder_1d(window=500), decoder_dim=32)
    out = mae.reconstruct(three_phase(2, 500), generator=gen(0))
    assert out["input"].shape == out["mask"].shape == out["reconstruction"].shape == (2, 3, 512)
    visible = ~out["mask"]
    assert torch.equal(out["reconstruction"][visible], out["input"][visible])
    assert torch.isfinite(out["reconstruction"]).all()


def test_bad_settings_fail_loudly():
    enc = encoder_1d()
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedAutoencoder(enc, mask_ratio=1.0)
    with pytest.raises(KeyError, match="channel, random, time"):
        MaskedAutoencoder(enc, masking="blocks")
    with pytest.raises(ValueError, match="divisor of the encoder's total stride 32"):
        MaskedAutoencoder(enc, mask_cell=12)
    with pytest.raises(ValueError, match="multiple of the stem's stride 4"):
        MaskedAutoencoder(enc, mask_cell=2)


def test_overlapping_stem_needs_stride_cells_and_says_so():
    import timm

    enc = encoder_2d()
    enc.backbone = timm.create_model(
        "test_convnext", num_classes=0, in_chans=3, stem_type="overlap"
    )
    with pytest.raises(ValueError, match="pass mask_cell=32"):
        MaskedAutoencoder(enc, decoder_dim=32)  # 64x64 needs cells finer than the stride
    assert MaskedAutoencoder(enc, decoder_dim=32, mask_cell=32).sparse


class _Recorder(torch.nn.Module):
    """A stand-in policy that flips the sign of the waveform and counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        self.calls += 1
        return -x


def test_augment_changes_what_mae_reconstructs_from_in_training_only():
    mae = MaskedAutoencoder(encoder_2d(), mask_ratio=0.6)
    assert len(mae.augment.augmentations) == 0, "no augmentation by default"
    recorder = _Recorder()
    mae.augment = recorder  # type: ignore[assignment]
    x = three_phase(4, 512)
    mae.train()
    torch.manual_seed(0)
    loss = mae({"x": x})["loss"]
    assert recorder.calls == 1 and torch.isfinite(loss)
    # same masks (same seed): the loss on the sign-flipped input equals the loss of -x without augmentation
    mae.augment = create_policy("none")  # type: ignore[assignment]
    torch.manual_seed(0)
    torch.testing.assert_close(mae({"x": -x})["loss"], loss)
    mae.augment = recorder  # type: ignore[assignment]
    mae.eval()
    mae({"x": x})
    assert recorder.calls == 1, "evaluation reconstructs the waveform as given"


def test_invariant_augmentation_gives_a_finite_mae_step():
    mae = MaskedAutoencoder(encoder_2d(), mask_ratio=0.6, augment="invariant").train()
    out = mae({"x": three_phase(4, 512)})
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    assert all(p.grad is not None for p in mae.decoder.parameters())
