"""Tests for cell masks, patchify helpers and the sparse-emulating ConvNeXt forward."""

from __future__ import annotations

import math

import pytest
import timm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from timm.layers import LayerNorm2d

import ssl_waveform.methods.sparse as sparse
from ssl_waveform.methods import (
    default_mask_cell,
    fit_to_cells,
    list_masking,
    make_mask,
    masked_forward_features,
    patchify,
    patchify_stem_stride,
    token_masked_forward_features,
    unpatchify,
    upsample_mask,
)
from ssl_waveform.models import create_convnext1d


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("grid", [(4, 6), (10,), (2, 5)])
@pytest.mark.parametrize("ratio", [0.25, 0.6, 0.75])
def test_random_mask_ratio_is_exact_and_shared_by_channels(grid, ratio):
    x = torch.zeros(8, 3, *(g * 32 for g in grid))
    mask = make_mask(x, 32, ratio, "random", gen(0))
    units = math.prod(grid)
    assert mask.shape == (8, 3, *grid) and mask.dtype == torch.bool
    assert (mask.flatten(2).sum(dim=2) == round(ratio * units)).all()
    assert (mask == mask[:, :1]).all(), "random masking hides the same cells in every channel"
    assert not torch.equal(mask[0], mask[1]), "each sample gets its own mask"


def test_time_mask_hides_whole_columns():
    x = torch.zeros(8, 2, 4 * 32, 10 * 32)
    mask = make_mask(x, 32, 0.6, "time", gen(0))
    assert (mask == mask[:, :, :1, :]).all(), "a hidden time column spans all rows"
    assert (mask == mask[:, :1]).all()
    assert (mask[:, 0, 0].sum(dim=1) == 6).all()


def test_channel_mask_hides_whole_channels():
    x = torch.zeros(16, 3, 4 * 32)
    mask = make_mask(x, 32, 0.3, "channel", gen(0))
    per_channel = mask.all(dim=2)
    assert (mask == mask[:, :, :1]).all(), "a hidden channel is hidden everywhere"
    assert (per_channel.sum(dim=1) == 1).all()
    with pytest.raises(ValueError, match="2 channels"):
        make_mask(torch.zeros(2, 1, 64), 32, 0.5, "channel")


def test_masks_are_deterministic_under_a_generator():
    x = torch.zeros(4, 3, 64, 128)
    for name in list_masking():
        assert torch.equal(make_mask(x, 32, 0.6, name, gen(5)), make_mask(x, 32, 0.6, name, gen(5)))


def test_bad_masking_requests_fail_loudly():
    x = torch.zeros(2, 3, 64, 64)
    with pytest.raises(KeyError, match="channel, random, time"):
        make_mask(x, 32, 0.6, "block")
    with pytest.raises(ValueError, match="multiple of the cell size"):
        make_mask(torch.zeros(2, 3, 64, 70), 32, 0.6)
    with pytest.raises(ValueError, match="at least one must be hidden and one"):
        make_mask(torch.zeros(2, 3, 64), 32, 0.9)


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(1, 5),
    grid=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    cell=st.sampled_from([2, 4, 32]),
)
def test_patchify_round_trips_for_any_channels_and_shape(channels, grid, cell):
    spatial = tuple(g * cell for g in grid)
    x = torch.randn(2, channels, *spatial)
    cells = patchify(x, cell)
    assert cells.shape == (2, channels, math.prod(grid), cell ** len(grid))
    assert torch.equal(unpatchify(cells, cell, spatial), x)


def test_patchify_cell_order_matches_the_grid():
    x = torch.randn(2, 3, 64, 96)
    cells = patchify(x, 32)
    # cell 4 in row-major order on a 2 x 3 grid is row 1, column 1
    assert torch.equal(cells[1, 2, 4], x[1, 2, 32:64, 32:64].reshape(-1))
    m = torch.zeros(2, 1, 2, 3, dtype=torch.bool)
    m[0, 0, 1, 2] = True
    up = upsample_mask(m, (64, 96))
    assert up[0, 0, 32:, 64:].all() and up.sum() == 32 * 32


