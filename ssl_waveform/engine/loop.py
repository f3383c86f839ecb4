"""The one training loop, on HuggingFace accelerate; it does not know which method it trains.

Data handling (decided after reading accelerate's ``prepare_data_loader``):

* A map-style ``Dataset`` goes into a shuffling ``DataLoader`` (``drop_last=True``) that is passed
  to ``accelerator.prepare``: accelerate wraps its batch sampler in ``BatchSamplerShard`` (each
  rank gets its own, equally many batches: ``even_batches=True``, ``split_batches=False``), and
  the accelerator built here uses ``use_seedable_sampler=True`` so the shuffle order is a function
  of (seed, epoch) and a resumed epoch replays it before ``skip_first_batches`` drops the seen part.
* An ``IterableDataset`` must yield ready batches, shard itself across ranks, and define
  ``__len__`` (batches per epoch for this rank) and optionally ``set_epoch``. It is *not* passed
  through ``prepare``: for iterable datasets accelerate would either re-shard it with
  ``IterableDatasetShard`` (``dispatch_batches=False``: each rank keeps every n-th batch of an
  already-sharded stream, dropping data) or read everything on rank 0 and scatter it
  (``dispatch_batches=True``, the default when device placement is on). The engine wraps it in
  ``DataLoader(ds, batch_size=None)`` and moves batches with ``send_to_device``; every rank runs
  the minimum batch count over ranks, so DDP never waits on a rank that ran out. Resume skips
  seen batches by reading and discarding them.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors.torch
import torch
from accelerate import Accelerator
from accelerate.utils import (
    DataLoaderConfiguration,
    DistributedDataParallelKwargs,
    ProjectConfiguration,
    broadcast_object_list,
    is_tensorboard_available,
    send_to_device,
    set_seed,
)
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset
from tqdm.auto import tqdm

from ssl_waveform.serialize import save_config

from .._lock import exclusive
from .checkpoint import (
    EMA_FILE,
    TrainerState,
    check_same_run,
    latest_checkpoint,
    load_rng_state,
    pickle_free_view,
    read_trainer_state,
    remove_stale_tmp,
    save_checkpoint,
)
from .config import EngineConfig
from .optim import param_groups
from .schedule import lr_at, scaled_peak_lr

if TYPE_CHECKING:
    from timm.utils import ModelEmaV3

LOG_FILE = "log.jsonl"


def read_log(run_dir: str | Path) -> list[dict[str, Any]]:
    """The epoch records a run wrote to ``run_dir/log.jsonl``, oldest first; empty when there is none."""
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stopped without checkpointing the broken state."""


@dataclass(frozen=True)
class RunPlan:
    """Step arithmetic of a run, derived once from the config, the data and the process count.

    Attributes:
        batches_per_epoch: Micro-batches per epoch per process.
        steps_per_epoch: Optimizer steps per epoch (``batches_per_epoch // grad_accum``).
        total_steps: Optimizer steps of the whole run.
        epochs: Epochs needed to run ``total_steps`` (the last may be partial).
        warmup_steps: Linear warmup length in optimizer steps.
        effective_batch: Samples per optimizer step over all processes.
        peak_lr: Absolute peak learning rate, ``base_lr x effective_batch / 256``.
    """

    batches_per_epoch: int
    steps_per_epoch: int
    total_steps: int
    epochs: int
    warmup_steps: int
    effective_batch: int
    peak_lr: float


