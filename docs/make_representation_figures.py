"""Draw docs/figures/repr_*.png: one healthy and one faulted window through every representation.

The windows are synthetic three-phase inverter currents (50 Hz, 3 x 2048 samples at 20 kHz, 10 kHz
PWM ripple, 3 % noise); the fault is an open upper switch in phase A, which removes the positive
half-waves of that phase's current. Run from the repository root:

    PYTHONPATH=. .venv/bin/python docs/make_representation_figures.py
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from ssl_waveform.transforms import create_pipeline

FS = 20_000.0
T = 2048
OUT = Path(__file__).resolve().parent / "figures"
REPS = ["raw", "stft", "cwt", "fold", "gaf"]


def currents(f0: float, fault: bool, amplitude: float = 10.0, seed: int = 0) -> torch.Tensor:
    """Three-phase currents ``[1, 3, T]`` in A; ``fault`` opens phase A's upper switch."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T, dtype=torch.float64) / FS
    start = torch.rand(1, generator=g, dtype=torch.float64) * 2 * math.pi
    rows = []
    for k in range(3):
        angle = 2 * math.pi * f0 * t + start - 2 * math.pi * k / 3
        i = torch.sin(angle) + 0.04 * torch.sin(2 * math.pi * 10_000.0 * t + k)
        rows.append(i)
    wave = torch.stack(rows)
    if fault:
        wave[0] = wave[0].clamp(max=0.05)
        wave[1:] -= wave[0:1].mean() / 2  # the missing current returns through the other phases
    wave = amplitude * wave + 0.03 * amplitude * torch.randn(
        wave.shape, generator=g, dtype=torch.float64
    )
    return wave.float().unsqueeze(0)


def overview() -> Path:
    windows = {"healthy": currents(50.0, False), "open switch, phase A": currents(50.0, True)}
    fig, axes = plt.subplots(2, len(REPS) + 1, figsize=(3.0 * (len(REPS) + 1), 6.2))
    for row, (label, wave) in enumerate(windows.items()):
        ax = axes[row, 0]
        t_ms = torch.arange(T) / FS * 1e3
        for c, name in enumerate(("ia", "ib", "ic")):
            ax.plot(t_ms, wave[0, c], lw=0.7, label=name)
        ax.set_title(f"{label}: waveform")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("current (A)")
        ax.legend(fontsize=7, loc="upper right")
        for col, rep in enumerate(REPS, start=1):
            out = create_pipeline(rep, in_chans=3, sample_rate=FS)(wave)[0]
            ax = axes[row, col]
            if rep == "raw":
                ax.plot(t_ms, out[0], lw=0.7)
                ax.set_title("raw (normalised, ch ia)")
                ax.set_xlabel("time (ms)")
                continue
            ax.imshow(
                out[0],
                origin="lower" if rep in ("stft", "cwt") else "upper",
                aspect="auto",
                cmap="magma",
            )
            ax.set_title(f"{rep} (ch ia, 64x64)")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    path = OUT / "repr_overview.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def fold_alignment() -> Path:
    """The fold of the same faulted machine at several output frequencies, and the fallback."""
    freqs = [25.0, 50.0, 90.0, 12.0]
    fig, axes = plt.subplots(1, len(freqs), figsize=(3.2 * len(freqs), 3.3))
    fold = create_pipeline("fold", in_chans=3, sample_rate=FS)
    for ax, f0 in zip(axes, freqs):
        wave = currents(f0, True, seed=int(f0))
        _, _, found = fold.representation.periods(fold.normalization(wave))
        ax.imshow(fold(wave)[0, 0], aspect="auto", cmap="magma")
        mode = "cycle-synchronous" if bool(found.item()) else "fallback: fixed 64-sample rows"
        ax.set_title(f"{f0:g} Hz ({T * f0 / FS:.1f} periods)\n{mode}", fontsize=9)
        ax.set_xlabel("angle (0 at ia's rising zero)")
        ax.set_yticks([])
    fig.tight_layout()
    path = OUT / "repr_fold_frequencies.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for written in (overview(), fold_alignment()):
        print(f"wrote {written}")
