"""Draw original, masked and reconstructed inputs of a masked autoencoder (docs/figures/mae_*.png).

    python docs/make_mae_figure.py                      # pretrain a tiny 1-D MAE for ~60 s first
    python docs/make_mae_figure.py runs/pretrain_mae    # run folder: encoder/ + latest checkpoint
    python docs/make_mae_figure.py path/to/encoder      # encoder folder: fits only the decoder

A run folder written by ``recipes/pretrain_mae.py`` holds the exported encoder (``encoder/``) and
the full MAE weights, decoder included, in ``checkpoints/step_*/model.safetensors``. An encoder
folder alone has no decoder, so one is fitted for ``--seconds`` on top of the frozen encoder: the
figure then shows what the encoder's features keep. Without an argument a tiny 1-D ConvNeXt-V2
MAE is pretrained from scratch on synthetic three-phase currents.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from safetensors.torch import load_file

from ssl_waveform.methods import MaskedAutoencoder
from ssl_waveform.models import create_encoder, load_encoder

FIGURES = Path(__file__).resolve().parent / "figures"


def synthetic_three_phase(
    batch: int, channels: int, length: int, sample_rate: float, generator: torch.Generator
) -> torch.Tensor:
    """Inverter-like phase currents ``[B, C, T]``: fundamental, 5th/7th harmonics, PWM ripple.

    A third of the samples get an open-switch-like fault (one phase loses its positive half-wave).
    Channels beyond three repeat the three-phase pattern.
    """

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    t = torch.arange(length) / sample_rate
    f0 = 45 + 20 * rand(batch, 1, 1)
    phase = 2 * math.pi * rand(batch, 1, 1)
    shift = -2 * math.pi / 3 * (torch.arange(channels) % 3).view(1, channels, 1)
    angle = 2 * math.pi * f0 * t + phase + shift
    wave = torch.sin(angle) + 0.08 * rand(batch, 1, 1) * torch.sin(5 * angle)
    wave = wave + 0.05 * rand(batch, 1, 1) * torch.sin(7 * angle)
    carrier = 2 * math.pi * 2000.0 * t
    wave = wave + 0.03 * torch.asin(torch.sin(carrier + 2 * math.pi * rand(batch, channels, 1)))
    faulty = rand(batch) < 1 / 3
    leg = torch.randint(0, min(channels, 3), (batch,), generator=generator)
    for i in faulty.nonzero().flatten().tolist():
        wave[i, leg[i]] = wave[i, leg[i]].clamp(max=0.05)
    return (0.5 + rand(batch, 1, 1)) * wave


def fit(
    mae: MaskedAutoencoder, seconds: float, data: torch.Tensor, generator: torch.Generator
) -> list[float]:
    """Train the MAE's trainable parameters for about ``seconds``; returns the loss per step."""
    params = [p for p in mae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.05)
    losses: list[float] = []
    start = time.monotonic()
    mae.train()
    while time.monotonic() - start < seconds:
        idx = torch.randint(0, data.shape[0], (32,), generator=generator)
        loss = mae({"x": data[idx]})["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def load_or_pretrain(
    path: Path | None, args: argparse.Namespace, generator: torch.Generator
) -> tuple[MaskedAutoencoder, str, list[float]]:
    """Build the MAE to draw and a one-line description of where its weights come from."""
    if path is None:
        encoder = create_encoder("convnext1dv2_test", "raw", 3, sample_rate=20_000.0, window=1024)
        mae = MaskedAutoencoder(encoder, args.mask_ratio, args.masking, decoder_dim=64)
        data = synthetic_three_phase(512, 3, 1024, 20_000.0, generator)
        losses = fit(mae, args.seconds, data, generator)
        return mae, f"tiny 1-D MAE pretrained {len(losses)} steps (~{args.seconds:.0f} s)", losses
    run_checkpoints = sorted((path / "checkpoints").glob("step_*/model.safetensors"))
    if (path / "encoder" / "config.json").is_file() and run_checkpoints:
        state = load_file(str(run_checkpoints[-1]))
        decoder_dim = state["decoder.proj.weight"].shape[0]
        mae = MaskedAutoencoder(
            load_encoder(path / "encoder"),
            args.mask_ratio,
            args.masking,
            decoder_dim=decoder_dim,
            mask_cell=None if "mask_token" in state else 32,  # runs before 2026-11-30: stride cells
        )
        mae.load_state_dict(state)
        return mae, f"MAE checkpoint {run_checkpoints[-1]}", []
    if (path / "config.json").is_file():
        encoder = load_encoder(path)
        encoder.requires_grad_(False)
        mae = MaskedAutoencoder(encoder, args.mask_ratio, args.masking, decoder_dim=128)
        cfg = encoder.config
        data = synthetic_three_phase(
            512, encoder.in_chans, int(cfg["window"]), encoder.sample_rate, generator
        )
        losses = fit(mae, args.seconds, data, generator)
        return mae, f"encoder {path} (frozen) + decoder fitted {len(losses)} steps", losses
    raise FileNotFoundError(
        f"{str(path)!r} is neither a pretraining run folder (encoder/ and checkpoints/step_*/"
        "model.safetensors) nor an encoder folder (config.json + model.safetensors)"
    )


