"""Public simulation API: one operating point or a batch, sampled on ``settle + k / sample_rate``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, NamedTuple, get_args

import numpy as np
from scipy import signal

from ssl_waveform.sim import kernel as K
from ssl_waveform.sim.point import CONTROL_MODES, SWITCHES, OperatingPoint, fault_mask

ChannelName = Literal["ia", "ib", "ic", "va", "vb", "vc", "vdc", "idc"]
CHANNELS: tuple[str, ...] = get_args(ChannelName)
"""Channels the simulator can output: phase currents (A, positive into the load), pole voltages
w.r.t. the grounded DC midpoint (V), DC-link terminal voltage (V) and DC-link current drawn from
the positive rail (A). All are sub-step averages passed through the anti-aliasing filter."""

CHANNEL_UNITS: dict[str, str] = {
    "ia": "A", "ib": "A", "ic": "A", "va": "V", "vb": "V", "vc": "V", "vdc": "V", "idc": "A",
}  # fmt: skip

DEFAULT_CHANNELS: tuple[str, ...] = ("ia", "ib", "ic")
SUBSTEPS_PER_CARRIER = 8
"""Minimum number of sub-steps per carrier period (PWM edges inside a sub-step are exact anyway;
this bounds the error of the midpoint back-EMF and the linearised reference)."""


def substep_ratio(fsw: float, sample_rate: float, per_carrier: int = SUBSTEPS_PER_CARRIER) -> int:
    """Sub-steps per output sample: the smallest integer >= 2 giving ``per_carrier`` per period."""
    if per_carrier < 4:
        raise ValueError(f"need at least 4 sub-steps per carrier period, got {per_carrier}")
    return max(2, math.ceil(per_carrier * fsw / sample_rate - 1e-9))


@lru_cache(maxsize=64)
def decimation_filter(ratio: int) -> np.ndarray:
    """Linear-phase anti-aliasing FIR applied at the sub-step rate before keeping every ``ratio``-th.

    ``16 * ratio + 1`` taps, Kaiser window (beta 8, about 80 dB stop band), cutoff at 0.45 of the
    output sample rate; unit DC gain. Applied centred (zero delay) on the sub-step averages, which
    are themselves a box filter of one sub-step.

    Returns:
        ``[16 * ratio + 1]`` float64 taps.
    """
    if ratio < 1:
        raise ValueError(f"decimation ratio must be >= 1, got {ratio}")
    if ratio == 1:
        return np.ones(1)
    taps = signal.firwin(16 * ratio + 1, 0.45 / ratio * 2, window=("kaiser", 8.0))
    return np.asarray(taps / taps.sum(), dtype=np.float64)


class SubstepGrid(NamedTuple):
    """Sub-step time grid of one window: sub-step j averages ``[t_begin + j h, t_begin + (j+1) h]``.

    Attributes:
        ratio: Sub-steps per output sample.
        h: Sub-step in seconds.
        n_pre: Index of the sub-step centred on the first output sample (``settle``).
        n_int: Number of sub-steps simulated (enough for the FIR's right half after the last sample).
        t_begin: Simulation start (circuit at rest), seconds; ``t_begin + (n_pre + 1/2) h = settle``.
    """

    ratio: int
    h: float
    n_pre: int
    n_int: int
    t_begin: float


def substep_grid(
    fsw: float,
    sample_rate: float,
    settle: float,
    n_out: int,
    per_carrier: int = SUBSTEPS_PER_CARRIER,
) -> SubstepGrid:
    """The sub-step grid used for a window (see :class:`SubstepGrid`)."""
    ratio = substep_ratio(fsw, sample_rate, per_carrier)
    half = (len(decimation_filter(ratio)) - 1) // 2
    h = 1.0 / (ratio * sample_rate)
    n_pre = max(half, math.floor((settle - 0.5 * h) / h))
    n_int = n_pre + (n_out - 1) * ratio + half + 1
    return SubstepGrid(ratio, h, n_pre, n_int, settle - 0.5 * h - n_pre * h)


def box_average(
    t: np.ndarray, values: np.ndarray, t0: float, sample_rate: float, n: int
) -> np.ndarray:
    """Exact averages of the piecewise-linear waveform ``values`` ``[C, N]`` (at times ``t``) over ``n``
    intervals of ``1 / sample_rate`` from ``t0``, as an integrating ADC sees it; ``[C, n]``."""
    steps = 0.5 * (values[:, 1:] + values[:, :-1]) * np.diff(t)
    cum = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    edges = t0 + np.arange(n + 1) / sample_rate
    return np.diff(np.stack([np.interp(edges, t, c) for c in cum]), axis=1) * sample_rate


def decimate_substeps(x: np.ndarray, grid: SubstepGrid, n_out: int) -> np.ndarray:
    """Apply the anti-aliasing FIR to sub-step averages and keep the output samples.

    The same operation as inside the kernel, for sub-step averages computed elsewhere (ngspice).

    Args:
        x: ``[..., grid.n_int]`` sub-step averages.
        grid: The window's sub-step grid.
        n_out: Output samples.

    Returns:
        ``[..., n_out]`` float64 samples at ``settle + k / sample_rate``.
    """
    taps = decimation_filter(grid.ratio)
    half = (len(taps) - 1) // 2
    idx = grid.n_pre + grid.ratio * np.arange(n_out)[:, None] + np.arange(len(taps))[None] - half
    return np.einsum("...kq,q->...k", x[..., idx], taps)


def _point_row(p: OperatingPoint, fault_on: float, fault_off: float) -> np.ndarray:
    row = np.zeros(K.N_PARAMS)
    iref = p.current_phasor()
    row[: K.P_VD] = [
        p.vdc, p.m, p.f, p.fsw, p.r, p.l, p.e,
        math.radians(p.load_angle_deg), math.radians(p.phase_deg), p.carrier_delay,
    ]  # fmt: skip
    row[K.P_VD] = p.diode_drop
    row[K.P_TD] = p.dead_time
    row[K.P_ZS] = float(p.zero_sequence)
    row[K.P_MODE] = float(CONTROL_MODES.index(p.control))
    row[K.P_CDC] = p.c_dc
    row[K.P_ESR] = p.esr
    row[K.P_RSRC] = p.r_src
    row[K.P_BW] = p.current_bandwidth_hz
    row[K.P_FON] = fault_on
    row[K.P_FOFF] = fault_off
    row[K.P_IREF_RE] = iref.real
    row[K.P_IREF_IM] = iref.imag
    return row


def _channel_kinds(channels: Sequence[str]) -> np.ndarray:
    bad = [c for c in channels if c not in CHANNELS]
    if bad or not channels:
        raise ValueError(f"unknown or empty channel list {list(channels)}; valid: {list(CHANNELS)}")
    return np.array([CHANNELS.index(c) for c in channels], dtype=np.int64)


def simulate_batch(
    points: Sequence[OperatingPoint],
    faults: Sequence[Sequence[str]] | None = None,
    sample_rate: float = 20_000.0,
    duration: float = 2048 / 20_000.0,
    settle: float = 0.05,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    fault_windows: Sequence[tuple[float, float]] | None = None,
    substeps_per_carrier: int = SUBSTEPS_PER_CARRIER,
) -> np.ndarray:
    """Simulate many operating points at once (numba, parallel over windows).

    Args:
        points: Operating points, one per window.
        faults: Per window, the open-circuited switch names (e.g. ``["Sa+", "Sb-"]``); None = healthy.
        sample_rate: Output sample rate in Hz.
        duration: Window length in seconds; the window has ``round(duration * sample_rate)`` samples.
        settle: Time in seconds from the circuit at rest (t ~ 0) to the first output sample.
        channels: Names from :data:`CHANNELS`.
        fault_windows: Per window ``(t_on, t_off)`` in seconds (absolute simulation time) during
            which the open-switch faults act; None = for the whole simulation (permanent faults).
        substeps_per_carrier: Minimum sub-steps per carrier period.

    Returns:
        ``[n, len(channels), round(duration * sample_rate)]`` float32; sample k is at
        ``settle + k / sample_rate`` seconds.
    """
    n = len(points)
    n_out = round(duration * sample_rate)
    if n_out < 1 or sample_rate <= 0 or settle < 0:
        raise ValueError(
            f"need sample_rate > 0, settle >= 0 and at least one sample; got sample_rate="
            f"{sample_rate}, duration={duration}, settle={settle}"
        )
    faults = [[] for _ in range(n)] if faults is None else faults
    if len(faults) != n:
        raise ValueError(f"faults has {len(faults)} entries for {n} points; give one per point")
    if fault_windows is not None and len(fault_windows) != n:
        raise ValueError(f"fault_windows has {len(fault_windows)} entries for {n} points")
    kinds = _channel_kinds(channels)
    out = np.zeros((n, len(kinds), n_out), dtype=np.float32)
    if n == 0:
        return out
    masks = np.zeros((n, len(SWITCHES)), dtype=np.bool_)
    rows = np.zeros((n, K.N_PARAMS))
    ratios = np.zeros(n, dtype=np.int64)
    for i, (p, fl) in enumerate(zip(points, faults)):
        try:
            masks[i] = fault_mask(list(fl))
        except ValueError as err:
            raise ValueError(f"faults[{i}]: {err}") from None
        on, off = (-math.inf, math.inf) if fault_windows is None else fault_windows[i]
        rows[i] = _point_row(p, on, off)
        ratios[i] = substep_ratio(p.fsw, sample_rate, substeps_per_carrier)
    for ratio in np.unique(ratios):
        idx = np.flatnonzero(ratios == ratio)
        ratio = int(ratio)
        grid = substep_grid(points[idx[0]].fsw, sample_rate, settle, n_out, substeps_per_carrier)
        sub = np.zeros((len(idx), len(kinds), n_out), dtype=np.float32)
        K.simulate_kernel(
            np.ascontiguousarray(rows[idx]), np.ascontiguousarray(masks[idx]), grid.h,
            np.full(len(idx), grid.t_begin), grid.n_pre, n_out, ratio,
            decimation_filter(ratio), kinds, sub,
        )  # fmt: skip
        out[idx] = sub
    return out


def simulate(
    point: OperatingPoint,
    faults: Sequence[str] = (),
    sample_rate: float = 20_000.0,
    duration: float = 2048 / 20_000.0,
    settle: float = 0.05,
    channels: Sequence[str] = DEFAULT_CHANNELS,
) -> np.ndarray:
    """Simulate one operating point with the given open-circuited switches.

    Args:
        point: The operating point.
        faults: Open-circuited switch names from :data:`~ssl_waveform.sim.point.SWITCHES`.
        sample_rate: Output sample rate in Hz.
        duration: Window length in seconds.
        settle: Time in seconds from rest to the first sample.
        channels: Names from :data:`CHANNELS` (default phase currents).

    Returns:
        ``[len(channels), round(duration * sample_rate)]`` float32 at ``settle + k / sample_rate``.
    """
    return simulate_batch([point], [list(faults)], sample_rate, duration, settle, channels)[0]


def time_grid(sample_rate: float, duration: float, settle: float) -> np.ndarray:
    """Sample times ``settle + k / sample_rate`` in seconds, ``[round(duration * sample_rate)]``."""
    return settle + np.arange(round(duration * sample_rate)) / sample_rate
