"""Layer-wise lr decay: every trainable parameter in one group with the scale of its ConvNeXt layer."""

from __future__ import annotations

import itertools

import pytest
from torch import nn

from ssl_waveform.engine import param_groups
from ssl_waveform.finetune.layer_decay import layer_decay_fn, layer_id
from ssl_waveform.methods.classify import Classifier
from ssl_waveform.models import create_encoder

ENCODERS = {
    "test_convnext": dict(representation="stft", image_size=32),
    "convnext1d_test": dict(representation="raw"),
}


@pytest.fixture(scope="module", params=sorted(ENCODERS))
def model(request):
    kw = ENCODERS[request.param]
    encoder = create_encoder(
        request.param, kw["representation"], 3, image_size=kw.get("image_size")
    )
    return Classifier(encoder, ["a", "b", "c"])


def _expected_scales(model: Classifier, decay: float) -> dict[int, float]:
    """Scale per parameter id, derived from the module tree (not from parameter names)."""
    bb = model.encoder.backbone
    depths = [len(stage.blocks) for stage in bb.stages]
    top = sum(depths) + 1
    expected: dict[int, float] = {}
    for p in bb.stem.parameters():
        expected[id(p)] = decay**top
    layer = 1
    for stage in bb.stages:
        for p in stage.downsample.parameters():
            expected[id(p)] = decay ** (top - layer)  # shares the id of the stage's first block
        for block in stage.blocks:
            for p in block.parameters():
                expected[id(p)] = decay ** (top - layer)
            layer += 1
    assert layer == top
    for p in model.head.parameters():
        expected[id(p)] = 1.0
    for p in model.parameters():  # final norms after the last stage share the last block's layer
        expected.setdefault(id(p), decay)
    return expected


def _scale_of(groups) -> dict[int, float]:
    seen: dict[int, float] = {}
    for g in groups:
        for p in g["params"]:
            assert id(p) not in seen, "a parameter sits in two groups"
            seen[id(p)] = g["lr_scale"]
    return seen


@pytest.mark.parametrize("decay", [0.5, 0.75])
def test_every_parameter_gets_the_scale_of_its_layer(model, decay):
    groups = param_groups(
        model, 0.05, lr_scale_fn=layer_decay_fn(model, model.encoder.backbone, decay)
    )
    got = _scale_of(groups)
    assert set(got) == {id(p) for p in model.parameters()}
    expected = _expected_scales(model, decay)
    names = {id(p): n for n, p in model.named_parameters()}
    wrong = {names[i]: (got[i], expected[i]) for i in got if got[i] != pytest.approx(expected[i])}
    assert not wrong, f"(got, expected) scales: {wrong}"
    top = sum(len(s.blocks) for s in model.encoder.backbone.stages) + 1
    assert got[id(model.encoder.backbone.stem[0].weight)] == pytest.approx(decay**top)
    assert got[id(model.head.weight)] == 1.0
    # the scale never decreases from the input to the head (in named_parameters order)
    scales = [got[id(p)] for p in model.parameters()]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(scales))


def test_groups_also_split_weight_decay(model):
    groups = param_groups(
        model, 0.05, lr_scale_fn=layer_decay_fn(model, model.encoder.backbone, 0.6)
    )
    for g in groups:
        if g["weight_decay"] == 0.05:
            assert all(p.ndim > 1 for p in g["params"])
        else:
            assert g["weight_decay"] == 0.0
    keys = [(g["weight_decay"], g["lr_scale"]) for g in groups]
    assert len(keys) == len(set(keys))


def test_decay_one_is_uniform_and_frozen_encoder_leaves_only_the_head(model):
    groups = param_groups(
        model, 0.05, lr_scale_fn=layer_decay_fn(model, model.encoder.backbone, 1.0)
    )
    assert {g["lr_scale"] for g in groups} == {1.0}
    model.freeze_encoder(True)
    try:
        groups = param_groups(
            model, 0.05, lr_scale_fn=layer_decay_fn(model, model.encoder.backbone, 0.5)
        )
        assert _scale_of(groups) == {id(model.head.weight): 1.0, id(model.head.bias): 1.0}
    finally:
        model.freeze_encoder(False)


def test_block_j_of_stage_i_layer_ids():
    depths = [2, 2, 6, 2]
    assert layer_id("encoder.backbone.stem.0.weight", depths) == 0
    assert layer_id("encoder.backbone.stages.0.blocks.0.conv_dw.weight", depths) == 1
    assert layer_id("encoder.backbone.stages.0.blocks.1.gamma", depths) == 2
    assert layer_id("encoder.backbone.stages.2.downsample.1.weight", depths) == 5
    assert layer_id("encoder.backbone.stages.2.blocks.5.mlp.fc2.bias", depths) == 10
    assert layer_id("encoder.backbone.stages.3.blocks.1.norm.weight", depths) == 12
    assert layer_id("encoder.backbone.head.norm.weight", depths) == 12
    assert layer_id("head.weight", depths) == 13


def test_errors():
    enc = create_encoder("convnext1d_test", "raw", 3)
    with pytest.raises(ValueError, match=r"layer decay must be in \(0, 1\], got 1.5"):
        layer_decay_fn(enc, enc.backbone, 1.5)
    with pytest.raises(ValueError, match=r"Linear has no 'stages'"):
        layer_decay_fn(enc, nn.Linear(2, 2), 0.5)
