"""AdamW parameter groups: weight decay off for norms, biases and named tokens; per-group lr scale."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from torch import nn

_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
)


def _is_norm(module: nn.Module) -> bool:
    # timm's LayerNorm2d / GlobalResponseNorm and our masked GRN are not torch norm subclasses
    # (or store 4-D affine tensors), so their class name is the signal.
    return isinstance(module, _NORM_TYPES) or "norm" in type(module).__name__.lower()


def _norm_param_names(model: nn.Module) -> set[str]:
    names: set[str] = set()
    for module_name, module in model.named_modules():
        if _is_norm(module):
            prefix = f"{module_name}." if module_name else ""
            names.update(prefix + n for n, _ in module.named_parameters(recurse=False))
    return names


def _matches_token(name: str, no_decay_names: set[str]) -> bool:
    return name in no_decay_names or name.rsplit(".", 1)[-1] in no_decay_names


def param_groups(
    model: nn.Module,
    weight_decay: float,
    lr_scale_fn: Callable[[str, nn.Parameter], float] | None = None,
    no_decay_names: Iterable[str] = (),
) -> list[dict]:
    """Split trainable parameters into AdamW groups.

    A parameter gets no weight decay when it has ``ndim <= 1`` (biases, norm scales), its name ends
    in ``.bias``, it belongs to a normalisation module (torch norms and any module whose class name
    contains "norm", e.g. timm's ``GlobalResponseNorm``), or its full or last dotted name is in
    ``no_decay_names`` (e.g. ``"mask_token"``, ``"pos_embed"``). Frozen parameters
    (``requires_grad=False``) are left out. Every trainable parameter appears in exactly one group.

    Args:
        model: The module whose parameters are grouped.
        weight_decay: Decoupled weight decay for the decayed groups (AdamW ``weight_decay``).
        lr_scale_fn: Optional ``(name, param) -> scale`` multiplying the scheduled lr, used for
            layer-wise lr decay in fine-tuning. Default: 1.0 for every parameter.
        no_decay_names: Extra parameter names (full, or last dotted component) exempt from decay.

    Returns:
        Groups ordered by first appearance in ``model.named_parameters()``; each is a dict with
        ``params`` (list of parameters), ``weight_decay`` and ``lr_scale`` (float). The engine
        sets each group's ``lr`` to ``lr_at(step) * lr_scale``.

    Raises:
        ValueError: If ``weight_decay`` is negative, a scale is not positive, or nothing is trainable.
    """
    if weight_decay < 0:
        raise ValueError(f"param_groups: weight_decay must be >= 0, got {weight_decay}")
    norm_names = _norm_param_names(model)
    tokens = set(no_decay_names)
    groups: dict[tuple[bool, float], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = (
            param.ndim <= 1
            or name.endswith(".bias")
            or name in norm_names
            or _matches_token(name, tokens)
        )
        scale = float(lr_scale_fn(name, param)) if lr_scale_fn is not None else 1.0
        if not scale > 0:
            raise ValueError(f"param_groups: lr_scale_fn gave {scale} for {name!r}; must be > 0")
        key = (no_decay, scale)
        if key not in groups:
            groups[key] = {
                "params": [],
                "weight_decay": 0.0 if no_decay else weight_decay,
                "lr_scale": scale,
            }
        groups[key]["params"].append(param)
    if not groups:
        raise ValueError(
            f"param_groups: {type(model).__name__} has no trainable parameter "
            "(all requires_grad=False); unfreeze something to train"
        )
    return list(groups.values())
