"""Export a classifier folder to ONNX: waveform windows ``[N, C, T]`` in, logits ``[N, K]`` out.

``python -m ssl_waveform.export --checkpoint DIR --out model.onnx`` (see docs/performance.md).

The graph holds the whole per-window pipeline: normalisation, the representation (for ``fold`` that includes
the per-window fundamental estimate and the cycle-synchronous resampling), the backbone and the head. It is
traced with ``torch.export`` (``torch.onnx.export(dynamo=True)``) with a dynamic batch and the classifier's
fixed window length ``T`` at its sampling rate. What stays in Python (``Classifier.predict``): resampling a
recording to the model's rate, cutting it into windows, and averaging the window logits per recording; the
sidecar ``model.onnx.json`` holds what that code needs (sample rate, window, channel and class names).

After export the graph is run with onnxruntime (the optional extra ``ssl_waveform[onnx]``) on random windows and
on windows with a sinusoidal fundamental, and compared with PyTorch; the export fails when the largest absolute
logit difference exceeds ``tolerance`` (1e-4). Files are written under temporary names and renamed.
"""

# No `from __future__ import annotations`: ssl_waveform.config resolves string annotations in
# sys.modules[cls.__module__], which is not this file when runpy runs it as __main__ (the tests).
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl_waveform._atomic import atomic_path, atomic_write_json
from ssl_waveform.methods.classify import Classifier, load_classifier

OPSET = 18


class _Logits(nn.Module):
    """``[N, C, T]`` waveform windows -> ``[N, K]`` logits (what the ONNX graph computes)."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.classifier.logits(waveform)


@dataclass
class ExportResult:
    """Where the model went and how closely onnxruntime reproduces PyTorch (``None``: not checked)."""

    path: Path
    sidecar: Path
    max_abs_diff: float | None


def check_windows(classifier: Classifier, batch: int = 8, seed: int = 0) -> torch.Tensor:
    """Windows to compare runtimes on: half white noise, half three-phase sinusoids with harmonics and noise."""
    cfg = classifier.config()
    channels, window, rate = (
        len(cfg["channel_names"]),
        int(cfg["window"]),
        float(cfg["sample_rate"]),
    )
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch // 2, channels, window, generator=g)
    t = torch.arange(window) / rate
    f0 = 20.0 + 60.0 * torch.rand(batch - batch // 2, 1, 1, generator=g)
    shift = 2 * math.pi / 3 * torch.arange(channels).view(1, -1, 1)
    sine = torch.sin(2 * math.pi * f0 * t - shift) + 0.1 * torch.sin(6 * math.pi * f0 * t - shift)
    sine = 10.0 * sine + 0.3 * torch.randn(sine.shape, generator=g)
    return torch.cat([noise, sine]).float()


def onnx_logits(path: str | Path, windows: np.ndarray) -> np.ndarray:
    """Run an exported model with onnxruntime on ``[N, C, T]`` windows (CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"waveform": np.ascontiguousarray(windows, dtype=np.float32)})[0]


def _check_export(
    onnx_file: Path,
    model: nn.Module,
    windows: torch.Tensor,
    tolerance: float,
    checkpoint: str | Path,
) -> float:
    """The largest difference between onnxruntime's and PyTorch's logits; raises above ``tolerance``."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "checking the export needs onnxruntime: pip install 'ssl_waveform[onnx]' (or pass --no-check)"
        ) from err
    with torch.no_grad():
        expected = model(windows).numpy()
    diff = float(np.abs(onnx_logits(onnx_file, windows.numpy()) - expected).max())
    if not diff <= tolerance:
        raise ValueError(
            f"{checkpoint}: onnxruntime logits differ from PyTorch by {diff:.3g} (> {tolerance:g}); "
            "the model was not written"
        )
    return diff


def _sidecar(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a consumer of the ONNX file needs to know: input, output, window and what stays in Python."""
    return {
        "format": "ssl_waveform.onnx",
        "input": {
            "name": "waveform",
            "shape": ["N", len(cfg["channel_names"]), int(cfg["window"])],
        },
        "output": {"name": "logits", "shape": ["N", len(cfg["class_names"])]},
        "sample_rate": cfg["sample_rate"],
        "window": cfg["window"],
        "channel_names": cfg["channel_names"],
        "class_names": cfg["class_names"],
        "in_graph": ["normalization", "representation", "backbone", "head"],
        "in_python": [
            "resampling to sample_rate",
            "sliding windows",
            "averaging logits per recording",
        ],
    }


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    *,
    opset: int = OPSET,
    check: bool = True,
    tolerance: float = 1e-4,
) -> ExportResult:
    """Export the classifier folder ``checkpoint`` to the ONNX file ``out`` (and ``out.json``).

    Raises:
        ValueError: the onnxruntime logits differ from PyTorch's by more than ``tolerance`` (nothing written).
        ImportError: ``check`` is set and onnxruntime is not installed (the message names the extra).
    """
    try:
        import onnxscript  # noqa: F401  (the torch.export-based ONNX exporter needs it)
    except ImportError as err:
        raise ImportError(
            "ONNX export needs onnxscript and onnx: pip install 'ssl_waveform[onnx]'"
        ) from err
    classifier = load_classifier(checkpoint).eval()
    cfg = classifier.config()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    windows = check_windows(classifier)
    model = _Logits(classifier).eval()
    batch = torch.export.Dim("batch", min=1, max=65536)
    with atomic_path(out) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (windows,),
                str(tmp),
                input_names=["waveform"],
                output_names=["logits"],
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        diff = _check_export(tmp, model, windows, tolerance, checkpoint) if check else None
        sidecar = out.with_name(out.name + ".json")
        meta = {
            **_sidecar(cfg),
            "opset": opset,
            "checkpoint": str(checkpoint),
            "onnxruntime_max_abs_diff": diff,
            "torch": torch.__version__,
        }
        atomic_write_json(sidecar, meta)  # first, so the new model never appears without it
    return ExportResult(out, sidecar, diff)


if __name__ == "__main__":  # python -m ssl_waveform.export: an alias of ssl-waveform export
    from ssl_waveform.cli.export import main

    sys.exit(main())
