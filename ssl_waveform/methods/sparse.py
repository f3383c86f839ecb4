"""Masked forward passes through a ConvNeXt backbone, 2-D (NCHW) or 1-D (NCL).

Two ways to keep hidden cells from influencing what the encoder computes:

- :func:`masked_forward_features` (cells = the total stride): the FCMAE sparse emulation below.
- :func:`token_masked_forward_features` (cells finer than the total stride, multiples of the stem's):
  SimMIM's design (Xie et al., "SimMIM: A Simple Framework for Masked Image Modeling", CVPR 2022,
  https://arxiv.org/abs/2111.09886) on a convolutional stem, as SparK discusses for CNNs: the
  patchify stem embeds every cell on its own, hidden cells' embeddings are replaced by one learned
  mask token, and the rest of the network runs densely. Hidden content never enters the network,
  so it cannot change any output; the cost is one dense forward pass.

ConvNeXt V2 pretrains with sparse convolutions so that hidden cells never influence visible ones.
Here the sparsity is emulated densely, as the ConvNeXt V2 paper describes for its dense variant:
the hidden positions are zeroed on the input, after the stem, before and after every depthwise
convolution and around every downsampling layer, and Global Response Normalization takes its
statistics per sample over visible positions only. Because the stem and downsampling layers have
stride equal to their kernel and the cell size equals the backbone's total stride, no kernel ever
straddles a visible and a hidden cell except the depthwise convolutions, whose inputs are zeroed.

The function walks the backbone's own modules (timm ``ConvNeXt`` or the package's 1-D ConvNeXt
with the same structure), so the weights are shared with the plain forward pass and no ConvNeXt
code is duplicated.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ssl_waveform.methods.masking import upsample_mask


def _keep_at(keep: Tensor, x: Tensor) -> Tensor:
    """Visible-position multiplier ``[B, 1, *S]`` at ``x``'s resolution (``x`` is ``[B, C, *S]``)."""
    return upsample_mask(keep, tuple(x.shape[2:])).to(x.dtype)


def masked_grn(grn: Any, x: Tensor, keep: Tensor, channel_dim: int) -> Tensor:
    """Global Response Normalization with statistics over visible positions only.

    Same arithmetic as timm's ``GlobalResponseNorm``: ``x + bias + weight * x * N(x)`` with
    ``N = ||x||_2 / mean_c ||x||_2``, except that the L2 norm over positions ignores hidden ones.

    Args:
        grn: A GRN module with ``weight``, ``bias`` (``[C]``) and ``eps``.
        x: Activations, channels at ``channel_dim`` (``[B, *S, C]`` or ``[B, C, *S]``).
        keep: 1 at visible positions, 0 at hidden ones, broadcastable to ``x`` with size 1 on
            the channel axis.
        channel_dim: Channel axis of ``x`` (``1`` or ``-1``).

    Returns:
        Tensor shaped like ``x``.
    """
    channel_dim = channel_dim % x.ndim
    spatial = tuple(d for d in range(1, x.ndim) if d != channel_dim)
    x_g = (x * keep).norm(p=2, dim=spatial, keepdim=True)
    x_n = x_g / (x_g.mean(dim=channel_dim, keepdim=True) + grn.eps)
    shape = [1] * x.ndim
    shape[channel_dim] = -1
    return x + torch.addcmul(grn.bias.view(shape), grn.weight.view(shape), x * x_n)


def _masked_mlp(mlp: Any, x: Tensor, keep: Tensor, channel_dim: int) -> Tensor:
    if not hasattr(mlp, "grn"):  # plain MLP: purely per position, nothing to mask
        return mlp(x)
    x = mlp.drop1(mlp.act(mlp.fc1(x)))
    x = masked_grn(mlp.grn, x, keep, channel_dim)
    return mlp.drop2(mlp.fc2(x))


def _layer_scale(block: Any, x: Tensor) -> Tensor:
    """Apply the block's layer scale to channels-first ``x``, whichever way the block stores it."""
    gamma = getattr(block, "gamma", None)
    if isinstance(gamma, Tensor):
        return x * gamma.view(1, -1, *(1,) * (x.ndim - 2))
    ls = getattr(block, "ls", None)
    if isinstance(ls, nn.Module):
        return ls(x.movedim(1, -1)).movedim(-1, 1)
    return x


