"""``ssl-waveform export``: a classifier folder to ONNX, checked against PyTorch with onnxruntime (also
``python -m ssl_waveform.export``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ssl_waveform.config import parse
from ssl_waveform.export import OPSET, export_onnx


@dataclass
class ExportArgs:
    """The command line of ``ssl-waveform export``.

    Attributes:
        checkpoint: classifier folder (e.g. runs/finetune/classifier).
        out: ONNX file to write (a .json sidecar is written beside it).
        opset: ONNX opset.
        check: run the onnxruntime parity check.
        tolerance: largest allowed |logit difference| of the parity check.
    """

    checkpoint: Path
    out: Path
    opset: int = OPSET
    check: bool = True
    tolerance: float = 1e-4


def main(argv: list[str] | None = None) -> int:
    args = parse(
        ExportArgs,
        argv,
        prog="ssl-waveform export",
        description="Export a classifier folder to ONNX ([N, C, T] waveform windows -> [N, K] logits), "
        "checked against PyTorch with onnxruntime.",
    )
    try:
        result = export_onnx(
            args.checkpoint,
            args.out,
            opset=args.opset,
            check=args.check,
            tolerance=args.tolerance,
        )
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    checked = (
        f"onnxruntime max |logit difference| {result.max_abs_diff:.2e}"
        if result.max_abs_diff is not None
        else "not checked"
    )
    print(
        f"wrote {result.path} ({result.path.stat().st_size / 2**20:.1f} MiB) and {result.sidecar}; {checked}"
    )
    return 0
