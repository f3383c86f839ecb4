"""Independent ngspice model of the same inverter, for cross-checking the simulator.

The netlist is written from the circuit description only (not from the simulator's internals):
voltage-controlled switches (``S`` elements, tiny on-resistance) gated by behavioural sources that
compare the same sinusoidal reference with the same triangle carrier, antiparallel diodes (ngspice
diode with 10 mOhm series resistance, or 0.1 mOhm where ngspice does not converge with that, in
series with a fixed offset so the drop is ``diode_drop`` at 10 A), R-L-EMF loads in an isolated
star (1 GOhm to ground for a DC path). An open-circuited switch has its gate tied low (only its 1
GOhm off-resistance remains); its diode stays. The waveform ngspice produces is averaged over the
simulator's sub-steps and decimated by the same FIR, so both are compared like for like. A 1 nF +
50 Ohm RC snubber from each pole to the midpoint keeps the node defined while both devices of a leg
are off (it carries no load current: the phase current is measured after it).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ssl_waveform.sim.point import SWITCHES, OperatingPoint, fault_mask
from ssl_waveform.sim.simulator import box_average, decimate_substeps, substep_grid

_DIODE_N = 1.0
_DIODE_IS = 1e-12
_DIODE_RS = (1e-2, 1e-4)  # tried in turn: ngspice converges with one or the other
_DIODE_I_REF = 10.0
_THERMAL_V = 0.025852


def ngspice_available(executable: str = "ngspice") -> bool:
    """Whether an ngspice executable is on the PATH."""
    return shutil.which(executable) is not None


def _ref_expr(p: OperatingPoint, k: int, t: str) -> str:
    w = 2 * math.pi * p.f
    ph = math.radians(p.phase_deg)

    def leg(kk: int) -> str:
        return f"{p.m:.12g}*sin({w:.12g}*({t})+{ph - kk * 2 * math.pi / 3:.12g})"

    if not p.zero_sequence:
        return leg(k)
    a, b, c = leg(0), leg(1), leg(2)
    zs = f"(-0.5*(max(max({a},{b}),{c})+min(min({a},{b}),{c})))"
    return f"({leg(k)}+{zs})"


def _carrier_expr(p: OperatingPoint, t: str) -> str:
    x = f"(({t})-{p.carrier_delay / p.fsw:.12g})*{p.fsw:.12g}"
    return f"(2*abs(2*({x}-floor({x}+0.5)))-1)"


def write_netlist(
    point: OperatingPoint, faults: Sequence[str], t_begin: float, t_stop: float, max_step: float,
    out_file: str, diode_rs: float = _DIODE_RS[0],
) -> str:  # fmt: skip
    """ngspice netlist of the inverter at ``point`` with ``faults`` open (open-loop SPWM only).

    Args:
        point: Operating point (``control`` must be ``open_loop``; ``c_dc`` must be 0).
        faults: Open-circuited switch names.
        t_begin: Circuit time at ngspice's t = 0 (the circuit starts at rest there), seconds.
        t_stop: ngspice stop time (simulated span), seconds.
        max_step: Maximum ngspice time step in seconds.
        out_file: Where ``wrdata`` writes time and the three phase currents.
        diode_rs: Series resistance of the diode model in ohms (the offset keeps the drop).

    Returns:
        The netlist text.
    """
    if point.control != "open_loop" or point.c_dc > 0:
        raise ValueError(
            "the ngspice cross-check models open-loop SPWM with a stiff DC link; got "
            f"control={point.control!r}, c_dc={point.c_dc}"
        )
    mask = fault_mask(list(faults))
    t = f"time+{t_begin:.15g}"
    td = point.dead_time
    v_off = (
        point.diode_drop
        - _DIODE_N * _THERMAL_V * math.log(_DIODE_I_REF / _DIODE_IS)
        - _DIODE_I_REF * diode_rs
    )
    lines = [
        f"* ssl_waveform inverter cross-check, open: {','.join(faults) or 'none'}",
        f"Vpos pos 0 DC {point.vdc / 2:.12g}",
        f"Vneg 0 neg DC {point.vdc / 2:.12g}",
        ".model swm sw(vt=0.5 vh=0.1 ron=1e-4 roff=1e9)",
        f".model dm d(is={_DIODE_IS:g} n={_DIODE_N:g} rs={diode_rs:g} cjo=0)",
    ]
    w = 2 * math.pi * point.f
    pe = math.radians(point.phase_deg - point.load_angle_deg)
    for k, x in enumerate("abc"):
        now = f"({_ref_expr(point, k, t)}-{_carrier_expr(point, t)})"
        dly = (
            f"({_ref_expr(point, k, t + f'-{td:.12g}')}-{_carrier_expr(point, t + f'-{td:.12g}')})"
        )
        gu = f"u({now})*u({dly})" if td > 0 else f"u({now})"
        gl = f"(1-u({now}))*(1-u({dly}))" if td > 0 else f"(1-u({now}))"
        lines += [
            f"Bgu{x} gu{x} 0 V={gu}",
            f"Bgl{x} gl{x} 0 V={gl}",
            f"Dup{x} p{x} du{x} dm",
            f"Vdu{x} du{x} pos DC {v_off:.12g}",
            f"Dlo{x} neg dl{x} dm",
            f"Vdl{x} dl{x} p{x} DC {v_off:.12g}",
            f"Vm{x} p{x} q{x} DC 0",
            f"Csn{x} p{x} sn{x} 1n",
            f"Rsn{x} sn{x} 0 50",
            f"R{x} q{x} s{x} {point.r:.12g}",
            f"L{x} s{x} e{x} {point.l:.12g} ic=0",
            f"Be{x} e{x} nn V={point.e:.12g}*sin({w:.12g}*({t})+{pe - k * 2 * math.pi / 3:.12g})",
        ]
        # an open-circuited switch keeps only its off-state resistance (gate tied low)
        gate_u = "0" if mask[SWITCHES.index(f"S{x}+")] else f"gu{x}"
        gate_l = "0" if mask[SWITCHES.index(f"S{x}-")] else f"gl{x}"
        lines += [f"Su{x} pos p{x} {gate_u} 0 swm", f"Sl{x} p{x} neg {gate_l} 0 swm"]
    lines += [
        "Rn nn 0 1e9",
        ".options reltol=1e-4 abstol=1e-8 vntol=1e-5 itl4=100 method=gear",
        ".control",
        "set wr_singlescale",
        "set filetype=ascii",
        f"tran {max_step:.6g} {t_stop:.12g} 0 {max_step:.6g} uic",
        f"wrdata {out_file} i(vma) i(vmb) i(vmc)",
        "quit",
        ".endc",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def run_ngspice(
    point: OperatingPoint,
    faults: Sequence[str] = (),
    sample_rate: float = 20_000.0,
    duration: float = 2048 / 20_000.0,
    settle: float = 0.05,
    max_step: float | None = None,
    executable: str = "ngspice",
    timeout: float = 600.0,
) -> np.ndarray:
    """Simulate ``point`` with ngspice and return the phase currents on the simulator's output grid.

    The ngspice currents are averaged over the simulator's sub-steps (exact integral of the
    piecewise-linear ngspice waveform) and decimated by the same FIR as the simulator.

    Args:
        point: Open-loop operating point with a stiff DC link.
        faults: Open-circuited switch names.
        sample_rate: Output sample rate in Hz.
        duration: Window length in seconds.
        settle: Time from rest to the first sample in seconds.
        max_step: ngspice maximum time step; default ``1 / (200 fsw)``.
        executable: ngspice executable.
        timeout: Seconds before the ngspice run is abandoned.

    Returns:
        ``[3, round(duration * sample_rate)]`` float64 ``ia, ib, ic`` in amperes.
    """
    n_out = round(duration * sample_rate)
    grid = substep_grid(point.fsw, sample_rate, settle, n_out)
    t_stop = grid.n_int * grid.h
    step = max_step if max_step is not None else 1.0 / (200.0 * point.fsw)
    problems = []
    for diode_rs in _DIODE_RS:
        try:
            t, cur = _run_once(
                point, faults, grid.t_begin, t_stop, step, diode_rs, executable, timeout
            )
            break
        except RuntimeError as err:
            problems.append(f"diode rs={diode_rs:g}: {err}")
    else:
        raise RuntimeError(
            f"ngspice did not converge for {point} with open {list(faults)}:\n"
            + "\n".join(problems)
            + "\ntry a smaller max_step"
        )
    box = box_average(t, cur, 0.0, 1.0 / grid.h, grid.n_int)  # exact averages over each sub-step
    return decimate_substeps(box, grid, n_out)


def _run_once(
    point: OperatingPoint, faults: Sequence[str], t_begin: float, t_stop: float, step: float,
    diode_rs: float, executable: str, timeout: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One ngspice run; returns time ``[N]`` and currents ``[3, N]`` or raises RuntimeError."""

    def netlist(out_file: str) -> str:
        return write_netlist(point, faults, t_begin, t_stop, step, out_file, diode_rs)

    data = run_netlist(netlist, executable, timeout)[1:]  # from the first step after t = 0
    t, cur = data[:, 0], data[:, 1:4].T
    kcl = float(np.abs(cur.sum(axis=0)).max())
    if t[-1] < t_stop * (1 - 1e-6) or kcl > 1e-3 * max(float(np.abs(cur).max()), 1e-9):
        raise RuntimeError(
            f"stopped at t = {t[-1]:.6g} s of {t_stop:.6g} s or broke Kirchhoff's current law "
            f"(max |ia + ib + ic| = {kcl:.3g} A)"
        )
    return t, cur


