"""Toy recipe over the engine, used by tests/test_engine*.py (in-process and as a subprocess).

Usage: ``python tests/_engine_toy_run.py RUN_DIR [dotted.key=value ...]`` (also under ``torchrun``).
It prints one line ``RESULT {json}`` on the main process each time training ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from ssl_waveform.engine import EngineConfig, make_accelerator, train
from ssl_waveform.serialize import with_changes


@dataclass
class ToyData:
    """Synthetic linear-regression data."""

    n: int = 64
    dim: int = 8
    iterable: bool = False


@dataclass
class ToyConfig:
    """The toy recipe's config: engine settings plus data and a per-step sleep for kill tests.

    ``resume_at`` > 0 trains twice in the same processes: first stopping at that step (``engine.max_steps``), then
    the whole run, which resumes from the first one's checkpoint (an interrupted run and its rerun in one launch).
    """

    engine: EngineConfig = field(
        default_factory=lambda: EngineConfig(
            epochs=3, batch_size=8, base_lr=4.0, warmup_steps=2, checkpoint_every=3, log_every=2
        )
    )
    data: ToyData = field(default_factory=ToyData)
    step_sleep_s: float = 0.0
    resume_at: int = 0


def _tensors(n: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(n, dim, generator=gen)
    w = torch.linspace(-1.0, 1.0, dim)
    return x, (x @ w).unsqueeze(1)


class ToyMapData(Dataset):
    """Map-style samples ``{"x": [dim], "y": [1]}``."""

    def __init__(self, n: int, dim: int) -> None:
        self.x, self.y = _tensors(n, dim)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


class ToyStream(IterableDataset):
    """Ready batches ``{"x": [B, dim], "y": [B, 1]}``, sharded by rank, order set by the epoch."""

    def __init__(self, n: int, dim: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.x, self.y = _tensors(n, dim)
        self.batch_size, self.rank, self.world = batch_size, rank, world
        self.epoch = 0
        self.epochs_seen: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __len__(self) -> int:
        return len(self.x) // (self.batch_size * self.world)

    def __iter__(self):
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.epoch))
        for b in range(len(self)):
            idx = order[(b * self.world + self.rank) * self.batch_size :][: self.batch_size]
            yield {"x": self.x[idx], "y": self.y[idx]}


class ToyRegressor(nn.Module):
    """Linear model with a norm; loss = MSE. Optionally sleeps per call or turns NaN at a call."""

    def __init__(self, dim: int, sleep_s: float = 0.0, nan_at_call: int | None = None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 1)
        self.sleep_s, self.nan_at_call, self.calls = sleep_s, nan_at_call, 0

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.sleep_s:
            time.sleep(self.sleep_s)
        pred = self.head(self.norm(batch["x"]))  # [B, 1]
        loss = nn.functional.mse_loss(pred, batch["y"])
        if self.nan_at_call is not None and self.calls >= self.nan_at_call:
            loss = loss * float("nan")
        self.calls += 1
        return {"loss": loss, "abs_err": (pred - batch["y"]).abs().mean()}


def export_safetensors(model: nn.Module, run_dir: Path, tag: str) -> None:
    """Export callback: ``run_dir/export_<tag>.safetensors``."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(run_dir / f"export_{tag}.safetensors"))


def _train(cfg: ToyConfig, run_dir: Path, accelerator: Accelerator | None = None) -> None:
    if cfg.data.iterable:
        rank = int(os.environ.get("RANK", 0))
        world = int(os.environ.get("WORLD_SIZE", 1))
        data: Dataset = ToyStream(cfg.data.n, cfg.data.dim, cfg.engine.batch_size, rank, world)
    else:
        data = ToyMapData(cfg.data.n, cfg.data.dim)
    torch.manual_seed(0)
    method = ToyRegressor(cfg.data.dim, sleep_s=cfg.step_sleep_s)
    result = train(
        method,
        data,
        cfg.engine,
        run_dir,
        config_to_save=cfg,
        export_fn=export_safetensors,
        accelerator=accelerator,
    )
    if int(os.environ.get("RANK", 0)) == 0:
        resumed = str(result.resumed_from) if result.resumed_from else None
        print("RESULT " + json.dumps({"steps": result.steps, "resumed_from": resumed}), flush=True)


def main(argv: list[str]) -> None:
    run_dir, overrides = Path(argv[0]), argv[1:]
    changes: dict = {}
    for word in overrides:  # dotted.key=value, the value read as YAML
        key, _, value = word.partition("=")
        *head, leaf = key.split(".")
        node = changes
        for part in head:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    cfg = with_changes(ToyConfig, changes, source="toy run")
    if cfg.resume_at:
        # one accelerator for both runs: a process group cannot be set up again under torchrun
        accelerator = make_accelerator(cfg.engine, run_dir)
        _train(
            replace(cfg, engine=replace(cfg.engine, max_steps=cfg.resume_at)), run_dir, accelerator
        )
        accelerator.free_memory()  # forget the first run's model, optimizer and data loader
        _train(cfg, run_dir, accelerator)
        accelerator.end_training()
    else:
        _train(cfg, run_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
