"""The ablations: measurements on validation splits that chose the library's defaults (docs/results.md).

Each is a module with a typed config dataclass and a ``run(cfg)`` function, registered here by name and run as
``ssl-waveform ablation NAME [flags]`` (``ssl-waveform ablation --help`` lists them):

- ``shift``: fine-tuning choices under an operating-point shift inside the labeled pool
- ``ssl``: MAE pretraining choices (mask grid, ratio, normalisation, corpus), SSL minus scratch
- ``itsc``: fine-tuning and pretraining settings on the real ITSC recordings
- ``ceiling``: the all-label ceiling of a scratch ConvNeXt by representation and normalisation
- ``imagenet_input``: input size and input standardisation of an ImageNet-initialised EfficientNet-Lite0
- ``detection_window``: held-out accuracy vs the classifier's window length
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ssl_waveform.benchmark.ablations import (
    ceiling,
    detection_window,
    imagenet_input,
    itsc,
    shift,
    ssl,
)
from ssl_waveform.benchmark.ablations.common import AblationError, finetune_once, val_accuracy


@dataclass(frozen=True)
class Ablation:
    """One registered ablation.

    Attributes:
        name: its name on the command line (``ssl-waveform ablation NAME``).
        config: its config dataclass (defaults: the run recorded in docs/results.md).
        run: the library function that takes a ``config`` instance and runs the ablation.
        help: one line saying what it measures.
        doc: the module's docstring (the command's ``--help`` text).
    """

    name: str
    config: type[Any]
    run: Callable[[Any], Any]
    help: str
    doc: str


class _Registry(dict[str, Ablation]):
    """A dict whose missing names raise a ``KeyError`` listing the valid ones."""

    def __missing__(self, name: str) -> Ablation:
        raise KeyError(f"unknown ablation {name!r}; ablations: {', '.join(self)}")


def _ablation(name: str, module: Any, config: type[Any], help_: str) -> Ablation:
    return Ablation(name, config, module.run, help_, module.__doc__ or "")


ABLATIONS: dict[str, Ablation] = _Registry(
    (a.name, a)
    for a in (
        _ablation(
            "shift",
            shift,
            shift.ShiftAblationConfig,
            "fine-tuning choices under an operating-point shift (labeled pool only)",
        ),
        _ablation(
            "ssl",
            ssl,
            ssl.SslAblationConfig,
            "MAE pretraining choices, SSL minus scratch on the validation split",
        ),
        _ablation(
            "itsc",
            itsc,
            itsc.ItscAblationConfig,
            "fine-tuning and pretraining settings on the real ITSC recordings (validation)",
        ),
        _ablation(
            "ceiling",
            ceiling,
            ceiling.CeilingAblationConfig,
            "all-label ceiling of a scratch ConvNeXt by representation and normalisation",
        ),
        _ablation(
            "imagenet_input",
            imagenet_input,
            imagenet_input.ImagenetInputAblationConfig,
            "input size and standardisation of an ImageNet-initialised EfficientNet-Lite0",
        ),
        _ablation(
            "detection_window",
            detection_window,
            detection_window.DetectionWindowAblationConfig,
            "held-out accuracy vs the classifier's window length",
        ),
    )
)


def get_ablation(name: str) -> Ablation:
    """The ablation registered as ``name``.

    Raises:
        KeyError: no such ablation; the message lists the valid names.
    """
    return ABLATIONS[name]


def list_ablations() -> list[str]:
    """The registered ablations' names, in registration order."""
    return list(ABLATIONS)


__all__ = [
    "ABLATIONS",
    "Ablation",
    "AblationError",
    "finetune_once",
    "get_ablation",
    "list_ablations",
    "val_accuracy",
]
