"""Worker for the two-process SimCLR test (spawned by tests/test_simclr.py; not a test module).

Each rank builds the same seeded model, takes its half of fixed views, runs one DDP forward and
backward on CPU with gloo, and writes its all-reduced loss and its (DDP-averaged) gradients.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ssl_waveform.methods import SimCLR
from ssl_waveform.models import create_encoder


def build_model() -> SimCLR:
    """The seeded float64 SimCLR model both the workers and the single-process reference use.

    float64 so that the comparison is about the maths, not the summation order. The head has no
    batch norm: torch's ``SyncBatchNorm`` has no CPU/gloo implementation.
    """
    torch.manual_seed(0)
    encoder = create_encoder("convnext1d_test", "raw", 3, window=128)
    model = SimCLR(encoder, augment="none", hidden_dim=32, output_dim=16, head_batch_norm=False)
    return model.double()


class ViewsLoss(nn.Module):
    """Adapter so that DDP's forward runs ``SimCLR.forward_views`` on given views."""

    def __init__(self, method: SimCLR) -> None:
        super().__init__()
        self.method = method

    def forward(self, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
        return self.method.forward_views(view0, view1)["loss"]


def run(rank: int, world_size: int, init_file: str, views_file: str, out_dir: str) -> None:
    """Entry point for ``torch.multiprocessing.spawn`` (or, for rank 0, a direct call in the test process)."""
    torch.set_num_threads(1)
    # a bounded wait: a rank that died before joining fails the others instead of hanging the test run
    dist.init_process_group(
        "gloo",
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=120),
    )
    try:
        view0, view1 = torch.load(views_file, weights_only=True)
        per_rank = view0.shape[0] // world_size
        shard = slice(rank * per_rank, (rank + 1) * per_rank)
        model = DistributedDataParallel(ViewsLoss(build_model()))
        loss = model(view0[shard], view1[shard])
        loss.backward()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        mean_loss /= world_size
        grads = {
            name: p.grad.detach().clone()
            for name, p in model.module.method.named_parameters()
            if p.grad is not None
        }
        torch.save({"loss": mean_loss, "grads": grads}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
