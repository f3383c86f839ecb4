"""Checkpoint folders: atomic save, discovery of the latest one, pruning, trainer state.

Trust model: nothing in a checkpoint is unpickled. Model weights are safetensors and the optimizer state is read by
accelerate with ``torch.load(weights_only=True)`` (tensors and plain containers only). The two things accelerate
would pickle are kept out of its hands: the EMA weights are written here as ``ema.safetensors``, and the RNG states
as ``rng_state_<rank>.safetensors`` (torch CPU/CUDA generator states, the numpy MT19937 key) plus
``rng_state_<rank>.json`` (the rest of numpy's and Python's state); accelerate's ``random_states_<rank>.pkl`` is
deleted after each save, and a ``*.pkl`` found in a checkpoint (an older checkpoint, or a planted file) is never
given to the loader: it is named in a warning and skipped.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from accelerate import Accelerator

from ssl_waveform.serialize import save_config, to_dict

from .._atomic import atomic_write_json, atomic_write_text, publish_dir

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer_state.json"
EMA_FILE = "ema.safetensors"
RNG_TENSORS = "rng_state_{}.safetensors"
RNG_JSON = "rng_state_{}.json"
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


# settings a rerun may change and still continue the same run: its length, logging, checkpointing and workers
RESUMABLE_FIELDS = frozenset(
    {"epochs", "max_steps", "log_every", "checkpoint_every", "keep_checkpoints", "num_workers"}
)


class RunConfigMismatchError(ValueError):
    """A run folder's checkpoint was made with other settings than the run now asked for."""


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _plain_json(config: Any) -> Any:
    return json.loads(json.dumps(to_dict(config), default=str))


def check_same_run(ckpt: Path, config: Any) -> None:
    """Refuse to resume ``ckpt`` with a config that differs from the one it was saved with.

    Only the fields in :data:`RESUMABLE_FIELDS` (the run's length, logging, checkpointing, workers) and the run
    folder's own path may change between invocations; anything else (labels, init, data, method settings)
    would continue one run's weights under another run's name. A field the saved config lacks (added to the
    library after the run was made) counts as unchanged when the new value is its default: a new field's
    default keeps the behaviour the run was made with.

    Raises:
        RunConfigMismatchError: naming every differing field with both values.
    """
    import yaml

    saved = ckpt / "config.yaml"
    if not saved.is_file():
        return
    old = _flatten(yaml.safe_load(saved.read_text()) or {})
    new = _flatten(_plain_json(config))
    try:
        default = _flatten(_plain_json(type(config)()))
    except TypeError:  # a config class with required fields has no default instance
        default = {}
    changed = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if key.rsplit(".", 1)[-1] not in RESUMABLE_FIELDS | {"run_dir"}
        and old.get(key) != new.get(key)
        and not (key not in old and key in default and new.get(key) == default[key])
    ]
    if changed:
        raise RunConfigMismatchError(
            f"{ckpt.parent.parent} holds a run made with other settings ({'; '.join(changed[:8])}"
            f"{' ...' if len(changed) > 8 else ''}); resuming it would mix the two. Use a new run folder, "
            "delete this one, or rerun with the same settings"
        )


def save_rng_state(folder: Path, rank: int) -> None:
    """Write this process's torch, CUDA, numpy and Python RNG states without pickle."""
    # the legacy global generator is the state to save: libraries and user code draw from it
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # type: ignore[misc]  # noqa: NPY002
    tensors = {
        "torch_cpu": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
    }
    if torch.cuda.is_available():
        tensors["torch_cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    version, internal, gauss = random.getstate()
    meta = {
        "numpy": {
            "kind": kind,
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "state": list(internal), "gauss": gauss},
    }
    safetensors.torch.save_file(tensors, str(folder / RNG_TENSORS.format(rank)))
    atomic_write_text(folder / RNG_JSON.format(rank), json.dumps(meta) + "\n")


def load_rng_state(folder: Path, rank: int) -> bool:
    """Restore the RNG states :func:`save_rng_state` wrote; False (nothing changed) when absent."""
    tensor_file, json_file = folder / RNG_TENSORS.format(rank), folder / RNG_JSON.format(rank)
    if not (tensor_file.is_file() and json_file.is_file()):
        return False
    try:
        tensors = safetensors.torch.load_file(str(tensor_file))
        meta = json.loads(json_file.read_text())
        torch.set_rng_state(tensors["torch_cpu"])
        if "torch_cuda" in tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(list(tensors["torch_cuda"]))
        n = meta["numpy"]
        np.random.set_state(  # noqa: NPY002
            (
                n["kind"],
                tensors["numpy_keys"].numpy().astype(np.uint32),
                n["pos"],
                n["has_gauss"],
                n["cached"],
            )
        )
        py = meta["python"]
        random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    except Exception as err:  # a corrupt or hand-edited file: say which
        raise ValueError(f"{folder}: unreadable RNG state ({type(err).__name__}: {err})") from err
    return True


@contextmanager
def pickle_free_view(ckpt: Path) -> Iterator[Path]:
    """``ckpt`` as accelerate should see it: a temporary folder linking every file but ``*.pkl``."""
    pickles = sorted(p.name for p in ckpt.glob("*.pkl"))
    if not pickles:
        yield ckpt
        return
    warnings.warn(
        f"{ckpt}: not loading {', '.join(pickles)} (pickled state is never read from a run folder; "
        "an older checkpoint's EMA or RNG state is lost, the run resumes without it)",
        stacklevel=3,
    )
    with tempfile.TemporaryDirectory(prefix="ckpt-view-") as tmp:
        for p in ckpt.iterdir():
            if p.suffix != ".pkl":
                os.symlink(p.resolve(), Path(tmp) / p.name)
        yield Path(tmp)


def save_checkpoint(
    accelerator: Accelerator,
    run_dir: str | Path,
    state: TrainerState,
    config: Any,
    keep: int,
    ema: torch.nn.Module | None = None,
) -> Path:
    """Save the full training state atomically, then prune old checkpoints.

    Every process writes into ``step_XXXXXXXXX.tmp`` (accelerate stores model, optimizer and scaler; each
    process adds its RNG state without pickle, see the module docstring); the main process adds the EMA
    weights (``ema``), ``trainer_state.json`` and ``config.yaml`` and renames the folder, so a crash at any
    point leaves either the previous checkpoints or a complete new one. Must be called on all processes;
    the run folder must be shared by all nodes.

    Args:
        accelerator: The run's accelerator (after ``prepare``).
        run_dir: The run folder.
        state: Loop position to store.
        config: Resolved config dataclass copied into the checkpoint.
        keep: Number of most recent checkpoints to keep.
        ema: The EMA model (its ``state_dict`` goes to ``ema.safetensors``), if any.

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
    rank = accelerator.process_index
    # accelerate's pickled RNG state: save_rng_state replaces it
    (tmp / f"random_states_{rank}.pkl").unlink(missing_ok=True)
    save_rng_state(tmp, rank)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if ema is not None:
            tensors = {k: v.detach().cpu().contiguous() for k, v in ema.state_dict().items()}
            safetensors.torch.save_file(tensors, str(tmp / EMA_FILE))
        atomic_write_json(tmp / TRAINER_STATE, asdict(state))
        save_config(config, tmp / "config.yaml")
        publish_dir(tmp, final)
        for _, old in _completed(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