def plan_run(cfg: EngineConfig, batches_per_epoch: int, num_processes: int) -> RunPlan:
    """Derive steps, warmup, effective batch and peak lr.

    Args:
        cfg: Engine config.
        batches_per_epoch: Micro-batches one process sees per epoch.
        num_processes: Data-parallel processes.

    Raises:
        ValueError: If an epoch holds fewer micro-batches than ``grad_accum``.
    """
    steps_per_epoch = batches_per_epoch // cfg.grad_accum
    if steps_per_epoch < 1:
        raise ValueError(
            f"the data gives {batches_per_epoch} batches per epoch per process, fewer than "
            f"grad_accum={cfg.grad_accum}: use more data, a smaller batch_size or grad_accum"
        )
    total = cfg.max_steps if cfg.max_steps is not None else cfg.epochs * steps_per_epoch
    if cfg.warmup_steps is not None:
        warmup = cfg.warmup_steps
    else:
        warmup = round(cfg.warmup_epochs * steps_per_epoch)
    effective = cfg.batch_size * cfg.grad_accum * num_processes
    return RunPlan(
        batches_per_epoch=batches_per_epoch,
        steps_per_epoch=steps_per_epoch,
        total_steps=total,
        epochs=math.ceil(total / steps_per_epoch),
        warmup_steps=min(warmup, total),
        effective_batch=effective,
        peak_lr=scaled_peak_lr(cfg.base_lr, effective),
    )


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        run_dir: The run folder.
        steps: Optimizer steps completed over the whole run (including before a resume).
        total_steps: Planned optimizer steps.
        epochs_completed: Epochs finished (a final partial epoch under ``max_steps`` counts).
        loss: Mean loss of the last epoch run by this call; None if nothing was left to run.
        last_checkpoint: The final checkpoint folder.
        resumed_from: Checkpoint the run resumed from, None for a fresh start.
        best_metric: Best monitored metric, None without ``cfg.monitor``.
        stopped_early: Whether ``cfg.patience`` ended the run.
        history: The epoch records this call appended to ``log.jsonl``.
    """

    run_dir: Path
    steps: int
    total_steps: int
    epochs_completed: int
    loss: float | None
    last_checkpoint: Path
    resumed_from: Path | None
    best_metric: float | None
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def _has_device() -> bool:
    return torch.cuda.is_available() or (
        hasattr(torch, "accelerator") and torch.accelerator.is_available()
    )


def make_accelerator(
    cfg: EngineConfig, run_dir: str | Path, *, find_unused_parameters: bool = False
) -> Accelerator:
    """The accelerator :func:`train` builds when the caller passes none.

    Mixed precision from ``cfg``; seedable shuffling (resume replays an epoch's order); CPU
    collectives (gloo) under ``torchrun``/``accelerate launch`` when no accelerator device
    exists; TensorBoard logging into ``run_dir/tensorboard`` when tensorboard is installed.
    ``find_unused_parameters`` is passed to DDP for methods that leave some trainable
    parameters out of the loss (e.g. the masked autoencoder never uses the backbone's head norm).
    """
    return Accelerator(
        kwargs_handlers=[
            DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters)
        ],
        mixed_precision=cfg.mixed_precision,
        cpu=not _has_device(),
        log_with="tensorboard" if is_tensorboard_available() else None,
        project_config=ProjectConfiguration(
            project_dir=str(run_dir), logging_dir=str(Path(run_dir) / "tensorboard")
        ),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed),
    )


def _check_accelerator(accelerator: Accelerator, cfg: EngineConfig) -> None:
    if accelerator.gradient_accumulation_steps != 1:
        raise ValueError(
            f"the accelerator passed to train() has gradient_accumulation_steps="
            f"{accelerator.gradient_accumulation_steps}; the engine accumulates itself: build it "
            f"with the default (1) and set EngineConfig.grad_accum instead"
        )
    if str(accelerator.mixed_precision) != cfg.mixed_precision:
        raise ValueError(
            f"accelerator.mixed_precision={accelerator.mixed_precision!r} but "
            f"EngineConfig.mixed_precision={cfg.mixed_precision!r}; make them agree"
        )


def _build_loader(data: Any, cfg: EngineConfig, accelerator: Accelerator) -> tuple[Any, int]:
    """Return the (prepared) loader and the batches per epoch every process will run."""
    if isinstance(data, IterableDataset):
        if not hasattr(data, "__len__"):
            raise TypeError(
                f"{type(data).__name__} is an IterableDataset without __len__; the engine needs "
                "the number of batches per epoch for this rank to plan the schedule and resume"
            )
        loader = DataLoader(data, batch_size=None, num_workers=cfg.num_workers)
        mine = torch.tensor([len(data)], device=accelerator.device)
        return loader, int(accelerator.gather(mine).min().item())
    if isinstance(data, Dataset):
        loader = DataLoader(
            data,
            batch_size=cfg.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=cfg.num_workers,
        )
        loader = accelerator.prepare(loader)
        return loader, len(loader)
    raise TypeError(
        f"train(data=...) must be a torch Dataset or IterableDataset, got {type(data).__name__}"
    )


def _epoch_batches(
    loader: Any, data: Any, epoch: int, skip: int, accelerator: Accelerator
) -> Iterator[Any]:
    if isinstance(data, IterableDataset):
        if hasattr(data, "set_epoch"):
            data.set_epoch(epoch)
        stream = iter(loader)
        for _ in range(skip):
            next(stream)
        for batch in stream:
            yield send_to_device(batch, accelerator.device)
        return
    if hasattr(
        data, "set_epoch"
    ):  # datasets that draw per item (augmentation) key their draws by epoch
        data.set_epoch(epoch)
    loader.set_epoch(epoch)
    yield from accelerator.skip_first_batches(loader, skip) if skip else loader


def _eager(batches: Iterator[Any]) -> Iterator[Any]:
    """Start ``batches`` now (create the loader's iterator, skip a resumed epoch's first batches) and hold its
    first batch back, so that whatever the start draws from the global RNG is drawn before the step's reseed."""
    try:
        first = next(batches)
    except StopIteration:
        return iter(())
    return itertools.chain([first], batches)


def _reseed(seed: int, step: int, rank: int) -> None:
    """Seed the global torch, numpy and Python RNGs from (seed, step, rank) before each optimizer step.

    Every random draw of a step (masks, noise, dropout, on-the-fly augmentation in the main process) then depends
    only on the run's seed and the step, so a resumed run continues exactly as the uninterrupted one would.
    """
    mixed = (seed * 1_000_003 + step * 9_176 + rank * 7_919) % (2**31 - 1)
    torch.manual_seed(mixed)
    np.random.seed(mixed)  # noqa: NPY002  (the legacy global generator is what libraries draw from)
    random.seed(mixed)


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    values = batch.values() if isinstance(batch, dict) else batch
    for value in values:
        if isinstance(value, (torch.Tensor, dict, list, tuple)):
            return _batch_size(value)
    raise TypeError(f"cannot find a tensor in the batch to count samples: {type(batch).__name__}")


def _loss_and_extras(out: Any, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if not isinstance(out, dict) or "loss" not in out:
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise TypeError(
            f"method.forward(batch) must return a dict with key 'loss' (step {step}); got {got}"
        )
    extras = {
        k: v.detach().float()
        for k, v in out.items()
        if k != "loss" and isinstance(v, torch.Tensor) and v.numel() == 1
    }
    return out["loss"], extras


@dataclass
class _Meter:
    """Running sums over an epoch (and over a logging window)."""

    loss: float = 0.0
    steps: int = 0
    samples: int = 0
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    start: float = field(default_factory=time.perf_counter)

    def add_extras(self, extras: dict[str, torch.Tensor], weight: float) -> None:
        for k, v in extras.items():
            self.extras[k] = self.extras.get(k, 0.0) + v * weight

    def add_step(self, loss: float, samples: int) -> None:
        self.loss += loss
        self.steps += 1
        self.samples += samples


def _reduced_extras(meter: _Meter, accelerator: Accelerator) -> dict[str, float]:
    if not meter.extras or not meter.steps:
        return {}
    keys = sorted(meter.extras)
    stacked = torch.stack([torch.as_tensor(meter.extras[k]).float() for k in keys])
    mean = accelerator.reduce(stacked.to(accelerator.device), "mean") / meter.steps
    return {k: float(v) for k, v in zip(keys, mean.tolist())}


def _print_plan(
    accelerator: Accelerator, cfg: EngineConfig, plan: RunPlan, resume: str, run_dir: Path
) -> None:
    accelerator.print(
        f"[engine] run {run_dir}\n"
        f"[engine] effective batch {plan.effective_batch} = {cfg.batch_size} per process x "
        f"{cfg.grad_accum} accumulation x {accelerator.num_processes} processes\n"
        f"[engine] peak lr {plan.peak_lr:.4g} = base_lr {cfg.base_lr:g} x "
        f"{plan.effective_batch} / 256; min lr {cfg.min_lr:g}\n"
        f"[engine] {plan.total_steps} optimizer steps ({plan.epochs} epochs x "
        f"{plan.steps_per_epoch} steps), warmup {plan.warmup_steps} steps\n"
        f"[engine] {resume}"
    )


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


@dataclass
class _Run:
    """What the loop works with, built once by :func:`_train` and never changed while it runs."""

    cfg: EngineConfig
    plan: RunPlan
    accelerator: Accelerator
    data: Dataset | IterableDataset
    loader: Any
    model: nn.Module  # as prepared by accelerate (DDP, compiled): the one to call and step
    optimizer: torch.optim.Optimizer
    raw: nn.Module  # the unwrapped model the EMA follows
    ema: ModelEmaV3 | None
    run_dir: Path
    config_to_save: Any
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None
    export_fn: Callable[[nn.Module, Path, str], None] | None

    @property
    def eval_model(self) -> nn.Module:
        """The model evaluated and exported: the EMA weights when enabled."""
        return self.ema.module if self.ema is not None else self.raw

    @property
    def epoch_batches(self) -> int:
        """Micro-batches an epoch runs on each process (whole optimizer steps only)."""
        return self.plan.steps_per_epoch * self.cfg.grad_accum


@dataclass
class _LoopState:
    """What changes while the loop runs: the checkpointed position plus this call's bookkeeping.

    Attributes:
        trainer: Position and monitor state, written into every checkpoint.
        last_saved: Step of the newest checkpoint (-1 before any).
        last_ckpt: The newest checkpoint folder, None before any.
        resume_step: Step a resume started from, logged once in the next epoch record.
        checked_batch: Whether the first batch's size was checked against ``cfg.batch_size``.
        history: Epoch records appended to the log by this call.
    """

    trainer: TrainerState
    last_saved: int
    last_ckpt: Path | None
    resume_step: int | None
    checked_batch: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def _save(run: _Run, loop: _LoopState) -> Path:
    """Checkpoint now (atomically, on every process), remember and return where."""
    loop.last_ckpt = save_checkpoint(
        run.accelerator,
        run.run_dir,
        loop.trainer,
        run.config_to_save,
        run.cfg.keep_checkpoints,
        run.ema,
    )
    loop.last_saved = loop.trainer.step
    return loop.last_ckpt


def _monitor_update(
    cfg: EngineConfig, state: TrainerState, metrics: dict[str, float], accelerator: Accelerator
) -> bool:
    """Update best metric / patience from the main process's metrics; True when improved."""
    payload: list[Any] = [None]
    if accelerator.is_main_process:
        if cfg.monitor not in metrics:
            payload = [f"eval_fn returned {sorted(metrics)}, without monitor {cfg.monitor!r}"]
        else:
            value = float(metrics[cfg.monitor])
            best = state.best_metric
            better = best is None or (value > best if cfg.monitor_mode == "max" else value < best)
            payload = [(better, value)]
    broadcast_object_list(payload)
    if isinstance(payload[0], str):
        raise KeyError(f"{payload[0]}: fix eval_fn or EngineConfig.monitor")
    better, value = payload[0]
    if better:
        state.best_metric, state.epochs_since_best = value, 0
    else:
        state.epochs_since_best += 1
    state.stopped_early = cfg.patience is not None and state.epochs_since_best >= cfg.patience
    return better


def _end_epoch(run: _Run, state: TrainerState, meter: _Meter, lr: float) -> dict[str, Any]:
    """Reduce the epoch's metrics, evaluate, monitor, export "best"; return the log record."""
    cfg, accelerator, eval_model = run.cfg, run.accelerator, run.eval_model
    wall = time.perf_counter() - meter.start
    record: dict[str, Any] = {
        "epoch": state.epoch,
        "step": state.step,
        "loss": meter.loss / max(meter.steps, 1),
        "lr": lr,
        "samples_per_s": meter.samples / max(wall, 1e-9),
        "wall_time_s": wall,
        **_reduced_extras(meter, accelerator),
    }
    if run.eval_fn is None:
        return record
    eval_model.eval()
    with torch.no_grad():
        metrics = {k: float(v) for k, v in run.eval_fn(eval_model, state.epoch).items()}
    clash = sorted(set(metrics) & set(record))
    if clash:
        raise ValueError(
            f"eval_fn returned {clash}, which clash with training log keys; rename them"
        )
    record.update(metrics)
    if cfg.monitor is not None:
        improved = _monitor_update(cfg, state, metrics, accelerator)
        record["best_" + cfg.monitor] = state.best_metric
        if improved and run.export_fn is not None and accelerator.is_main_process:
            run.export_fn(eval_model, run.run_dir, "best")
        accelerator.wait_for_everyone()
    return record


def _log_epoch(run: _Run, loop: _LoopState, record: dict[str, Any]) -> None:
    """Append the epoch record to ``log.jsonl`` (main process), the history and the trackers."""
    if loop.resume_step is not None:
        record["resumed_from_step"] = loop.resume_step
        loop.resume_step = None
    if run.accelerator.is_main_process:
        with open(run.run_dir / LOG_FILE, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    loop.history.append(record)
    run.model.train()
    run.accelerator.log({f"epoch/{k}": v for k, v in record.items()}, step=loop.trainer.step)


def _log_window(run: _Run, bar: tqdm, window: _Meter, lr: float, step: int) -> None:
    """Show and log the mean loss, lr and throughput of the steps since the last log."""
    rate = window.samples / max(time.perf_counter() - window.start, 1e-9)
    bar.set_postfix(loss=f"{window.loss / window.steps:.4g}", lr=f"{lr:.3g}", sps=f"{rate:.0f}")
    run.accelerator.log(
        {"train/loss": window.loss / window.steps, "train/lr": lr, "train/samples_per_s": rate},
        step=step,
    )


def _next_batch(run: _Run, state: TrainerState, batches: Iterator[Any]) -> Any:
    try:
        return next(batches)
    except StopIteration:
        raise RuntimeError(
            f"data ended after {state.batches_seen} batches in epoch {state.epoch}"
            f" but {run.plan.batches_per_epoch} were announced (__len__); make "
            f"__len__ match what the dataset yields on every rank"
        ) from None


def _check_finite(run: _Run, state: TrainerState, step_loss: float) -> None:
    if not math.isfinite(step_loss):
        raise NonFiniteLossError(
            f"non-finite loss {step_loss} at step {state.step} (epoch {state.epoch}) "
            f"in {run.run_dir}; no checkpoint of this state was written, the last good "
            f"one is {latest_checkpoint(run.run_dir) or 'none (no checkpoint yet)'}. "
            "Try a lower base_lr, enable clip_grad, prefer bf16 to fp16, and check "
            "the data for NaN/inf."
        )


def train_step(
    run: _Run, loop: _LoopState, batches: Iterator[Any], meter: _Meter
) -> tuple[float, int]:
    """One optimizer step over ``cfg.grad_accum`` micro-batches (DDP syncs only on the last).

    Reseeds the global RNGs from (seed, step, rank) first, so the step's draws do not depend on
    where the run was resumed. Adds the step's extras to ``meter``.

    Returns:
        The step's loss (mean over micro-batches and processes) and this process's sample count.
    """
    cfg, accelerator, state = run.cfg, run.accelerator, loop.trainer
    _reseed(cfg.seed, state.step, accelerator.process_index)
    loss_sum = torch.zeros((), device=accelerator.device)
    samples = 0
    for micro in range(cfg.grad_accum):
        batch = _next_batch(run, state, batches)
        n = _batch_size(batch)
        if not loop.checked_batch and n != cfg.batch_size:
            raise ValueError(
                f"the first batch holds {n} samples but EngineConfig.batch_size="
                f"{cfg.batch_size}; the lr scaling assumes batch_size, so set it to "
                f"the data's batch size"
            )
        loop.checked_batch = True
        sync = micro == cfg.grad_accum - 1
        with nullcontext() if sync else accelerator.no_sync(run.model):
            loss, extras = _loss_and_extras(run.model(batch), state.step)
            accelerator.backward(loss / cfg.grad_accum)
        loss_sum += loss.detach().float()
        meter.add_extras(extras, 1.0 / cfg.grad_accum)
        samples += n
        state.batches_seen += 1
    step_loss = float(accelerator.reduce(loss_sum / cfg.grad_accum, "mean"))
    _check_finite(run, state, step_loss)
    if cfg.clip_grad is not None:
        accelerator.clip_grad_norm_(run.model.parameters(), cfg.clip_grad)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    if run.ema is not None:
        run.ema.update(run.raw, step=state.step)
    state.step += 1
    return step_loss, samples


def train_one_epoch(run: _Run, loop: _LoopState, bar: tqdm) -> dict[str, Any]:
    """Run the rest of the current epoch (or up to the last step) and evaluate it.

    Sets ``lr_at(step)`` before every optimizer step, logs every ``cfg.log_every`` steps and
    checkpoints every ``cfg.checkpoint_every`` steps, except at the epoch's and the run's end,
    which the caller checkpoints.

    Returns:
        The epoch's log record (see :func:`_end_epoch`).
    """
    cfg, plan, state = run.cfg, run.plan, loop.trainer
    epoch_meter, window = _Meter(), _Meter()
    batches = _eager(
        _epoch_batches(run.loader, run.data, state.epoch, state.batches_seen, run.accelerator)
    )
    lr = 0.0
    while state.batches_seen < run.epoch_batches and state.step < plan.total_steps:
        lr = lr_at(
            state.step,
            peak_lr=plan.peak_lr,
            total_steps=plan.total_steps,
            warmup_steps=plan.warmup_steps,
            min_lr=cfg.min_lr * plan.peak_lr / cfg.base_lr,
        )
        _set_lr(run.optimizer, lr)
        step_loss, samples = train_step(run, loop, batches, epoch_meter)
        for meter in (epoch_meter, window):
            meter.add_step(step_loss, samples * run.accelerator.num_processes)
        bar.update(1)
        if state.step % cfg.log_every == 0:
            _log_window(run, bar, window, lr, state.step)
            window = _Meter()
        if (
            state.step % cfg.checkpoint_every == 0
            and state.step < plan.total_steps
            and state.batches_seen < run.epoch_batches
        ):
            _save(run, loop)
    return _end_epoch(run, state, epoch_meter, lr)


def _run_epochs(run: _Run, loop: _LoopState) -> None:
    """Train epoch by epoch until the planned steps are done or patience stops the run."""
    state = loop.trainer
    bar = tqdm(
        total=run.plan.total_steps,
        initial=state.step,
        disable=not run.accelerator.is_main_process,
        desc="train",
        dynamic_ncols=True,
    )
    run.model.train()
    try:
        while state.step < run.plan.total_steps and not state.stopped_early:
            record = train_one_epoch(run, loop, bar)
            _log_epoch(run, loop, record)
            if state.step < run.plan.total_steps and not state.stopped_early:
                state.epoch, state.batches_seen = state.epoch + 1, 0
            _save(run, loop)
    finally:
        bar.close()


def _prepare_model(
    method: nn.Module,
    cfg: EngineConfig,
    plan: RunPlan,
    accelerator: Accelerator,
    param_groups_fn: Callable[[nn.Module], list[dict]] | None,
) -> tuple[nn.Module, torch.optim.Optimizer, nn.Module, ModelEmaV3 | None]:
    """Build the optimizer and EMA and prepare them; return (model, optimizer, raw model, EMA)."""
    if cfg.channels_last:
        method = method.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    groups = param_groups_fn(method) if param_groups_fn else param_groups(method, cfg.weight_decay)
    optimizer = torch.optim.AdamW(groups, lr=plan.peak_lr, betas=cfg.betas)
    ema = None
    if cfg.ema_decay is not None:
        from timm.utils import ModelEmaV3  # timm costs seconds to import; only EMA runs need it

        ema = ModelEmaV3(method, decay=cfg.ema_decay)
    model = torch.compile(method) if cfg.compile else method
    model, optimizer = accelerator.prepare(model, optimizer)
    raw = accelerator.unwrap_model(model, keep_torch_compile=False)
    if ema is not None:
        # saved and restored as ema.safetensors (see engine.checkpoint), never pickled
        ema.to(accelerator.device)
    return model, optimizer, raw, ema


def _prepare_run_dir(run_dir: Path, config_to_save: Any, accelerator: Accelerator) -> None:
    """Refuse a folder holding another run; clear crash leftovers and write ``config.yaml``."""
    existing = latest_checkpoint(run_dir)
    if existing is not None:  # before anything in the folder is rewritten
        check_same_run(existing, config_to_save)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp(run_dir)
        save_config(config_to_save, run_dir / "config.yaml")
    accelerator.wait_for_everyone()


def _restore(run: _Run, ckpt: Path) -> TrainerState:
    """Load model, optimizer, scaler, RNG and EMA state from ``ckpt``; return its trainer state."""
    accelerator = run.accelerator
    try:
        with pickle_free_view(ckpt) as view:
            accelerator.load_state(str(view))
    except (RuntimeError, KeyError, ValueError) as err:
        raise RuntimeError(
            f"cannot resume from {ckpt}: {err}\nThe run folder holds a checkpoint "
            f"of a different model or optimizer; use a new run_dir or delete {run.run_dir}"
        ) from err
    # stacklevel=4 names train()'s frame (_restore <- _start_state <- _train <- train)
    if not load_rng_state(ckpt, accelerator.process_index):
        warnings.warn(
            f"{ckpt}: no RNG state (rng_state_{accelerator.process_index}.*); resuming with "
            "the current random state, so the rest of the run differs from an uninterrupted one",
            stacklevel=4,
        )
    if run.ema is not None:
        ema_file = ckpt / EMA_FILE
        if ema_file.is_file():
            run.ema.load_state_dict(
                safetensors.torch.load_file(str(ema_file), device=str(accelerator.device))
            )
        else:
            warnings.warn(
                f"{ckpt}: no {EMA_FILE}; the EMA restarts from the resumed weights",
                stacklevel=4,
            )
    return read_trainer_state(ckpt)


def _start_state(run: _Run, resumed_from: Path | None) -> TrainerState:
    """The loop position to start from: restored from ``resumed_from`` or fresh; prints the plan."""
    if resumed_from is not None:
        state = _restore(run, resumed_from)
        state.total_steps = run.plan.total_steps
        resume_msg = f"resuming from {resumed_from} (step {state.step}, epoch {state.epoch})"
    else:
        state = TrainerState(step=0, epoch=0, batches_seen=0, total_steps=run.plan.total_steps)
        resume_msg = "fresh start (no checkpoint in run folder)"
    if state.batches_seen >= run.epoch_batches:
        state.epoch, state.batches_seen = state.epoch + 1, 0
    _print_plan(run.accelerator, run.cfg, run.plan, resume_msg, run.run_dir)
    return state


def _finish(
    run: _Run, loop: _LoopState, resumed_from: Path | None, own_accelerator: bool
) -> TrainResult:
    """Checkpoint the final state unless already saved, export "final", end the trackers."""
    state = loop.trainer
    last_ckpt = loop.last_ckpt
    if loop.last_saved != state.step or last_ckpt is None:
        last_ckpt = _save(run, loop)
    if run.export_fn is not None and run.accelerator.is_main_process:
        run.export_fn(run.eval_model, run.run_dir, "final")
    run.accelerator.wait_for_everyone()
    if own_accelerator:
        run.accelerator.end_training()
    return TrainResult(
        run_dir=run.run_dir,
        steps=state.step,
        total_steps=run.plan.total_steps,
        # batches_seen is 0 only right after an epoch was completed and the next one not begun.
        epochs_completed=state.epoch + (1 if state.batches_seen > 0 else 0),
        loss=loop.history[-1]["loss"] if loop.history else None,
        last_checkpoint=last_ckpt,
        resumed_from=resumed_from,
        best_metric=state.best_metric,
        stopped_early=state.stopped_early,
        history=loop.history,
    )


def train(
    method: nn.Module,
    data: Dataset | IterableDataset,
    cfg: EngineConfig,
    run_dir: str | Path,
    **kwargs: Any,
) -> TrainResult:
    """Train ``method`` on ``data``, resuming automatically from ``run_dir``'s latest checkpoint.

    ``method(batch)`` must return a dict with a scalar ``"loss"`` plus optional scalar tensors,
    which are averaged per epoch and logged. The loop: AdamW (no decay on norms/biases),
    ``lr_at(step)`` warmup+cosine set before every optimizer step (times each group's
    ``lr_scale``), gradient accumulation without DDP sync on inner micro-steps, clipping, optional
    EMA, checkpoints every ``cfg.checkpoint_every`` steps and at every epoch end, one JSON line per
    epoch in ``run_dir/log.jsonl``, and a progress bar on the main process.

    One writer per run folder: the rank-0 process holds ``.RUN_DIR.lock`` for the whole run, so a second run
    started into the same folder fails at once (``FolderLockedError`` naming the holder) instead of
    interleaving checkpoints with the first.

    Args (keyword arguments after ``run_dir`` are passed by name):
        method: Module whose forward takes a batch (as yielded by ``data``) and returns a dict.
        data: Map-style ``Dataset`` of samples (batched and sharded here) or ``IterableDataset``
            yielding ready, rank-sharded batches with ``__len__`` (batches per epoch for this
            rank) and optionally ``set_epoch(epoch)``. See the module docstring.
        cfg: Engine hyper-parameters.
        run_dir: Run folder (shared by all nodes): config, log, checkpoints.
        config_to_save: Resolved recipe config dataclass written to ``run_dir/config.yaml`` and
            into every checkpoint; defaults to ``cfg``.
        eval_fn: ``(model, epoch) -> metrics`` called at each epoch end on every process (it may
            use collectives) with the unwrapped model (EMA weights when enabled), in eval mode;
            the main process's metrics are logged and monitored.
        export_fn: ``(model, run_dir, tag)`` called on the main process with the unwrapped model
            (EMA when enabled): tag ``"best"`` when the monitored metric improves, ``"final"``
            at the end (also when a finished run is re-launched).
        param_groups_fn: ``model -> groups`` replacing :func:`param_groups` (each group may carry
            ``lr_scale``).
        accelerator: A ready accelerator (``gradient_accumulation_steps`` must be 1 and mixed
            precision must match ``cfg``); by default :func:`make_accelerator`.

    Returns:
        A :class:`TrainResult`.

    Raises:
        NonFiniteLossError: On a NaN/inf loss; the latest checkpoint is the last good state.
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return _train(method, data, cfg, run_dir, **kwargs)
    with exclusive(Path(run_dir), "training run"):
        return _train(method, data, cfg, run_dir, **kwargs)


def _train(
    method: nn.Module,
    data: Dataset | IterableDataset,
    cfg: EngineConfig,
    run_dir: str | Path,
    *,
    config_to_save: Any = None,
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
    export_fn: Callable[[nn.Module, Path, str], None] | None = None,
    param_groups_fn: Callable[[nn.Module], list[dict]] | None = None,
    accelerator: Accelerator | None = None,
) -> TrainResult:
    """The body of :func:`train` (without the run folder's lock)."""
    run_dir = Path(run_dir)
    if cfg.monitor is not None and eval_fn is None:
        raise ValueError(f"EngineConfig.monitor={cfg.monitor!r} needs an eval_fn to produce it")
    own_accelerator = accelerator is None
    if accelerator is None:
        accelerator = make_accelerator(cfg, run_dir)
    _check_accelerator(accelerator, cfg)
    set_seed(cfg.seed)
    config_to_save = cfg if config_to_save is None else config_to_save

    loader, batches_per_epoch = _build_loader(data, cfg, accelerator)
    plan = plan_run(cfg, batches_per_epoch, accelerator.num_processes)
    model, optimizer, raw, ema = _prepare_model(method, cfg, plan, accelerator, param_groups_fn)
    _prepare_run_dir(run_dir, config_to_save, accelerator)
    run = _Run(
        cfg=cfg,
        plan=plan,
        accelerator=accelerator,
        data=data,
        loader=loader,
        model=model,
        optimizer=optimizer,
        raw=raw,
        ema=ema,
        run_dir=run_dir,
        config_to_save=config_to_save,
        eval_fn=eval_fn,
        export_fn=export_fn,
    )
    resumed_from = latest_checkpoint(run_dir)
    state = _start_state(run, resumed_from)
    if own_accelerator and accelerator.log_with:
        accelerator.init_trackers("ssl_waveform")
    resumed = resumed_from is not None
    loop = _LoopState(
        trainer=state,
        last_saved=state.step if resumed else -1,
        last_ckpt=resumed_from,
        resume_step=state.step if resumed else None,
    )
    _run_epochs(run, loop)
    return _finish(run, loop, resumed_from, own_accelerator)
