"""Cell masks for masked autoencoding, and patchify helpers.

A model input ``[B, C, *S]`` (``S`` = ``(H, W)`` for images, ``(L,)`` for 1-D sequences) is cut into
cells of ``cell`` samples along every spatial axis, giving a grid ``G = S // cell``. A mask is a
boolean tensor ``[B, C, *G]`` with ``True`` on hidden cells; keeping the channel axis lets one
strategy hide whole channels while the others hide the same cells in every channel.

The cell is a setting of its own, not the encoder's total stride: :func:`default_mask_cell` picks
the largest cell that still gives at least 64 cells per sample (a 64x64 image gets 8x8 cells of 8
pixels; a 2048-sample 1-D input gets 64 cells of 32 samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

MaskFn = Callable[
    [int, int, tuple[int, ...], float, "torch.Generator | None", torch.device], Tensor
]


def cell_grid(x: Tensor, cell: int) -> tuple[int, ...]:
    """Grid of cells covering a model input.

    Args:
        x: Model input ``[B, C, *S]``.
        cell: Cell size in samples along every spatial axis.

    Returns:
        ``S // cell`` per spatial axis.

    Raises:
        ValueError: If a spatial size is not a positive multiple of ``cell``.
    """
    spatial = tuple(x.shape[2:])
    if not spatial or any(s % cell or s == 0 for s in spatial):
        raise ValueError(
            f"model input spatial size {spatial} must be a positive multiple of the cell size "
            f"{cell} on every axis; pick a window length/representation size divisible by {cell}"
        )
    return tuple(s // cell for s in spatial)


MIN_CELLS = 64


def default_mask_cell(
    spatial: tuple[int, ...], stride: int, stem_stride: int, min_cells: int = MIN_CELLS
) -> int:
    """The largest mask cell that divides ``stride`` and gives at least ``min_cells`` cells.

    Candidate cells are ``stride, stride/2, ...`` down to ``stem_stride`` (a cell finer than the
    encoder's patchify stem cannot be hidden without the stem mixing it with its neighbours).
    When even ``stem_stride`` gives fewer than ``min_cells`` cells, ``stem_stride`` is returned.

    Args:
        spatial: Spatial size ``S`` of the (stride-aligned) model input.
        stride: The encoder's total stride (e.g. 32).
        stem_stride: Stride of the encoder's patchify stem (e.g. 4).
        min_cells: Smallest acceptable number of cells per sample.

    Returns:
        The cell size in samples per spatial axis.
    """
    cell = stride
    while cell > stem_stride and math.prod(max(s // cell, 1) for s in spatial) < min_cells:
        cell //= 2
    return max(cell, stem_stride)


def _hidden_count(ratio: float, units: int, what: str) -> int:
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask ratio must be in (0, 1), got {ratio}")
    n = round(ratio * units)
    if not 1 <= n <= units - 1:
        raise ValueError(
            f"mask ratio {ratio} of {units} {what} hides {n}; at least one must be hidden and one "
            "visible: use a longer window or a different ratio"
        )
    return n


def _choose(
    batch: int, units: int, n: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """``[batch, units]`` boolean rows with exactly ``n`` random ``True`` entries each."""
    noise = torch.rand(batch, units, generator=generator, device=device)
    rank = noise.argsort(dim=1).argsort(dim=1)
    return rank < n


def random_mask(
    batch: int,
    channels: int,
    grid: tuple[int, ...],
    ratio: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """Hide ``round(ratio * prod(grid))`` random cells per sample, the same cells in every channel."""
    units = math.prod(grid)
    hidden = _choose(batch, units, _hidden_count(ratio, units, "cells"), generator, device)
    return hidden.view(batch, 1, *grid).expand(batch, channels, *grid)


def time_mask(
    batch: int,
    channels: int,
    grid: tuple[int, ...],
    ratio: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """Hide ``round(ratio * grid[-1])`` whole time columns (last axis) across all rows and channels.

    For spectrograms and period folds this hides complete time spans, so the model cannot fill a
    hole from the same instant in a neighbouring frequency band; for 1-D inputs it equals
    :func:`random_mask`.
    """
    steps = grid[-1]
    hidden = _choose(batch, steps, _hidden_count(ratio, steps, "time columns"), generator, device)
    shape = (batch, 1) + (1,) * (len(grid) - 1) + (steps,)
    return hidden.view(shape).expand(batch, channels, *grid)


def channel_mask(
    batch: int,
    channels: int,
    grid: tuple[int, ...],
    ratio: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """Hide ``round(ratio * channels)`` whole channels (clamped to 1..C-1) per sample.

    For multi-phase signals: the encoder must infer a missing phase from the others.
    """
    if channels < 2:
        raise ValueError(f"channel masking needs at least 2 channels, the input has {channels}")
    n = min(max(round(ratio * channels), 1), channels - 1)
    hidden = _choose(batch, channels, n, generator, device)
    return hidden.view(batch, channels, *(1,) * len(grid)).expand(batch, channels, *grid)


_STRATEGIES: dict[str, MaskFn] = {
    "random": random_mask,
    "time": time_mask,
    "channel": channel_mask,
}


# the strategies' names as a type, for configs and command lines (tests check it matches the registry)
MaskingName = Literal["channel", "random", "time"]


def list_masking() -> list[str]:
    """Names accepted by :func:`make_mask`, sorted."""
    return sorted(_STRATEGIES)


def check_masking(name: str) -> None:
    """Raise a ``KeyError`` listing the valid names unless ``name`` is a masking strategy."""
    if name not in _STRATEGIES:
        raise KeyError(
            f"unknown masking strategy {name!r}; valid names: {', '.join(list_masking())}"
        )


def make_mask(
    x: Tensor,
    cell: int,
    ratio: float,
    strategy: str = "random",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw a cell mask for a model input.

    Args:
        x: Model input ``[B, C, *S]``; batch size, channels and grid are read from it.
        cell: Cell size in samples (e.g. 8 on a 64x64 image: an 8x8 grid).
        ratio: Fraction of units to hide, in ``(0, 1)``; the count is ``round(ratio * units)``.
        strategy: One of :func:`list_masking` (``random``, ``time``, ``channel``).
        generator: Optional generator on ``x.device``.

    Returns:
        ``[B, C, *G]`` boolean mask, ``True`` on hidden cells.
    """
    check_masking(strategy)
    grid = cell_grid(x, cell)
    return _STRATEGIES[strategy](x.shape[0], x.shape[1], grid, ratio, generator, x.device)


def upsample_mask(mask: Tensor, size: tuple[int, ...]) -> Tensor:
    """Nearest-neighbour upsampling of a grid mask to a finer resolution.

    Args:
        mask: ``[B, K, *G]`` mask (bool or float).
        size: Target spatial size, each a multiple of the matching grid size.

    Returns:
        ``[B, K, *size]`` tensor of ``mask``'s dtype.
    """
    out = mask
    for axis, target in enumerate(size, start=2):
        out = out.repeat_interleave(target // out.shape[axis], dim=axis)
    return out


def patchify(x: Tensor, cell: int) -> Tensor:
    """Cut a model input into cells.

    Args:
        x: ``[B, C, *S]`` with every ``S`` a multiple of ``cell``.
        cell: Cell size in samples.

    Returns:
        ``[B, C, N, P]`` with ``N = prod(S // cell)`` cells in row-major grid order and
        ``P = cell ** len(S)`` values per cell in row-major order.
    """
    grid = cell_grid(x, cell)
    b, c = x.shape[:2]
    nd = len(grid)
    split = x.reshape(b, c, *[d for g in grid for d in (g, cell)])  # [B, C, g0, c0, g1, c1, ...]
    grid_axes = [2 + 2 * i for i in range(nd)]
    cell_axes = [3 + 2 * i for i in range(nd)]
    return split.permute(0, 1, *grid_axes, *cell_axes).reshape(b, c, math.prod(grid), cell**nd)


def unpatchify(cells: Tensor, cell: int, spatial: tuple[int, ...]) -> Tensor:
    """Inverse of :func:`patchify`.

    Args:
        cells: ``[B, C, N, P]`` cells.
        cell: Cell size in samples.
        spatial: Spatial size ``S`` of the model input, each a multiple of ``cell``.

    Returns:
        ``[B, C, *S]``.
    """
    grid = tuple(s // cell for s in spatial)
    b, c, n, p = cells.shape
    nd = len(grid)
    if n != math.prod(grid) or p != cell**nd:
        raise ValueError(
            f"unpatchify: cells {tuple(cells.shape)} do not match spatial size {spatial} with cell {cell}"
        )
    split = cells.reshape(b, c, *grid, *(cell,) * nd)
    order = [0, 1] + [a for i in range(nd) for a in (2 + i, 2 + nd + i)]
    return split.permute(*order).reshape(b, c, *spatial)


def fit_to_cells(x: Tensor, cell: int) -> Tensor:
    """Zero-pad the spatial axes of a model input up to the next multiple of ``cell``.

    Args:
        x: ``[B, C, *S]``.
        cell: Cell size in samples.

    Returns:
        ``[B, C, *S']`` with ``S' = ceil(S / cell) * cell`` (``x`` itself when already aligned).
    """
    pad: list[int] = []
    for s in reversed(x.shape[2:]):
        pad += [0, (-s) % cell]
    return F.pad(x, pad) if any(pad) else x
