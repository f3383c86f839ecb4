"""Throughput of one MAE, SimCLR and supervised training step on the same encoder and input.

Each step is forward + backward + AdamW update on a fixed random batch of waveforms; the table
gives samples/s, the step time relative to the supervised step (target for MAE: <= 1.3x) and, on
CUDA, model FLOP utilisation (FLOPs counted once per step with ``FlopCounterMode``) against the
card's dense bf16 peak. On CUDA the steps run under bf16 autocast with channels_last inputs.

Usage:
    python benchmarks/pretrain_throughput.py --encoder convnext_atto --representation stft
    python benchmarks/pretrain_throughput.py --encoder convnext1d_atto --representation raw
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ssl_waveform.config import parse
from ssl_waveform.methods import MaskedAutoencoder, SimCLR
from ssl_waveform.models import Encoder, create_encoder
from ssl_waveform.transforms import RepresentationName

# dense bf16 tensor-core peaks in TFLOP/s, matched against torch.cuda.get_device_name()
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
    "4090": 165.0,
}


class Supervised(nn.Module):
    """Plain classification step of the same encoder: embedding -> linear -> cross-entropy."""

    def __init__(self, encoder: Encoder, num_classes: int = 10) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.num_features, num_classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": F.cross_entropy(self.head(self.encoder(batch["x"])), batch["y"])}


MethodName = Literal["supervised", "mae", "simclr"]
METHODS: dict[MethodName, Callable[[Encoder], nn.Module]] = {
    "supervised": Supervised,
    "mae": MaskedAutoencoder,
    "simclr": SimCLR,
}


@dataclass
class PretrainThroughputConfig:
    """The encoder, input and methods whose training steps are timed.

    Attributes:
        encoder: encoder name, shared by every method.
        representation: the encoder's input representation (``raw`` for a ``convnext1d_*`` encoder).
        channels: channels per window.
        window: samples per window.
        image_size: side of the representation's images (not used with ``raw``).
        batch: windows per step.
        steps: timed rounds per method.
        warmup: untimed steps per method before them.
        device: torch device (default: cuda when available, else cpu).
        methods: methods to time, in this order; costs are relative to ``supervised`` when it is
            timed, else to the first.
        mask_cell: MAE mask cell (0 = the default: >= 64 cells per sample; 32 = FCMAE's stride cells).
    """

    encoder: str = "convnext_atto"
    representation: RepresentationName = "stft"
    channels: int = 3
    window: int = 2048
    image_size: int = 128
    batch: int = 32
    steps: int = 10
    warmup: int = 3
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    methods: tuple[MethodName, ...] = ("supervised", "mae", "simclr")
    mask_cell: int = 0


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def make_step(
    method: nn.Module, batch: dict[str, torch.Tensor], device: torch.device
) -> Callable[[], None]:
    opt = torch.optim.AdamW(method.parameters(), lr=1e-4)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else contextlib.nullcontext()
    )

    def step() -> None:
        with autocast:
            loss = method(batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def measure(
    steps_by_name: dict[str, Callable[[], None]], device: torch.device, warmup: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """Median wall-clock and process-CPU seconds per step of each method, in interleaved rounds.

    Interleaving (A, B, C, A, B, C, ...) keeps a changing machine load from favouring whichever
    method happened to run in a quiet moment; on a shared CPU the process CPU time is the steadier
    figure (it does not count time spent waiting for a core).
    """
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    wall: dict[str, list[float]] = {name: [] for name in steps_by_name}
    cpu: dict[str, list[float]] = {name: [] for name in steps_by_name}
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            w0, c0 = time.perf_counter(), time.process_time()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {name: (_median(wall[name]), _median(cpu[name])) for name in steps_by_name}


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def count_flops(step: Callable[[], None]) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def main(argv: list[str] | None = None) -> None:
    args = parse(
        PretrainThroughputConfig,
        argv,
        prog="python benchmarks/pretrain_throughput.py",
        description=__doc__,
    )

    device = torch.device(args.device)
    torch.manual_seed(0)
    image_size = args.image_size if args.representation != "raw" else None
    batch = {
        "x": torch.randn(args.batch, args.channels, args.window, device=device),
        "y": torch.randint(0, 10, (args.batch,), device=device),
    }
    peak = peak_tflops(device)
    print(
        f"device={device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'}), "
        f"threads={torch.get_num_threads()}, torch={torch.__version__}"
    )
    print(
        f"encoder={args.encoder} representation={args.representation} batch={args.batch} "
        f"channels={args.channels} window={args.window} image_size={image_size}"
    )
    # on CUDA the wall time is the cost; on a (shared) CPU the process CPU time is the steadier one
    cost = 0 if device.type == "cuda" else 1
    steps: dict[str, Callable[[], None]] = {}
    for name in args.methods:
        torch.manual_seed(0)
        encoder = create_encoder(
            args.encoder,
            args.representation,
            args.channels,
            window=args.window,
            image_size=image_size,
        )
        kwargs = {"mask_cell": args.mask_cell or None} if name == "mae" else {}
        method = METHODS[name](encoder, **kwargs).to(device).train()
        if name == "mae":
            print(f"mae: {method.extra_repr()}")
        if device.type == "cuda":
            method = method.to(memory_format=torch.channels_last)
        steps[name] = make_step(method, batch, device)
    timings = measure(steps, device, args.warmup, args.steps)
    print(
        f"{'method':<11}{'wall ms':>9}{'cpu ms':>9}{'samples/s':>11}{'cost vs sup.':>14}"
        f"{'GFLOP/step':>12}{'MFU':>8}"
    )
    baseline = timings.get("supervised", next(iter(timings.values())))[cost]
    for method_name, step in steps.items():
        wall, cpu = timings[method_name]
        flops = count_flops(step)
        mfu = f"{flops / wall / (peak * 1e12):.1%}" if peak else "n/a"
        print(
            f"{method_name:<11}{wall * 1e3:>9.1f}{cpu * 1e3:>9.1f}{args.batch / wall:>11.1f}"
            f"{timings[method_name][cost] / baseline:>13.2f}x{flops / 1e9:>12.2f}{mfu:>8}"
        )


if __name__ == "__main__":
    main()
