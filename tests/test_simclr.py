"""Tests for SimCLR: NT-Xent against a naive reference, views, SyncBatchNorm and two-process DDP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from lightly.loss import NTXentLoss

from ssl_waveform.methods import SimCLR
from ssl_waveform.models import create_encoder


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def three_phase(batch: int, length: int) -> torch.Tensor:
    t = torch.arange(length) / length
    phase = 2 * math.pi * torch.rand(batch, 1, 1, generator=gen(0))
    shifts = torch.tensor([0.0, -2 * math.pi / 3, 2 * math.pi / 3]).view(1, 3, 1)
    return torch.sin(2 * math.pi * 4 * t + phase + shifts)


def tiny_simclr(**kwargs) -> SimCLR:
    torch.manual_seed(0)
    encoder = create_encoder("convnext1d_test", "raw", 3, window=256)
    return SimCLR(encoder, hidden_dim=32, output_dim=16, **kwargs)


def naive_nt_xent(z0: torch.Tensor, z1: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss written out sample by sample (Chen et al. 2020, eq. 1)."""
    z = torch.nn.functional.normalize(torch.cat([z0, z1]), dim=1)
    n = z0.shape[0]
    total = torch.zeros(())
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        sims = torch.stack([z[i] @ z[k] / temperature for k in range(2 * n)])
        others = torch.cat([sims[:i], sims[i + 1 :]])
        total = total - (sims[positive] - torch.logsumexp(others, dim=0))
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_nt_xent_equals_a_naive_reference(temperature):
    z0, z1 = torch.randn(6, 8, generator=gen(1)), torch.randn(6, 8, generator=gen(2))
    loss = NTXentLoss(temperature=temperature, gather_distributed=True)(z0, z1)
    torch.testing.assert_close(loss, naive_nt_xent(z0, z1, temperature))


def test_step_is_finite_and_every_parameter_learns():
    model = tiny_simclr()
    out = model({"x": three_phase(8, 256)})
    assert torch.isfinite(out["loss"]) and -1.0 <= out["positive_cosine"].item() <= 1.0
    out["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name} gets no gradient"


def test_two_views_differ_but_keep_shape():
    model = tiny_simclr()
    x = three_phase(8, 256)
    v0, v1 = model.two_views(x, gen(0))
    assert v0.shape == v1.shape == x.shape
    assert not torch.equal(v0, v1) and not torch.equal(v0, x)


def test_head_batch_norm_and_sync_conversion():
    default = tiny_simclr()
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in default.projection_head.modules())
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in default.projection_head.modules())
    synced = tiny_simclr(sync_batchnorm=True)
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.projection_head.modules())
    assert synced.criterion.gather_distributed


def test_unknown_policy_fails_loudly():
    with pytest.raises(KeyError, match="default, invariant, light, none"):
        tiny_simclr(augment="heavy")


def _check_ranks_match_one_process(views: tuple[torch.Tensor, torch.Tensor], out_dir: Path) -> None:
    import _simclr_ddp_worker as worker

    model = worker.build_model()
    loss = model.forward_views(*views)["loss"]
    loss.backward()
    for rank in range(2):
        result = torch.load(out_dir / f"rank{rank}.pt", weights_only=True)
        torch.testing.assert_close(result["loss"], loss.detach(), rtol=1e-10, atol=1e-12)
        expected = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        assert result["grads"].keys() == expected.keys()
        for name, grad in expected.items():
            torch.testing.assert_close(result["grads"][name], grad, rtol=1e-8, atol=1e-12, msg=name)


def test_this_process_and_one_spawned_rank_match_one_process_on_the_whole_batch(tmp_path):
    """The slow test below with one spawned interpreter: this process is rank 0, the spawned one rank 1."""
    import _simclr_ddp_worker as worker

    views = tuple(torch.randn(8, 3, 128, generator=gen(s), dtype=torch.float64) for s in (3, 4))
    torch.save(views, tmp_path / "views.pt")
    args = (2, str(tmp_path / "init"), str(tmp_path / "views.pt"), str(tmp_path))
    other = mp.get_context("spawn").Process(target=worker.run, args=(1, *args))
    other.start()
    threads = torch.get_num_threads()
    try:
        worker.run(0, *args)
    finally:
        torch.set_num_threads(threads)
        other.join(timeout=180)
        if other.is_alive():
            other.kill()
    assert other.exitcode == 0, f"rank 1 exited with {other.exitcode}"
    _check_ranks_match_one_process(views, tmp_path)


@pytest.mark.slow  # two spawned interpreters importing torch/timm/lightly; the test above spawns one
def test_two_process_gather_matches_one_process_on_the_whole_batch(tmp_path):
    import _simclr_ddp_worker as worker

    views = tuple(torch.randn(8, 3, 128, generator=gen(s), dtype=torch.float64) for s in (3, 4))
    torch.save(views, tmp_path / "views.pt")
    mp.spawn(
        worker.run,
        args=(2, str(tmp_path / "init"), str(tmp_path / "views.pt"), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    _check_ranks_match_one_process(views, tmp_path)
