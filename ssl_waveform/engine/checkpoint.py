"""Checkpoint folders: atomic save, discovery of the latest one, pruning, trainer state."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from accelerate import Accelerator

from .config_io import save_config

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer_state.json"
_NAME = re.compile(r"^step_(\d{9})$")


@dataclass
class TrainerState:
    """Loop position stored next to accelerate's state in every checkpoint.

    Attributes:
        step: Optimizer steps completed over the whole run.
        epoch: Epoch in progress (0-based) when saved.
        batches_seen: Micro-batches of ``epoch`` already consumed by this rank; a value equal to
            the epoch length means the epoch is complete.
        best_metric: Best value of the monitored metric so far, None when not monitoring.
        epochs_since_best: Evaluated epochs since the best metric (for patience).
        stopped_early: Whether patience ended the run.
        total_steps: Planned optimizer steps of the run (for the resume message).
    """

    step: int
    epoch: int
    batches_seen: int
    best_metric: float | None = None
    epochs_since_best: int = 0
    stopped_early: bool = False
    total_steps: int = 0


def checkpoint_dir(run_dir: str | Path) -> Path:
    """The folder holding a run's checkpoints: ``run_dir/checkpoints``."""
    return Path(run_dir) / CHECKPOINTS


def _completed(run_dir: str | Path) -> list[tuple[int, Path]]:
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_dir() and (path / TRAINER_STATE).is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The most advanced complete checkpoint of a run.

    Only folders named ``step_<9 digits>`` that contain ``trainer_state.json`` count; a
    ``*.tmp`` folder left by a crash mid-write is never returned.

    Args:
        run_dir: The run folder.

    Returns:
        Path of ``run_dir/checkpoints/step_XXXXXXXXX`` with the highest step, or None.
    """
    done = _completed(run_dir)
    return done[-1][1] if done else None


def read_trainer_state(ckpt: str | Path) -> TrainerState:
    """Read ``trainer_state.json`` of a checkpoint folder.

    Raises:
        ValueError: If the file is missing keys; the message names the file.
    """
    path = Path(ckpt) / TRAINER_STATE
    data = json.loads(path.read_text())
    try:
        return TrainerState(**data)
    except TypeError as err:
        raise ValueError(f"{path}: not a trainer state written by this engine ({err})") from err


def remove_stale_tmp(run_dir: str | Path) -> None:
    """Delete ``*.tmp`` checkpoint folders left by a crash during a save (main process only)."""
    folder = checkpoint_dir(run_dir)
    if folder.is_dir():
        for path in folder.glob("*.tmp"):
            shutil.rmtree(path, ignore_errors=True)


def save_checkpoint(
    accelerator: Accelerator, run_dir: str | Path, state: TrainerState, config: Any, keep: int
) -> Path:
    """Save the full training state atomically, then prune old checkpoints.

    Every process writes into ``step_XXXXXXXXX.tmp`` (accelerate stores model, optimizer, scaler,
    registered objects such as the EMA, and one RNG file per process); the main process adds
    ``trainer_state.json`` and ``config.yaml`` and renames the folder, so a crash at any point
    leaves either the previous checkpoints or a complete new one. Must be called on all processes;
    the run folder must be shared by all nodes.

    Args:
        accelerator: The run's accelerator (after ``prepare``).
        run_dir: The run folder.
        state: Loop position to store.
        config: Resolved config dataclass copied into the checkpoint.
        keep: Number of most recent checkpoints to keep.

    Returns:
        The final checkpoint folder.
    """
    final = checkpoint_dir(run_dir) / f"step_{state.step:09d}"
    tmp = final.with_name(final.name + ".tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / TRAINER_STATE).write_text(json.dumps(asdict(state), indent=2) + "\n")
        save_config(config, tmp / "config.yaml")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        for _, old in _completed(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