def _masked_block(block: Any, x: Tensor, keep: Tensor) -> Tensor:
    m = _keep_at(keep, x)  # [B, 1, *S]
    shortcut = x
    x = block.conv_dw(x * m) * m
    channels_last = isinstance(block.mlp.fc1, nn.Linear)
    if channels_last:
        x, m = x.movedim(1, -1), m.movedim(1, -1)
    x = block.norm(x)
    x = _masked_mlp(block.mlp, x, m, -1 if channels_last else 1)
    if channels_last:
        x = x.movedim(-1, 1)
    x = _layer_scale(block, x)
    return block.drop_path(x) + block.shortcut(shortcut)


def stem_conv(backbone: Any) -> nn.Conv1d | nn.Conv2d:
    """The first convolution of a ConvNeXt backbone's stem."""
    for module in backbone.get_submodule("stem").modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            return module
    raise ValueError(f"backbone {type(backbone).__name__} has no convolution in its stem")


def patchify_stem_stride(backbone: Any) -> int:
    """Stride of a patchify stem (kernel == stride, no padding); ``ValueError`` for any other stem."""
    conv = stem_conv(backbone)
    kernel, stride, pad = set(conv.kernel_size), set(conv.stride), conv.padding
    if len(stride) != 1 or kernel != stride or any(int(p) for p in pad):  # type: ignore[union-attr]
        raise ValueError(
            f"masking finer than the total stride needs a patchify stem (kernel == stride, no "
            f"padding); this backbone's stem conv has kernel {conv.kernel_size}, stride "
            f"{conv.stride}, padding {conv.padding}"
        )
    return int(stride.pop())


def token_masked_forward_features(
    backbone: Any, x: Tensor, visible: Tensor, mask_token: Tensor
) -> Tensor:
    """Dense ConvNeXt forward with hidden cells replaced by a learned token after the stem (SimMIM).

    Args:
        backbone: ConvNeXt with a patchify ``stem``, ``stages`` and ``norm_pre``.
        x: Model input ``[B, C, *S]`` with ``S`` a multiple of the backbone's total stride.
        visible: ``[B, *G]`` boolean, ``True`` on visible cells; every cell spans a whole number
            of stem patches.
        mask_token: ``[1, D0, 1, ...]`` embedding of a hidden cell (``D0`` = stem width).

    Returns:
        Feature map ``[B, D, *S // stride]`` (as ``backbone.forward_features``); with every cell
        visible it equals ``backbone.forward_features(x)``.
    """
    if visible.shape[0] != x.shape[0] or visible.ndim != x.ndim - 1:
        raise ValueError(
            f"visible mask {tuple(visible.shape)} does not match input {tuple(x.shape)}: "
            "expected [B, *G] with one grid axis per spatial axis"
        )
    h = backbone.stem(x)  # [B, D0, *S / stem_stride]
    keep = upsample_mask(visible.unsqueeze(1), tuple(h.shape[2:]))  # [B, 1, *S / stem_stride]
    h = torch.where(keep, h, mask_token.to(h.dtype))
    return backbone.norm_pre(backbone.stages(h))


def masked_forward_features(backbone: Any, x: Tensor, visible: Tensor) -> Tensor:
    """Run a ConvNeXt backbone as if hidden cells were absent (dense emulation of sparse convs).

    Args:
        backbone: ConvNeXt with ``stem``, ``stages[i].downsample``, ``stages[i].blocks[j]`` and
            ``norm_pre`` (timm's 2-D model or the package's 1-D one).
        x: Model input ``[B, C, *S]`` with ``S`` a multiple of the backbone's total stride.
        visible: ``[B, *G]`` boolean, ``True`` on visible cells, ``G = S // stride``.

    Returns:
        Feature map ``[B, D, *G]`` (as ``backbone.forward_features``), zero at hidden cells.
        With every cell visible it equals ``backbone.forward_features(x)``.
    """
    if visible.shape[0] != x.shape[0] or visible.ndim != x.ndim - 1:
        raise ValueError(
            f"visible mask {tuple(visible.shape)} does not match input {tuple(x.shape)}: "
            "expected [B, *G] with one grid axis per spatial axis"
        )
    keep = visible.unsqueeze(1)  # [B, 1, *G]
    x = x * _keep_at(keep, x)
    x = backbone.stem(x)
    x = x * _keep_at(keep, x)
    for stage in backbone.stages:
        x = stage.downsample(x * _keep_at(keep, x))
        x = x * _keep_at(keep, x)
        for block in stage.blocks:
            x = _masked_block(block, x, keep)
    x = backbone.norm_pre(x)
    return x * _keep_at(keep, x)
