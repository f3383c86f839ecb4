"""Generate the example waveform figures of docs/simulator.md (docs/figures/sim_*.png).

Usage::

    python docs/make_simulator_figures.py
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ssl_waveform.sim import OperatingPoint, simulate, time_grid

OUT = Path(__file__).resolve().parent / "figures"
POINT = OperatingPoint(
    vdc=400.0, m=0.8, f=50.0, fsw=10_000.0, r=2.0, l=5e-3, e=100.0,
    load_angle_deg=20.0, phase_deg=0.0, carrier_delay=0.0, dead_time=1e-6,
)  # fmt: skip
CASES = {
    "sim_healthy.png": (POINT, [], "healthy, open-loop SPWM"),
    "sim_single_open_Sa_upper.png": (POINT, ["Sa+"], "single fault open:Sa+"),
    "sim_double_open_Sa_upper_Sb_lower.png": (POINT, ["Sa+", "Sb-"], "double fault open:Sa+,Sb-"),
    "sim_double_open_leg_a.png": (POINT, ["Sa+", "Sa-"], "double fault open:Sa+,Sa- (leg a floats)"),
    "sim_closed_loop_open_Sa_upper.png": (
        dataclasses.replace(POINT, control="closed_loop"), ["Sa+"],
        "open:Sa+ under closed-loop dq current control",
    ),
}  # fmt: skip


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    t = time_grid(20_000.0, 2048 / 20_000.0, 0.05)
    for name, (point, faults, title) in CASES.items():
        x = simulate(point, faults)
        fig, ax = plt.subplots(figsize=(8, 3))
        for k, ch in enumerate(("ia", "ib", "ic")):
            ax.plot(1e3 * t, x[k], lw=1, label=ch)
        ax.set(xlabel="time (ms)", ylabel="phase current (A)", title=title)
        ax.legend(loc="upper right", ncol=3)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(OUT / name, dpi=90)
        plt.close(fig)
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
