"""A native 1-D ConvNeXt (v1 and v2) mirroring the module structure of timm's 2-D ConvNeXt.

Attribute names follow ``timm.models.convnext`` (``stem``, ``stages[i].downsample``,
``stages[i].blocks[j].conv_dw / norm / mlp.fc1 / mlp.act / mlp.grn / mlp.fc2 / gamma / drop_path /
shortcut``, ``norm_pre``, ``head.norm``) so that code written against timm's ConvNeXt (masked
forwards, layer-wise lr decay, 2-D -> 1-D weight inflation) works on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from timm.layers import DropPath, calculate_drop_path_rates, get_act_layer, trunc_normal_
from torch import nn


class LayerNormChannelsFirst1d(nn.LayerNorm):
    """LayerNorm over the channel axis of ``[B, C, T]`` tensors (timm's ``LayerNorm2d`` in 1-D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.transpose(1, 2), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.transpose(1, 2)


class GlobalResponseNorm1d(nn.Module):
    """Global Response Normalisation (ConvNeXt-V2) for channels-last ``[B, T, C]`` tensors.

    Same parameters (``weight``, ``bias``, zero-initialised) and formula as timm's
    ``GlobalResponseNorm``: ``x + bias + weight * x * (||x||_T / mean_C ||x||_T)``.
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_g = x.norm(p=2, dim=1, keepdim=True)
        x_n = x_g / (x_g.mean(dim=-1, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(1, 1, -1), self.weight.view(1, 1, -1), x * x_n)


class Mlp1d(nn.Module):
    """Channels-last inverted MLP ``fc1 -> act -> fc2`` (attribute names as timm's ``Mlp``)."""

    def __init__(self, dim: int, hidden: int, act_layer: type[nn.Module]) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act_layer()
        self.drop1 = nn.Identity()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop2 = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class GlobalResponseNormMlp1d(Mlp1d):
    """Channels-last MLP with GRN, ``fc1 -> act -> grn -> fc2`` (timm's ``GlobalResponseNormMlp``)."""

    def __init__(self, dim: int, hidden: int, act_layer: type[nn.Module]) -> None:
        super().__init__(dim, hidden, act_layer)
        self.grn = GlobalResponseNorm1d(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.grn(self.drop1(self.act(self.fc1(x))))
        return self.drop2(self.fc2(x))


class ConvNeXtBlock1d(nn.Module):
    """ConvNeXt block: depthwise conv (k=7) -> LayerNorm -> inverted MLP -> layer scale, residual.

    Shapes:
        ``[B, C, T] -> [B, C, T]``.
    """

    def __init__(
        self,
        dim: int,
        kernel_size: int = 7,
        mlp_ratio: float = 4.0,
        use_grn: bool = False,
        ls_init_value: float | None = 1e-6,
        act_layer: type[nn.Module] = nn.GELU,
        norm_eps: float = 1e-6,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv_dw = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=norm_eps)
        mlp_layer = GlobalResponseNormMlp1d if use_grn else Mlp1d
        self.mlp = mlp_layer(dim, int(mlp_ratio * dim), act_layer)
        self.gamma = (
            nn.Parameter(ls_init_value * torch.ones(dim)) if ls_init_value is not None else None
        )
        self.shortcut = nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x).transpose(1, 2)  # [B, T, C]
        x = self.mlp(self.norm(x))
        if self.gamma is not None:
            x = x * self.gamma
        return self.drop_path(x.transpose(1, 2)) + self.shortcut(shortcut)


class ConvNeXtStage1d(nn.Module):
    """A stage: optional downsample (LayerNorm + Conv1d k=2 s=2) followed by ``depth`` blocks."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        depth: int,
        downsample: bool,
        drop_path_rates: list[float],
        **block_kwargs,
    ) -> None:
        super().__init__()
        if downsample:
            self.downsample: nn.Module = nn.Sequential(
                LayerNormChannelsFirst1d(in_chs, eps=block_kwargs["norm_eps"]),
                nn.Conv1d(in_chs, out_chs, kernel_size=2, stride=2),
            )
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(
            *(ConvNeXtBlock1d(out_chs, drop_path=rate, **block_kwargs) for rate in drop_path_rates)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class NormPoolHead1d(nn.Module):
    """Global average pool over time -> LayerNorm -> classifier (``fc`` is identity when 0 classes)."""

    def __init__(self, dim: int, num_classes: int, norm_eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=norm_eps)
        self.fc: nn.Module = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.norm(x.mean(dim=-1))
        return x if pre_logits else self.fc(x)


@dataclass(frozen=True)
class ConvNeXt1dSpec:
    """Architecture of a named 1-D ConvNeXt variant.

    Attributes:
        depths: Blocks per stage.
        dims: Channels per stage.
        use_grn: ConvNeXt-V2 global response normalisation in the MLP.
        ls_init_value: Layer-scale init (``None`` = no layer scale, as in V2).
        act: timm activation name.
        norm_eps: LayerNorm epsilon.
        imagenet_source: timm 2-D model whose ImageNet weights inflate into this variant, or ``None``.
    """

    depths: tuple[int, int, int, int]
    dims: tuple[int, int, int, int]
    use_grn: bool = False
    ls_init_value: float | None = 1e-6
    act: str = "gelu"
    norm_eps: float = 1e-6
    imagenet_source: str | None = None


class ConvNeXt1d(nn.Module):
    """1-D ConvNeXt over waveforms ``[B, C, T]``; total stride 32 (stem 4, then 2 per stage).

    Args:
        spec: Depths, widths and options (see :class:`ConvNeXt1dSpec`).
        in_chans: Input channels ``C``.
        num_classes: Classifier outputs; 0 keeps ``head.fc`` as identity (embedding model).
        drop_path_rate: Stochastic depth rate of the last block (linear per stage, as timm).

    Shapes:
        ``forward_features``: ``[B, C, T] -> [B, dims[-1], T // 32]``;
        ``forward``: ``[B, C, T] -> [B, num_classes or dims[-1]]``.
    """

    def __init__(
        self,
        spec: ConvNeXt1dSpec,
        in_chans: int = 1,
        num_classes: int = 0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.in_chans = in_chans
        self.num_classes = num_classes
        dims = spec.dims
        self.stem = nn.Sequential(
            nn.Conv1d(in_chans, dims[0], kernel_size=4, stride=4),
            LayerNormChannelsFirst1d(dims[0], eps=spec.norm_eps),
        )
        rates = cast(
            list[list[float]],
            calculate_drop_path_rates(drop_path_rate, list(spec.depths), stagewise=True),
        )
        block_kwargs = dict(
            use_grn=spec.use_grn,
            ls_init_value=spec.ls_init_value,
            act_layer=get_act_layer(spec.act),
            norm_eps=spec.norm_eps,
        )
        self.stages = nn.Sequential(
            *(
                ConvNeXtStage1d(
                    dims[max(i - 1, 0)],
                    dims[i],
                    spec.depths[i],
                    i > 0,
                    list(rates[i]),
                    **block_kwargs,
                )
                for i in range(4)
            )
        )
        self.num_features = dims[-1]
        self.norm_pre = nn.Identity()
        self.head = NormPoolHead1d(dims[-1], num_classes, spec.norm_eps)
        self.feature_info = [
            dict(num_chs=dims[i], reduction=4 * 2**i, module=f"stages.{i}") for i in range(4)
        ]
        self.apply(_init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``[B, D, T // 32]`` of ``x`` ``[B, C, T]``."""
        if x.shape[-1] < 32:
            raise ValueError(
                f"ConvNeXt1d needs at least 32 time steps (total stride), got {x.shape[-1]}"
            )
        return self.norm_pre(self.stages(self.stem(x)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool and normalise a feature map ``[B, D, T']`` into ``[B, D]`` (or logits)."""
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _v1(depths, dims, source, **kw) -> ConvNeXt1dSpec:
    return ConvNeXt1dSpec(depths, dims, imagenet_source=source, **kw)


def _v2(depths, dims, source) -> ConvNeXt1dSpec:
    return ConvNeXt1dSpec(depths, dims, use_grn=True, ls_init_value=None, imagenet_source=source)


_SIZES: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = {
    "atto": ((2, 2, 6, 2), (40, 80, 160, 320)),
    "femto": ((2, 2, 6, 2), (48, 96, 192, 384)),
    "pico": ((2, 2, 6, 2), (64, 128, 256, 512)),
    "nano": ((2, 2, 8, 2), (80, 160, 320, 640)),
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
}

CONVNEXT1D_VARIANTS: dict[str, ConvNeXt1dSpec] = {
    # tiny test variants (no ImageNet twin)
    "convnext1d_test": _v1((1, 1, 1, 1), (8, 16, 32, 64), None),
    "convnext1dv2_test": _v2((1, 1, 1, 1), (8, 16, 32, 64), None),
    # 1-D twin of timm's `test_convnext2`, so the inflation path is testable without downloads
    "convnext1d_test2": _v1(
        (1, 1, 1, 1), (32, 64, 96, 128), "test_convnext2", act="gelu_tanh", norm_eps=1e-5
    ),
    **{f"convnext1d_{size}": _v1(d, w, f"convnext_{size}") for size, (d, w) in _SIZES.items()},
    **{f"convnext1dv2_{size}": _v2(d, w, f"convnextv2_{size}") for size, (d, w) in _SIZES.items()},
}


def available_convnext1d() -> list[str]:
    """Registered 1-D ConvNeXt variant names, sorted."""
    return sorted(CONVNEXT1D_VARIANTS)


def create_convnext1d(
    name: str, in_chans: int = 1, num_classes: int = 0, drop_path_rate: float = 0.0
) -> ConvNeXt1d:
    """Build the registered 1-D ConvNeXt ``name`` (e.g. ``convnext1d_atto``, ``convnext1dv2_tiny``).

    Raises:
        KeyError: unknown name; the message lists the valid ones.
    """
    if name not in CONVNEXT1D_VARIANTS:
        raise KeyError(
            f"unknown 1-D ConvNeXt {name!r}; valid names: {', '.join(available_convnext1d())}"
        )
    return ConvNeXt1d(CONVNEXT1D_VARIANTS[name], in_chans, num_classes, drop_path_rate)
