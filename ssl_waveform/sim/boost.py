"""A DC-DC boost converter: the first topology beside the three-phase inverter (work in progress, issue 24).

Circuit (docs/simulator.md conventions: SI units, currents positive in the direction of power flow)::

    vs --r_src--+-- vin --r_l--L-->-- sw --D-->--+-- vout --+
                                 iL     |        |          |
                                        S      esr        r_load
                                        |        C          |
    0 ----------------------------------+--------+----------+

``S`` is the switch (on-resistance ``r_on``), ``D`` the diode (drop ``v_d`` plus ``r_d``), ``C`` the output
capacitor with its ESR. PWM at ``fsw`` with duty ``duty``, open loop, the gate on at the start of each period.
In discontinuous conduction (DCM) the inductor current stays at zero once it reaches it while the switch is off.

Channels: ``il`` (A, inductor current), ``vin`` (V, input terminal), ``vout`` (V, output), each averaged over its
sample interval like the inverter's (an integrating ADC), on a grid starting ``settle`` seconds after rest.

Faults (``BOOST_FAULTS``): ``switch_open`` (gate never conducts), ``switch_short`` (the switch conducts always;
an input breaker trips at ``i_trip`` and disconnects the source), ``diode_open`` (no diode path: the switch's
avalanche clamps its voltage at ``v_av`` while the inductor discharges), ``cap_aged`` (C x0.5, ESR x3),
``inductor_degraded`` (L x0.6, winding resistance x3).

Not yet (issue 24): closed-loop control, the labeled and unlabeled corpora and ``simulate --topology``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numba import njit

from ssl_waveform.sim.ngspice import run_netlist
from ssl_waveform.sim.simulator import box_average

BoostFault = Literal[
    "healthy", "switch_open", "switch_short", "diode_open", "cap_aged", "inductor_degraded"
]
BOOST_FAULTS: tuple[str, ...] = get_args(BoostFault)
BOOST_CHANNELS = ("il", "vin", "vout")
BOOST_UNITS = ("A", "V", "V")


@dataclass(frozen=True)
class BoostParams:
    """One boost converter and its operating point (SI units).

    Attributes:
        vs: source voltage. r_src: source resistance. inductance: L. r_l: inductor winding resistance.
        capacitance: output capacitance C. esr: its equivalent series resistance. r_load: load resistance.
        r_on: switch on-resistance. v_d: diode drop. r_d: diode resistance. fsw: switching frequency.
        duty: PWM duty cycle in [0, 0.95]. i_trip: input breaker current (switch_short's protection).
        v_av: switch avalanche voltage that clamps it when the diode is open.
    """

    vs: float = 48.0
    r_src: float = 0.05
    inductance: float = 220e-6
    r_l: float = 0.05
    capacitance: float = 470e-6
    esr: float = 0.05
    r_load: float = 20.0
    r_on: float = 0.02
    v_d: float = 0.7
    r_d: float = 0.02
    fsw: float = 20e3
    duty: float = 0.5
    i_trip: float = 60.0
    v_av: float = 200.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.duty <= 0.95:
            raise ValueError(f"duty={self.duty} must lie in [0, 0.95]")
        positive = ("vs", "inductance", "capacitance", "r_load", "fsw", "i_trip", "v_av")
        bad = [name for name in positive if not getattr(self, name) > 0]
        if bad:
            raise ValueError(f"BoostParams: {', '.join(bad)} must be positive")

    def with_fault(self, fault: str) -> BoostParams:
        """The circuit with a parametric fault applied (``cap_aged``, ``inductor_degraded``); else itself."""
        if fault not in BOOST_FAULTS:
            raise KeyError(f"unknown boost fault {fault!r}; valid: {', '.join(BOOST_FAULTS)}")
        if fault == "cap_aged":
            return dataclasses.replace(self, capacitance=self.capacitance * 0.5, esr=self.esr * 3.0)
        if fault == "inductor_degraded":
            return dataclasses.replace(self, inductance=self.inductance * 0.6, r_l=self.r_l * 3.0)
        return self


# parameter vector layout of the kernel
_VS, _RSRC, _L, _RL, _C, _ESR, _RLOAD, _RON, _VD, _RD, _ITRIP, _VAV = range(12)


@njit(cache=True)
def _derivatives(il, vc, gate, diode_ok, tripped, prm):
    """``(diL/dt, dvC/dt, vin, vout)`` of the circuit in its present switching state."""
    r, esr = prm[_RLOAD], prm[_ESR]
    vs = 0.0 if tripped else prm[_VS]
    src = 0.0 if tripped else prm[_RSRC]
    vout_idle = vc * r / (r + esr)  # no current into the output node from the switch side
    if tripped:
        return 0.0, -vout_idle / (r * prm[_C]), prm[_VS], vout_idle
    if gate:
        vin = vs - src * il
        dil = (vin - prm[_RL] * il - prm[_RON] * il) / prm[_L]
        return dil, -vout_idle / (r * prm[_C]), vin, vout_idle
    if not diode_ok:
        vin = vs - src * il
        dil = (vin - prm[_RL] * il - prm[_VAV]) / prm[_L] if il > 0.0 else 0.0
        return dil, -vout_idle / (r * prm[_C]), vin, vout_idle
    vout = (vc + esr * il) * r / (r + esr)
    vin = vs - src * il
    dil = (vin - prm[_RL] * il - vout - prm[_VD] - prm[_RD] * il) / prm[_L]
    if il <= 0.0 and dil < 0.0:  # the diode blocks: discontinuous conduction
        return 0.0, -vout_idle / (r * prm[_C]), vs, vout_idle
    return dil, (il - vout / r) / prm[_C], vin, vout


@njit(cache=True)
def _run(prm, duty, period, n_sub, gate_mode, diode_ok, n_periods, record_from, out):
    """Integrate ``n_periods`` PWM periods from rest (RK4 at ``n_sub`` steps per period, edges exact); writes
    ``(t, il, vin, vout)`` of every step from period ``record_from`` into ``out``; returns the rows written."""
    il, vc, tripped = 0.0, prm[_VS] - prm[_VD], False
    n_on = 0 if duty <= 0.0 else max(1, int(round(n_sub * duty)))  # noqa: RUF046 (numba)
    n_off = n_sub - n_on
    row = 0
    for k in range(n_periods):
        t0 = k * period
        for j in range(n_sub):
            on_phase = j < n_on
            if on_phase:
                h = duty * period / n_on
                t = t0 + j * h
            else:
                h = (1.0 - duty) * period / n_off
                t = t0 + duty * period + (j - n_on) * h
            gate = (on_phase and gate_mode == 0) or gate_mode == 2
            if gate_mode == 1:
                gate = False
            k1 = _derivatives(il, vc, gate, diode_ok, tripped, prm)
            k2 = _derivatives(
                il + 0.5 * h * k1[0], vc + 0.5 * h * k1[1], gate, diode_ok, tripped, prm
            )
            k3 = _derivatives(
                il + 0.5 * h * k2[0], vc + 0.5 * h * k2[1], gate, diode_ok, tripped, prm
            )
            k4 = _derivatives(il + h * k3[0], vc + h * k3[1], gate, diode_ok, tripped, prm)
            il += h / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            vc += h / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            if il < 0.0:
                il = 0.0
            if not tripped and il > prm[_ITRIP]:
                tripped = True
                il = 0.0
            if k >= record_from:
                _, _, vin, vout = _derivatives(il, vc, gate, diode_ok, tripped, prm)
                out[row, 0] = t + h
                out[row, 1] = il
                out[row, 2] = vin
                out[row, 3] = vout
                row += 1
    return row


def simulate_boost(
    params: BoostParams,
    fault: str = "healthy",
    *,
    window: int = 2048,
    sample_rate: float = 200e3,
    settle: float = 0.05,
    steps_per_period: int = 200,
) -> np.ndarray:
    """Simulate a boost converter from rest and return ``window`` samples after ``settle`` seconds.

    Returns:
        ``[3, window]`` float64: ``il`` (A), ``vin`` (V), ``vout`` (V).
    """
    p = params.with_fault(fault)
    period = 1.0 / p.fsw
    t_end = settle + window / sample_rate
    n_periods = math.ceil(t_end / period) + 1
    record_from = max(0, int(settle / period) - 1)
    prm = np.array(
        [
            p.vs,
            p.r_src,
            p.inductance,
            p.r_l,
            p.capacitance,
            p.esr,
            p.r_load,
            p.r_on,
            p.v_d,
            p.r_d,
            p.i_trip,
            p.v_av,
        ]
    )
    gate_mode = {"switch_open": 1, "switch_short": 2}.get(fault, 0)
    out = np.zeros(((n_periods - record_from) * steps_per_period, 4))
    rows = _run(prm, p.duty, period, steps_per_period, gate_mode, fault != "diode_open", n_periods,
                record_from, out)  # fmt: skip
    rec = out[:rows]
    t = np.concatenate([[rec[0, 0] - period / steps_per_period], rec[:, 0]])
    vals = np.concatenate([rec[:1, 1:], rec[:, 1:]]).T
    return box_average(t, vals, settle, sample_rate, window)


def boost_netlist(p: BoostParams, fault: str, t_stop: float, step: float, out: str) -> str:
    """An ngspice netlist of the same boost converter, written from the circuit alone: a voltage-controlled
    switch gated by a pulse source, an ngspice diode (``IS`` set so its drop is ``v_d`` at 5 A, ``RS = r_d``),
    the capacitor behind its ESR; the inductor current is measured by a 0 V source. ``switch_open`` ties the
    gate low; parametric faults change the element values."""
    q = p.with_fault(fault)
    period = 1.0 / q.fsw
    i_s = 5.0 * math.exp(-q.v_d / 0.025852)
    gate = (
        "0"
        if fault == "switch_open"
        else f"PULSE(0 1 0 1e-9 1e-9 {q.duty * period - 2e-9:.9g} {period:.9g})"
    )
    return f"""* ssl_waveform boost converter cross-check
V1 vs 0 DC {q.vs:.9g}
Rsrc vs vin {q.r_src:.9g}
Rl vin n1 {q.r_l:.9g}
L1 n1 n2 {q.inductance:.9g}
Vm n2 sw 0
S1 sw 0 g 0 SWMOD
Vg g 0 {gate}
.model SWMOD SW(VT=0.5 VH=0 RON={q.r_on:.9g} ROFF=1e7)
D1 sw out DMOD
.model DMOD D(IS={i_s:.6g} N=1 RS={q.r_d:.9g})
Resr out c {q.esr:.9g}
C1 c 0 {q.capacitance:.9g} IC={q.vs - q.v_d:.9g}
Rload out 0 {q.r_load:.9g}
.tran {step:.9g} {t_stop:.9g} 0 {step:.9g} UIC
.control
set wr_singlescale
set filetype=ascii
run
wrdata {out} i(Vm) v(vin) v(out)
quit
.endc
.end
"""


def run_ngspice_boost(
    params: BoostParams,
    fault: str = "healthy",
    *,
    window: int = 2048,
    sample_rate: float = 200e3,
    settle: float = 0.05,
    executable: str = "ngspice",
    timeout: float = 600.0,
) -> np.ndarray:
    """The ngspice waveform of the same circuit on :func:`simulate_boost`'s output grid: ``[3, window]``."""
    t_stop = settle + (window + 1) / sample_rate
    step = 1.0 / (400.0 * params.fsw)
    data = run_netlist(
        lambda out: boost_netlist(params, fault, t_stop, step, out), executable, timeout
    )
    t, values = data[:, 0], data[:, 1:4].T
    return box_average(t, values, settle, sample_rate, window)