def draw(mae: MaskedAutoencoder, title: str, losses: list[float], out: Path, seed: int) -> None:
    mae.eval()
    cfg = mae.encoder.config
    g = torch.Generator().manual_seed(seed)
    wave = synthetic_three_phase(
        4, mae.encoder.in_chans, int(cfg["window"]), mae.encoder.sample_rate, g
    )
    rec = mae.reconstruct(wave[:1], generator=g)
    x, mask, recon = rec["input"][0], rec["mask"][0], rec["reconstruction"][0]
    if mae.encoder.kind == "1d":
        _draw_1d(x, mask, recon, title)
    else:
        _draw_2d(wave[0], x, mask, recon, title)
    if losses:
        ax = plt.gcf().add_axes((0.83, 0.9, 0.15, 0.07))
        ax.plot(losses, lw=0.8)
        ax.set_title("training loss", fontsize=7)
        ax.tick_params(labelsize=6)
    out.parent.mkdir(parents=True, exist_ok=True)
    plt.savefig(out, dpi=120)
    print(f"wrote {out}")


def _draw_1d(x: torch.Tensor, mask: torch.Tensor, recon: torch.Tensor, title: str) -> None:
    channels = x.shape[0]
    fig, axes = plt.subplots(
        channels, 3, figsize=(13, 2.1 * channels + 0.8), sharex=True, squeeze=False
    )
    fig.suptitle(f"FCMAE on raw waveforms: {title}", fontsize=10, x=0.4)
    t = torch.arange(x.shape[-1])
    for c in range(channels):
        hidden = mask[c]
        masked = torch.where(hidden, torch.nan, x[c])
        axes[c, 0].plot(t, x[c], "k", lw=0.8)
        axes[c, 1].plot(t, masked, "k", lw=0.8)
        axes[c, 2].plot(t, x[c], color="0.6", lw=0.8, label="original")
        axes[c, 2].plot(
            t, torch.where(hidden, recon[c], torch.nan), "r", lw=0.9, label="reconstruction"
        )
        for ax in axes[c]:
            ax.fill_between(
                t, 0, 1, where=hidden.numpy(), color="0.9", transform=ax.get_xaxis_transform()
            )
        axes[c, 0].set_ylabel(f"channel {c}\n(normalised)")
    for ax, name in zip(
        axes[0], ("original", "masked input (encoder view)", "reconstruction of hidden cells")
    ):
        ax.set_title(name, fontsize=9)
    axes[0, 2].legend(fontsize=7, loc="lower right")
    for ax in axes[-1]:
        ax.set_xlabel("sample")
    fig.tight_layout(rect=(0, 0, 1, 0.93))


def _draw_2d(
    wave: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, recon: torch.Tensor, title: str
) -> None:
    channels = min(x.shape[0], 3)
    fig, axes = plt.subplots(channels + 1, 3, figsize=(10, 3 * channels + 2.5), squeeze=False)
    fig.suptitle(f"FCMAE on 2-D representations: {title}", fontsize=10, x=0.4)
    lo, hi = float(x.min()), float(x.max())
    for c in range(channels):
        masked = torch.where(mask[c], torch.nan, x[c])
        for ax, img, name in zip(
            axes[c], (x[c], masked, recon[c]), ("original", "masked input", "reconstruction")
        ):
            ax.imshow(img, aspect="auto", origin="lower", vmin=lo, vmax=hi, cmap="magma")
            ax.set_title(f"channel {c}: {name}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    gs = axes[-1, 0].get_gridspec()
    for ax in axes[-1]:
        ax.remove()
    wave_ax = fig.add_subplot(gs[-1, :])
    for c in range(wave.shape[0]):
        wave_ax.plot(wave[c], lw=0.8, label=f"channel {c}")
    wave_ax.set_title("input waveform (the representation is computed from it)", fontsize=9)
    wave_ax.set_xlabel("sample")
    wave_ax.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.95))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", type=Path, help="run folder or encoder folder")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time when fitting")
    parser.add_argument("--masking", default="random", help="random, time or channel")
    parser.add_argument("--mask-ratio", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=FIGURES / "mae_reconstruction.png")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    mae, title, losses = load_or_pretrain(args.path, args, generator)
    draw(mae, title, losses, args.out, args.seed + 1)


if __name__ == "__main__":
    main()
