"""Operating points, switch names and fault classes of the two-level three-phase inverter.

Conventions (see ``docs/simulator.md``): the DC link ``vdc`` is split at a grounded midpoint, legs
``a, b, c`` have an upper and a lower switch (``Sa+``/``Sa-`` ...), each with an antiparallel diode.
Phase currents are positive out of the inverter into the load.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

SWITCHES: tuple[str, ...] = ("Sa+", "Sa-", "Sb+", "Sb-", "Sc+", "Sc-")
"""Switch names in the fixed order used by fault masks and class names."""

CONTROL_MODES: tuple[str, ...] = ("open_loop", "closed_loop")
"""``open_loop``: natural-sampled SPWM at modulation index ``m``. ``closed_loop``: synchronous-frame
PI current control, regular-sampled once per carrier period, tracking the current phasor that the
open-loop point would produce."""


@dataclass(frozen=True)
class OperatingPoint:
    """One operating point of the inverter and its load.

    The first ten fields are the issue's operating point; the rest are extras with defaults.

    Attributes:
        vdc: DC-link (source) voltage in volts.
        m: Modulation index (peak reference / carrier peak); > 1 is overmodulation.
        f: Fundamental frequency in Hz (reference and back-EMF).
        fsw: Switching (carrier) frequency in Hz.
        r: Load resistance per phase in ohms (> 0).
        l: Load inductance per phase in henries (> 0).
        e: Back-EMF peak per phase in volts.
        load_angle_deg: Angle by which the back-EMF lags the reference, degrees.
        phase_deg: Phase of the reference of leg a at t = 0, degrees.
        carrier_delay: Carrier starts at its minimum at t = carrier_delay / fsw (fraction of a period).
        diode_drop: Forward drop of every antiparallel diode in volts.
        dead_time: Gate dead time (turn-on delay of both switches of a leg) in seconds.
        zero_sequence: Add the min-max (SVPWM-equivalent) zero sequence to the references.
        control: ``"open_loop"`` or ``"closed_loop"`` (see :data:`CONTROL_MODES`).
        c_dc: DC-link capacitance in farads; 0 means a stiff (ideal) DC source.
        esr: Equivalent series resistance of the DC-link capacitor in ohms (used when ``c_dc > 0``).
        r_src: Source resistance feeding the DC link in ohms (used when ``c_dc > 0``).
        current_bandwidth_hz: Closed-loop current-controller bandwidth in Hz; 0 means ``fsw / 20``.
    """

    vdc: float
    m: float
    f: float
    fsw: float
    r: float
    l: float  # noqa: E741 - the issue names the inductance ``l``
    e: float
    load_angle_deg: float
    phase_deg: float
    carrier_delay: float
    diode_drop: float = 0.8
    dead_time: float = 0.0
    zero_sequence: bool = False
    control: str = "open_loop"
    c_dc: float = 0.0
    esr: float = 0.0
    r_src: float = 0.0
    current_bandwidth_hz: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "vdc": self.vdc > 0,
            "m": self.m >= 0,
            "f": self.f > 0,
            "fsw": self.fsw > 0,
            "r": self.r > 0,
            "l": self.l > 0,
            "e": self.e >= 0,
            "diode_drop": self.diode_drop >= 0,
            "dead_time": 0 <= self.dead_time < 0.25 / self.fsw,
            "c_dc": self.c_dc >= 0,
            "esr": self.esr >= 0,
            "r_src": self.r_src >= 0 and (self.c_dc == 0 or self.r_src + self.esr > 0),
            "current_bandwidth_hz": self.current_bandwidth_hz >= 0,
        }
        for name, ok in checks.items():
            if not (ok and math.isfinite(float(getattr(self, name)))):
                raise ValueError(
                    f"OperatingPoint.{name}={getattr(self, name)!r} is out of range "
                    "(vdc, f, fsw, r, l > 0; m, e, diode_drop, c_dc, esr >= 0; "
                    "dead_time < a quarter carrier period; r_src + esr > 0 when c_dc > 0)"
                )
        if self.control not in CONTROL_MODES:
            raise ValueError(
                f"OperatingPoint.control={self.control!r} is unknown; valid: {list(CONTROL_MODES)}"
            )

    def as_dict(self) -> dict[str, float | bool | str]:
        """All fields as a plain dict (for metadata)."""
        return dataclasses.asdict(self)

    def current_phasor(self) -> complex:
        """Steady-state fundamental phase-a current phasor of the linear (m <= 1) healthy circuit.

        With the sine convention ``x(t) = Im(X exp(j 2 pi f t))`` the pole fundamental is
        ``V = m vdc / 2 exp(j phase)`` and the EMF ``E = e exp(j (phase - load_angle))``; the isolated
        neutral carries no fundamental, so ``I = (V - E) / (r + j 2 pi f l)``.

        Returns:
            Complex amplitude in amperes (peak).
        """
        ph = math.radians(self.phase_deg)
        v = self.m * self.vdc / 2 * complex(math.cos(ph), math.sin(ph))
        pe = ph - math.radians(self.load_angle_deg)
        em = self.e * complex(math.cos(pe), math.sin(pe))
        return (v - em) / complex(self.r, 2 * math.pi * self.f * self.l)


def fault_mask(open_switches: list[str] | tuple[str, ...]) -> np.ndarray:
    """Boolean mask over :data:`SWITCHES` of the switches that are open-circuited.

    Args:
        open_switches: Switch names such as ``["Sa+", "Sb-"]``.

    Returns:
        ``[6]`` bool array in the order of :data:`SWITCHES`.
    """
    mask = np.zeros(len(SWITCHES), dtype=bool)
    for name in open_switches:
        if name not in SWITCHES:
            raise ValueError(f"unknown switch {name!r}; valid switch names: {list(SWITCHES)}")
        mask[SWITCHES.index(name)] = True
    return mask
