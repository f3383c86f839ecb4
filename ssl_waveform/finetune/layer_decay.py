"""Layer-wise learning-rate decay over ConvNeXt stages and blocks (as in BEiT / ConvNeXt V2 fine-tuning).

Layer ids count from the input: the stem is layer 0, every block one layer, a stage's downsampling shares the id
of the stage's first block, and the classification head is the top layer. A parameter of layer ``i`` trains with
``lr * decay ** (top - i)``: the head at the full rate, the stem at the smallest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

_STEM = re.compile(r"(^|\.)stem\.")
_STAGE = re.compile(r"(^|\.)stages\.(\d+)\.(downsample|blocks)\.?(\d+)?")


def _stage_depths(backbone: nn.Module) -> list[int]:
    stages = getattr(backbone, "stages", None)
    if stages is None:
        raise ValueError(
            f"{type(backbone).__name__} has no 'stages'; layer decay needs a ConvNeXt-style backbone"
        )
    return [len(stage.blocks) for stage in stages]


def layer_id(name: str, depths: list[int]) -> int:
    """Layer id of a parameter name inside a model whose backbone has stage block counts ``depths``."""
    top = sum(depths) + 1
    if _STEM.search(name):
        return 0
    match = _STAGE.search(name)
    if match:
        stage = int(match.group(2))
        first = 1 + sum(depths[:stage])
        if match.group(3) == "downsample":
            return first
        return first + int(match.group(4) or 0)
    if name.startswith("head.") or (".head." in name and "backbone" not in name):
        return top
    # norms after the last stage (norm_pre, the backbone's head norm) belong to the last block's layer
    return top - 1


def layer_decay_fn(
    model: nn.Module, backbone: nn.Module, decay: float
) -> Callable[[str, nn.Parameter], float]:
    """A ``lr_scale_fn(name, param)`` for the engine's ``param_groups``.

    Args:
        model: the module whose ``named_parameters`` names are passed to the returned function.
        backbone: the ConvNeXt backbone inside ``model`` (stages are counted on it).
        decay: per-layer factor in (0, 1]; 1 disables layer decay.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"layer decay must be in (0, 1], got {decay}")
    depths = _stage_depths(backbone)
    top = sum(depths) + 1

    def scale(name: str, param: nn.Parameter) -> float:
        return float(decay ** (top - layer_id(name, depths)))

    return scale