def test_fit_to_cells_pads_only_what_is_missing():
    x = torch.randn(2, 3, 100)
    out = fit_to_cells(x, 32)
    assert out.shape == (2, 3, 128)
    assert torch.equal(out[..., :100], x) and not out[..., 100:].any()
    assert fit_to_cells(torch.randn(1, 2, 64, 64), 32).shape == (1, 2, 64, 64)


# layer scale 1 (not timm's 1e-6 init) so that a leak through the blocks would show
BACKBONES = {
    "v1_linear_mlp": dict(ls_init_value=1.0),
    "v2_grn": dict(use_grn=True, ls_init_value=1.0),
    "v2_grn_conv_mlp": dict(use_grn=True, ls_init_value=1.0, conv_mlp=True),
    "1d_v1": "convnext1d_test",
    "1d_v2": "convnext1dv2_test",
}


def backbone(kind: str, in_chans: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    spec = BACKBONES[kind]
    if isinstance(spec, str):
        model = create_convnext1d(spec, in_chans=in_chans)
    else:
        model = timm.create_model("test_convnext", in_chans=in_chans, num_classes=0, **spec)
    for name, p in model.named_parameters():
        # timm initialises GRN to the identity and layer scale to 1e-6; make them act as trained
        if ".grn." in name:
            torch.nn.init.normal_(p, std=0.5)
        if name.endswith("gamma"):
            torch.nn.init.ones_(p)
    return model.eval()


def model_input(kind: str) -> torch.Tensor:
    """[2, 2, 128, 96] images for 2-D backbones, [2, 2, 384] sequences for 1-D ones."""
    shape = (2, 2, 384) if kind.startswith("1d") else (2, 2, 128, 96)
    return torch.randn(*shape, generator=gen(7))


@pytest.mark.parametrize("kind", sorted(BACKBONES))
def test_all_visible_equals_the_plain_forward(kind):
    model = backbone(kind)
    x = model_input(kind)
    visible = torch.ones(2, *(d // 32 for d in x.shape[2:]), dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(
            masked_forward_features(model, x, visible), model.forward_features(x)
        )


def _hidden_noise_hooks(model: torch.nn.Module, visible: torch.Tensor) -> list:
    """Hooks that write large noise into every hidden position after each block's norm layer."""
    handles = []

    def hook(module, inputs, output):
        channels_last = not isinstance(module, LayerNorm2d)
        spatial = output.shape[1:-1] if channels_last else output.shape[2:]
        hidden = ~upsample_mask(visible.unsqueeze(1), tuple(spatial))  # [B, 1, *S]
        if channels_last:
            hidden = hidden.movedim(1, -1)
        return torch.where(hidden, 100 * torch.randn_like(output), output)

    for stage in model.stages:
        for block in stage.blocks:
            handles.append(block.norm.register_forward_hook(hook))
    return handles


@pytest.mark.parametrize("kind", sorted(BACKBONES))
def test_hidden_positions_do_not_leak_into_visible_ones(kind):
    model = backbone(kind)
    x = model_input(kind)
    visible = make_mask(x, 32, 0.5, "random", gen(1))[:, 0].logical_not()
    hidden_in = ~upsample_mask(visible.unsqueeze(1), tuple(x.shape[2:])).expand_as(x)
    perturbed = torch.where(hidden_in, 50 * torch.randn_like(x), x)
    with torch.no_grad():
        reference = masked_forward_features(model, x, visible)
        handles = _hidden_noise_hooks(model, visible)
        out = masked_forward_features(model, perturbed, visible)
        for h in handles:
            h.remove()
    keep = visible.unsqueeze(1).expand_as(out)
    torch.testing.assert_close(out[keep], reference[keep])
    assert not out[~keep].any(), "hidden cells of the feature map are zero"
    with torch.no_grad():
        dense_gap = (
            (model.forward_features(perturbed) - model.forward_features(x))[keep].abs().max()
        )
    assert dense_gap > 1e-2, "the plain forward does leak, so the test is sensitive"


@pytest.mark.parametrize("kind", ["v2_grn", "1d_v2"])
def test_grn_statistics_ignore_hidden_positions(monkeypatch, kind):
    model = backbone(kind)
    x = model_input(kind)
    visible = make_mask(x, 32, 0.5, "random", gen(1))[:, 0].logical_not()
    keep = visible.unsqueeze(1)
    with torch.no_grad():
        reference = masked_forward_features(model, x, visible)
        handles = _hidden_noise_hooks(model, visible)
        # a GRN that takes its statistics over every position must be caught
        original = sparse.masked_grn
        monkeypatch.setattr(
            sparse,
            "masked_grn",
            lambda grn, y, keep, channel_dim: original(grn, y, torch.ones_like(keep), channel_dim),
        )
        leaky = masked_forward_features(model, x, visible)
        for h in handles:
            h.remove()
    gap = (leaky - reference)[keep.expand_as(reference)].abs().max()
    assert gap > 1e-3


@pytest.mark.parametrize(
    ("spatial", "cell"),
    [((64, 64), 8), ((128, 128), 16), ((256, 256), 32), ((2048,), 32), ((512,), 8), ((32,), 4)],
)
def test_default_mask_cell_is_the_largest_with_64_cells(spatial, cell):
    assert default_mask_cell(spatial, stride=32, stem_stride=4) == cell
    if cell > 4:
        assert math.prod(s // cell for s in spatial) >= 64
        assert math.prod(s // (2 * cell) for s in spatial) < 64 or cell == 32


def _token(model: torch.nn.Module) -> torch.Tensor:
    width = model.stem[0].out_channels
    nd = model.stem[0].weight.ndim - 2
    return torch.randn(1, width, *(1,) * nd, generator=gen(3))


@pytest.mark.parametrize("kind", sorted(BACKBONES))
def test_token_masking_all_visible_equals_the_plain_forward(kind):
    model = backbone(kind)
    x = model_input(kind)
    assert patchify_stem_stride(model) == 4
    visible = torch.ones(2, *(d // 8 for d in x.shape[2:]), dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(
            token_masked_forward_features(model, x, visible, _token(model)),
            model.forward_features(x),
        )


@pytest.mark.parametrize("kind", sorted(BACKBONES))
@pytest.mark.parametrize("cell", [4, 8, 16])
def test_token_masking_hidden_cells_cannot_change_the_output(kind, cell):
    model = backbone(kind)
    x = model_input(kind)
    visible = make_mask(x, cell, 0.6, "random", gen(1))[:, 0].logical_not()
    hidden_in = ~upsample_mask(visible.unsqueeze(1), tuple(x.shape[2:])).expand_as(x)
    perturbed = torch.where(hidden_in, 50 * torch.randn_like(x), x)
    token = _token(model)
    with torch.no_grad():
        reference = token_masked_forward_features(model, x, visible, token)
        out = token_masked_forward_features(model, perturbed, visible, token)
        dense_gap = (model.forward_features(perturbed) - model.forward_features(x)).abs().max()
        other_token = token_masked_forward_features(model, x, visible, token + 1.0)
    torch.testing.assert_close(out, reference)
    assert dense_gap > 1e-2, "the plain forward does see the hidden cells, so the test is sensitive"
    assert not torch.allclose(other_token, reference), "hidden cells enter as the mask token"


def test_token_masking_needs_a_patchify_stem():
    model = timm.create_model("test_convnext", num_classes=0, stem_type="overlap")
    with pytest.raises(ValueError, match="patchify stem"):
        patchify_stem_stride(model)
