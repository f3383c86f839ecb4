"""Unit tests of the engine's pure parts: lr schedule, parameter groups, config loading."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from ssl_waveform.engine import EngineConfig, lr_at, param_groups, plan_run

# ---------------------------------------------------------------- lr schedule


def test_lr_at_step0_end_of_warmup_and_last_step():
    kw = dict(peak_lr=1e-3, total_steps=100, warmup_steps=10, min_lr=1e-5)
    assert lr_at(0, **kw) == pytest.approx(1e-3 / 10)
    assert lr_at(9, **kw) == pytest.approx(1e-3)  # last warmup step reaches the peak
    assert lr_at(10, **kw) == pytest.approx(1e-3)  # cosine starts at the peak
    assert lr_at(99, **kw) == pytest.approx(1e-5)  # last step is the floor
    assert lr_at(150, **kw) == pytest.approx(1e-5)
    mid = 10 + (99 - 10) / 2
    assert lr_at(int(mid), **kw) == pytest.approx(
        1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * (int(mid) - 10) / 89))
    )


def test_lr_at_is_monotone_in_each_phase_and_without_warmup():
    lrs = [lr_at(s, peak_lr=2.0, total_steps=50, warmup_steps=5) for s in range(50)]
    assert all(a < b for a, b in itertools.pairwise(lrs[:5]))
    assert all(a >= b for a, b in itertools.pairwise(lrs[5:]))
    assert lr_at(0, peak_lr=2.0, total_steps=50, warmup_steps=0) == 2.0
    assert lr_at(49, peak_lr=2.0, total_steps=50, warmup_steps=0) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(step=-1, total_steps=10, warmup_steps=1),
        dict(step=0, total_steps=0, warmup_steps=0),
        dict(step=0, total_steps=10, warmup_steps=11),
        dict(step=0, total_steps=10, warmup_steps=1, min_lr=2.0),
    ],
)
def test_lr_at_rejects_bad_arguments(kw):
    step = kw.pop("step")
    with pytest.raises(ValueError, match="lr_at"):
        lr_at(step, peak_lr=1.0, **kw)


def test_plan_run_scales_lr_by_effective_batch_and_counts_steps():
    cfg = EngineConfig(epochs=3, batch_size=32, grad_accum=2, base_lr=1e-3, warmup_epochs=0.5)
    plan = plan_run(cfg, batches_per_epoch=21, num_processes=4)
    assert plan.effective_batch == 32 * 2 * 4
    assert plan.peak_lr == pytest.approx(1e-3 * 256 / 256)
    assert plan.steps_per_epoch == 10 and plan.total_steps == 30 and plan.warmup_steps == 5
    capped = plan_run(EngineConfig(max_steps=25, batch_size=32), 10, 1)
    assert capped.total_steps == 25 and capped.epochs == 3
    with pytest.raises(ValueError, match="grad_accum=4"):
        plan_run(EngineConfig(grad_accum=4), batches_per_epoch=3, num_processes=1)


# ---------------------------------------------------------------- parameter groups


class MaskedGlobalResponseNorm(nn.Module):
    """A norm with 4-D affine tensors (like a channels-last GRN)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, c))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, c))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3)
        self.norm = nn.LayerNorm(4)
        self.grn = MaskedGlobalResponseNorm(4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.mask_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)


def test_param_groups_membership_and_each_param_once():
    net = Net()
    groups = param_groups(net, 0.05, no_decay_names=["mask_token"])
    names = {id(p): n for n, p in net.named_parameters()}
    seen = [names[id(p)] for g in groups for p in g["params"]]
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    assert sorted(seen) == sorted(trainable)  # each trainable param exactly once, frozen excluded
    decayed = {names[id(p)] for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {"stem.weight", "blocks.0.weight", "blocks.1.weight"}
    assert all(g["weight_decay"] in (0.0, 0.05) for g in groups)


def test_param_groups_carry_lr_scale_per_layer():
    net = Net()

    def scale(name: str, _p: nn.Parameter) -> float:
        return 0.5 if name.startswith("blocks.0") else 1.0

    groups = param_groups(net, 0.1, lr_scale_fn=scale)
    by_scale = {(g["lr_scale"], g["weight_decay"]): {id(p) for p in g["params"]} for g in groups}
    assert by_scale[(0.5, 0.1)] == {id(net.blocks[0].weight)}
    assert by_scale[(0.5, 0.0)] == {id(net.blocks[0].bias)}
    assert all(g["lr_scale"] == 1.0 for g in groups if id(net.stem.weight) in map(id, g["params"]))
    with pytest.raises(ValueError, match="no trainable parameter"):
        param_groups(net.frozen, 0.1)
