"""Tests of the encoders: 1-D ConvNeXt, Encoder forward/gradients, save/load, timm round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import timm
import torch

from ssl_waveform.models import (
    ConvNeXt1d,
    available_encoders,
    create_convnext1d,
    create_encoder,
    load_encoder,
)
from ssl_waveform.models.config import ArchitectureConfig, EncoderConfig

FS = 20_000.0
T = 2048
REPS_2D = ["stft", "cwt", "fold", "gaf"]


def waves(batch: int = 2, chans: int = 3, length: int = T, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / FS
    base = torch.sin(2 * math.pi * 50.0 * t + torch.rand(batch, chans, 1, generator=g) * 6.28)
    return 10.0 * base + 0.3 * torch.randn(batch, chans, length, generator=g)


def assert_every_parameter_gets_gradient(module: torch.nn.Module) -> None:
    missing = [
        n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert missing == [], f"parameters without gradient: {missing}"


@pytest.mark.parametrize(
    ("name", "representation"),
    [("test_convnext2", r) for r in REPS_2D]
    + [("test_convnext3", "stft"), ("convnext1d_test", "raw"), ("convnext1dv2_test", "raw")],
)
def test_forward_shapes_no_nan_and_gradients(name: str, representation: str) -> None:
    torch.manual_seed(0)
    enc = create_encoder(name, representation, in_chans=3, sample_rate=FS, drop_path_rate=0.1)
    x = waves()
    emb = enc(x)
    assert emb.shape == (2, enc.num_features)
    assert torch.isfinite(emb).all()
    feats = enc.forward_features(x)
    model_input = enc.transform(x)
    if enc.kind == "2d":
        assert feats.shape == (2, enc.num_features, 64 // 32, 64 // 32)
        assert model_input.shape == (2, 3, 64, 64)
    else:
        assert feats.shape == (2, enc.num_features, T // 32)
        assert model_input.shape == (2, 3, T)
    enc.eval()
    assert torch.allclose(enc.forward_input(model_input), enc(x), atol=1e-5)
    enc.train()
    (enc(x).pow(2).sum() + enc.forward_features(x).mean()).backward()
    assert_every_parameter_gets_gradient(enc)
    assert list(enc.transform.parameters()) == []


def test_encoder_attributes_and_config() -> None:
    enc = create_encoder("test_convnext2", "fold", in_chans=3, channel_names=["ia", "ib", "ic"])
    assert enc.kind == "2d" and enc.reduction == 32 and enc.num_features == 128
    cfg = enc.config
    assert cfg.architecture == ArchitectureConfig(
        name="test_convnext2",
        kind="2d",
        in_chans=3,
        drop_path_rate=0.0,
        reduction=32,
        num_features=128,
    )
    assert cfg.representation_name == "fold" and cfg.representation["image_size"] == 64
    assert cfg.normalization["mode"] == "shared_scale"
    assert cfg.channel_names == ["ia", "ib", "ic"] and cfg.sample_rate == FS
    # the JSON form reads back to the same typed config
    assert EncoderConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_encoder_config_files_are_checked_key_by_key(tmp_path) -> None:
    folder = create_encoder("test_convnext2", "fold", in_chans=3).save(tmp_path / "enc")
    data = json.loads((folder / "config.json").read_text())
    for change, match in [
        ({"architecture": {**data["architecture"], "kind": "3d"}}, "architecture.kind"),
        ({"window": "long"}, "window"),
        ({"colour": "red"}, "colour"),
        ({"format_version": 7}, "version 7"),
    ]:
        (folder / "config.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(ValueError, match=match):
            load_encoder(folder)


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(
        KeyError, match=r"unknown encoder 'convnext_nope'.*convnext_atto.*convnext1d_atto"
    ):
        create_encoder("convnext_nope", "stft", 3)
    with pytest.raises(KeyError, match="valid representations: cwt, fold, gaf, raw, stft"):
        create_encoder("test_convnext2", "wigner", 3)
    with pytest.raises(KeyError, match=r"valid names: .*convnext1d_test"):
        create_convnext1d("convnext1d_huge")


def test_representation_must_fit_backbone_kind() -> None:
    with pytest.raises(ValueError, match="use 'raw' with convnext1d"):
        create_encoder("convnext1d_test", "stft", 3)
    with pytest.raises(ValueError, match="use 'raw' with convnext1d"):
        create_encoder("test_convnext2", "raw", 3)


def test_mismatched_channels_give_clear_errors() -> None:
    enc = create_encoder("convnext1d_test", "raw", in_chans=3)
    with pytest.raises(ValueError, match="expected 3 channels on axis 1, got 2"):
        enc(torch.randn(2, 2, T))
    with pytest.raises(ValueError, match=r"takes 3 channels \(\['ch0', 'ch1', 'ch2'\]\), got 1"):
        enc.embed(np.zeros((4, 1, T), dtype=np.float32), FS)
    with pytest.raises(ValueError, match="rank 3"):
        enc.embed(np.zeros((3, T), dtype=np.float32), FS)


def test_registries_cover_requested_variants() -> None:
    names = available_encoders()
    for n in (
        "convnext_atto",
        "convnext_tiny",
        "convnext_base",
        "convnextv2_atto",
        "test_convnext2",
    ):
        assert n in names["2d"]
    for size in ("atto", "femto", "pico", "nano", "tiny"):
        assert f"convnext1d_{size}" in names["1d"] and f"convnext1dv2_{size}" in names["1d"]


def test_convnext1d_mirrors_timm_structure() -> None:
    m1 = create_convnext1d("convnext1dv2_atto", in_chans=3)
    m2 = timm.create_model("convnextv2_atto", num_classes=0, in_chans=3)
    assert set(m1.state_dict()) == set(m2.state_dict())  # same key layout
    assert isinstance(m1, ConvNeXt1d) and m1.num_features == m2.num_features == 320
    block = m1.stages[1].blocks[0]
    for attr in ("conv_dw", "norm", "mlp", "drop_path", "shortcut"):
        assert hasattr(block, attr)
    assert block.conv_dw.kernel_size == (7,) and block.conv_dw.groups == block.conv_dw.in_channels
    assert hasattr(block.mlp, "grn") and block.gamma is None
    v1 = create_convnext1d("convnext1d_atto", in_chans=3).stages[0].blocks[0]
    assert not hasattr(v1.mlp, "grn") and v1.gamma is not None
    assert isinstance(m1.stages[0].downsample, torch.nn.Identity)
    assert m1.stages[1].downsample[1].stride == (2,)
    assert m1.stem[0].kernel_size == (4,) and m1.stem[0].stride == (4,)


@pytest.mark.parametrize(
    ("name", "representation"), [("test_convnext2", "cwt"), ("convnext1dv2_test", "raw")]
)
def test_save_load_round_trip_gives_identical_embeddings(
    tmp_path, name: str, representation: str
) -> None:
    enc = create_encoder(
        name,
        representation,
        in_chans=3,
        normalization="corpus",
        norm_mean=[0.0, 1.0, 2.0],
        norm_std=[1.0, 2.0, 3.0],
    )
    x = waves(batch=5).numpy()
    before = enc.embed(x, FS, batch_size=2)
    folder = enc.save(tmp_path / "enc", provenance={"method": "test"})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_encoder(folder)
    after = loaded.embed(x, FS, batch_size=2)
    np.testing.assert_array_equal(before, after)
    assert loaded.config.provenance["method"] == "test"
    assert loaded.config.normalization["std"] == [1.0, 2.0, 3.0]
    assert before.shape == (5, enc.num_features) and before.dtype == np.float32


def test_saved_2d_weights_load_through_timm_pretrained_cfg_overlay(tmp_path) -> None:
    enc = create_encoder("test_convnext2", "stft", in_chans=2)
    folder = enc.save(tmp_path / "enc")
    model = timm.create_model(
        "test_convnext2",
        pretrained=True,
        pretrained_cfg_overlay=dict(file=str(folder / "model.safetensors")),
        num_classes=0,
        in_chans=2,
    )
    ours = enc.backbone.state_dict()
    theirs = model.state_dict()
    assert set(ours) == set(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    image = enc.transform(waves(chans=2))
    model.eval()
    enc.eval()
    assert torch.allclose(model(image), enc.forward_input(image), atol=1e-6)


def test_init_from_saved_folder_and_architecture_check(tmp_path) -> None:
    src = create_encoder("convnext1d_test", "raw", in_chans=3)
    src.save(tmp_path / "pre")
    tuned = create_encoder(
        "convnext1d_test", "raw", in_chans=3, init=tmp_path / "pre", drop_path_rate=0.2
    )
    for key, value in src.backbone.state_dict().items():
        assert torch.equal(value, tuned.backbone.state_dict()[key])
    with pytest.raises(ValueError, match=r"architecture\.name='convnext1d_test'"):
        create_encoder("convnext1dv2_test", "raw", in_chans=3, init=tmp_path / "pre")
    with pytest.raises(
        FileNotFoundError, match="neither 'scratch', 'imagenet' nor an encoder folder"
    ):
        create_encoder("convnext1d_test", "raw", in_chans=3, init=tmp_path / "nothing")


def test_load_encoder_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        load_encoder(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match=r"expected 'ssl_waveform\.encoder' version 1"):
        load_encoder(tmp_path)


def test_embed_resamples_to_the_encoder_rate() -> None:
    enc = create_encoder("convnext1d_test", "raw", in_chans=1, sample_rate=FS)
    t20 = np.arange(T) / FS
    t40 = np.arange(2 * T) / (2 * FS)
    at20 = np.sin(2 * np.pi * 50 * t20)[None, None].astype(np.float32)
    at40 = np.sin(2 * np.pi * 50 * t40)[None, None].astype(np.float32)
    e20 = enc.embed(at20, FS)
    e40 = enc.embed(at40, 2 * FS)
    np.testing.assert_allclose(e40, e20, atol=0.05)
    assert enc.embed(torch.from_numpy(at20), FS).shape == (1, enc.num_features)
    assert enc.training  # embed restores the mode