def run_netlist(
    netlist: Callable[[str], str], executable: str = "ngspice", timeout: float = 600.0
) -> np.ndarray:
    """Run ``netlist(out_file)`` (a netlist whose ``wrdata`` writes ``out_file`` with ``wr_singlescale``) in
    batch mode in a temporary folder; returns the table it wrote, ``[rows, 1 + vectors]`` (time first).

    Raises:
        FileNotFoundError: no ngspice executable. RuntimeError: ngspice failed or wrote nothing.
    """
    if not ngspice_available(executable):
        raise FileNotFoundError(
            f"ngspice executable {executable!r} not found on PATH; install ngspice (Debian: "
            "apt-get install ngspice) to run the cross-check"
        )
    with tempfile.TemporaryDirectory(prefix="ssl_ngspice_") as tmp:
        out = Path(tmp) / "out.txt"
        cir = Path(tmp) / "circuit.cir"
        cir.write_text(netlist(str(out)))
        res = subprocess.run(
            [executable, "-b", str(cir)], capture_output=True, text=True, timeout=timeout
        )
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"exit {res.returncode}: {res.stderr[-500:]}")
        return np.loadtxt(out, ndmin=2)


def nrmse(sim: np.ndarray, ref: np.ndarray) -> float:
    """RMS of the difference over RMS of the reference (all channels together)."""
    return float(np.sqrt(np.mean((sim - ref) ** 2)) / np.sqrt(np.mean(ref**2)))
