"""What the ablations share: one fixed-schedule fine-tune, its validation score, and their error type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssl_waveform.benchmark.shift import finetune_fixed
from ssl_waveform.engine import read_log
from ssl_waveform.identity import Init


class AblationError(Exception):
    """An ablation cannot run as configured (e.g. its input data is missing); the CLI prints one ``error:``
    line and exits with status 2."""


def finetune_once(
    run_dir: Path, *, epochs: int, seed: int, init: Init | str, **fields: Any
) -> dict[str, Any]:
    """Fine-tune ``init`` with a fixed schedule (last epoch kept) unless ``run_dir`` already finished.

    Args:
        run_dir: The run folder; a finished one (``metrics.json``) is not run again.
        epochs: Fine-tuning epochs.
        seed: Draws the labeled subset and seeds the run.
        init: ``scratch``, ``imagenet``, a shipped encoder's name or an encoder folder (:meth:`Init.parse`).
        **fields: Other ``FinetuneConfig`` fields.

    Returns:
        The run's ``metrics.json``.
    """
    return finetune_fixed(run_dir, epochs=epochs, seed=seed, init=Init.parse(init), **fields)


def val_accuracy(run_dir: Path) -> float:
    """Validation accuracy logged at the last epoch of a fine-tuning run."""
    return float(read_log(run_dir)[-1]["val_acc"])
