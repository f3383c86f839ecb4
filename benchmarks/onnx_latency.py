"""Per-window CPU latency of a classifier at batch 1: PyTorch eager vs the exported ONNX graph in onnxruntime.

Exports the classifier folder (``ssl_waveform.export``, parity-checked), then times ``--repeats`` single-window
calls of each runtime after ``--warmup`` calls, with ``--threads`` intra-op threads for both. Prints median and
90th-percentile milliseconds per window.

Usage:
    python benchmarks/onnx_latency.py --checkpoint runs/quickstart/finetune_mae_s0/classifier_last
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_waveform.config import parse
from ssl_waveform.export import check_windows, export_onnx
from ssl_waveform.methods.classify import load_classifier


@dataclass
class OnnxLatencyConfig:
    """The classifier and how it is timed.

    Attributes:
        checkpoint: classifier folder (``classifier_last`` of a fine-tuning run).
        threads: intra-op threads of both runtimes.
        warmup: untimed calls of each runtime first.
        repeats: timed single-window calls of each runtime.
    """

    checkpoint: Path
    threads: int = 1
    warmup: int = 10
    repeats: int = 100


def timings(fn, x: np.ndarray, warmup: int, repeats: int) -> list[float]:
    for i in range(warmup):
        fn(x[i % len(x) : i % len(x) + 1])
    out = []
    for i in range(repeats):
        one = x[i % len(x) : i % len(x) + 1]
        start = time.perf_counter()
        fn(one)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse(
        OnnxLatencyConfig, argv, prog="python benchmarks/onnx_latency.py", description=__doc__
    )
    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    model = load_classifier(args.checkpoint).eval()
    x = check_windows(model, batch=16).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        result = export_onnx(args.checkpoint, Path(tmp) / "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(result.path), options, providers=["CPUExecutionProvider"]
        )

        def run_ort(w: np.ndarray) -> np.ndarray:
            return session.run(None, {"waveform": w})[0]

        @torch.no_grad()
        def run_torch(w: np.ndarray) -> np.ndarray:
            return model.logits(torch.from_numpy(w)).numpy()

        rows = [
            ("PyTorch eager", timings(run_torch, x, args.warmup, args.repeats)),
            ("onnxruntime", timings(run_ort, x, args.warmup, args.repeats)),
        ]
    cfg = model.config()
    print(
        f"\n{cfg['encoder']['architecture']['name']} / {cfg['representation']['name']}, one window "
        f"[1, {len(cfg['channel_names'])}, {cfg['window']}], {args.threads} thread(s), {args.repeats} calls, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, onnxruntime {ort.__version__}; "
        f"parity max |logit difference| {result.max_abs_diff:.1e}\n"
    )
    print("| runtime | median ms / window | p90 ms / window |\n|---|---|---|")
    for name, ms in rows:
        p90 = statistics.quantiles(ms, n=10)[-1]
        print(f"| {name} | {statistics.median(ms):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    main()
