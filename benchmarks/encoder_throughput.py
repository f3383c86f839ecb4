"""Forward+backward throughput of every representation x encoder, and the transforms' share of a step.

Prints a Markdown table: samples/s of one training step (transform, forward, backward, AdamW step)
per representation and backbone, the transform's own time per batch and its share of the step.
On CUDA the step runs under bf16 autocast with channels_last (2-D) and, with ``--compile``, also
through ``torch.compile``.

    python benchmarks/encoder_throughput.py                      # CPU, atto + tiny, 2-D and 1-D
    python benchmarks/encoder_throughput.py --device cuda --compile --batch-size 256
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ssl_waveform.config import parse
from ssl_waveform.models import create_encoder
from ssl_waveform.transforms import RepresentationName

PAIRS_2D = ("convnext_atto", "convnext_tiny")
PAIRS_1D = ("convnext1d_atto", "convnext1d_tiny")


@dataclass
class EncoderThroughputConfig:
    """What is timed, on which device and input.

    Attributes:
        device: torch device of the step (default: cuda when available, else cpu).
        batch_size: windows per training step.
        channels: channels per window.
        window: samples per window.
        image_size: side of the 2-D representations' images.
        iters: timed calls of the step and of the transform per row (the medians are reported).
        warmup: untimed training steps before them (2 more when compiled).
        encoders: encoders to time; a ``convnext1d_*`` one runs on the raw waveform only.
        representations: representations of the 2-D encoders.
        compile: also time each encoder through ``torch.compile`` (meant for CUDA).
    """

    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    batch_size: int = 32
    channels: int = 3
    window: int = 2048
    image_size: int = 64
    iters: int = 3
    warmup: int = 1
    encoders: tuple[str, ...] = PAIRS_2D + PAIRS_1D
    representations: tuple[RepresentationName, ...] = ("stft", "cwt", "fold", "gaf")
    compile: bool = False


def timed(fn: Callable[[], object], iters: int, warmup: int, device: torch.device) -> float:
    """Median seconds per call of ``fn`` over ``iters`` calls after ``warmup`` calls.

    The median, not the mean, because the CPU sandbox is shared and single calls can be
    slowed down several-fold by other processes.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(
    name: str, rep: str, args: EncoderThroughputConfig, device: torch.device, compile_: bool
) -> dict:
    encoder = create_encoder(
        name, rep, in_chans=args.channels, image_size=args.image_size if rep != "raw" else None
    )
    encoder.to(device).train()
    cuda = device.type == "cuda"
    if cuda and encoder.kind == "2d":
        encoder.backbone.to(memory_format=torch.channels_last)
    backbone_step = torch.compile(encoder.forward_input) if compile_ else encoder.forward_input
    opt = torch.optim.AdamW(encoder.parameters(), lr=1e-4)
    x = torch.randn(args.batch_size, args.channels, args.window, device=device)

    def transform() -> torch.Tensor:
        with torch.no_grad():
            out = encoder.transform(x)
        return out.contiguous(memory_format=torch.channels_last) if cuda and out.ndim == 4 else out

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = backbone_step(transform()).float().pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    t_step = timed(step, args.iters, args.warmup + (2 if compile_ else 0), device)
    t_tr = timed(transform, args.iters, 1, device)
    return dict(
        encoder=name + (" (compiled)" if compile_ else ""),
        rep=rep,
        sps=args.batch_size / t_step,
        step_ms=1e3 * t_step,
        tr_ms=1e3 * t_tr,
        share=t_tr / t_step,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse(
        EncoderThroughputConfig,
        argv,
        prog="python benchmarks/encoder_throughput.py",
        description=__doc__,
    )
    device = torch.device(args.device)
    print(
        f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"batch={args.batch_size} window={args.channels}x{args.window} image={args.image_size}"
    )
    print("| encoder | representation | samples/s | step ms | transform ms | transform share |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.encoders:
        reps = ("raw",) if name.startswith("convnext1d") else args.representations
        for rep in reps:
            for compile_ in [False, True] if args.compile else [False]:
                r = bench(name, rep, args, device, compile_)
                print(
                    f"| {r['encoder']} | {r['rep']} | {r['sps']:.1f} | {r['step_ms']:.0f} | "
                    f"{r['tr_ms']:.1f} | {100 * r['share']:.1f}% |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
