"""Cross-check of the simulator against an independent ngspice model of the same circuit."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from ssl_waveform.sim import SWITCHES, OperatingPoint, simulate, write_netlist
from ssl_waveform.sim.ngspice import ngspice_available, nrmse, run_ngspice

needs_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")

P1 = OperatingPoint(
    vdc=400.0, m=0.8, f=50.0, fsw=10_000.0, r=2.0, l=5e-3, e=100.0,
    load_angle_deg=20.0, phase_deg=0.0, carrier_delay=0.0,
)  # fmt: skip
P2 = OperatingPoint(
    vdc=300.0, m=0.9, f=60.0, fsw=5_000.0, r=1.0, l=3e-3, e=120.0,
    load_angle_deg=10.0, phase_deg=30.0, carrier_delay=0.3, dead_time=2e-6,
)  # fmt: skip
P3 = OperatingPoint(
    vdc=600.0, m=1.1, f=25.0, fsw=8_000.0, r=4.0, l=8e-3, e=150.0,
    load_angle_deg=25.0, phase_deg=200.0, carrier_delay=0.7, zero_sequence=True,
)  # fmt: skip

SETTLE, DURATION = 0.01, 0.01


def _check(point: OperatingPoint, faults: list[str]) -> None:
    ref = run_ngspice(point, faults, duration=DURATION, settle=SETTLE, timeout=300)
    sim = simulate(point, faults, duration=DURATION, settle=SETTLE)
    err = nrmse(sim, ref)
    assert err <= 0.03, f"NRMSE {err:.4f} against ngspice for open {faults} at {point}"


@needs_ngspice
@pytest.mark.parametrize(
    "point,faults",
    [(P1, []), (P1, ["Sa+"]), (P2, ["Sb+", "Sc-"])],
    ids=["healthy", "Sa+", "Sb+,Sc-"],
)
def test_matches_ngspice_fast_cases(point: OperatingPoint, faults: list[str]) -> None:
    _check(point, faults)


DOUBLES = [["Sa+", "Sa-"], ["Sa+", "Sb-"], ["Sb+", "Sc+"], ["Sa-", "Sc-"], ["Sc+", "Sc-"]]


@pytest.mark.slow
@needs_ngspice
@pytest.mark.parametrize("point", [P1, P2, P3], ids=["P1", "P2-deadtime", "P3-svpwm-overmod"])
@pytest.mark.parametrize("faults", [[], *([s] for s in SWITCHES), *DOUBLES], ids=str)
def test_matches_ngspice_all_faults(point: OperatingPoint, faults: list[str]) -> None:
    _check(point, faults)


def test_netlist_leaves_faulted_gate_low_and_keeps_diodes() -> None:
    net = write_netlist(P1, ["Sa+"], 0.0, 0.01, 1e-6, "out.txt")
    assert "Sua pos pa 0 0 swm" in net and "Sla pa neg gla 0 swm" in net
    assert net.count(" dm\n") == 6
    with pytest.raises(ValueError, match="open-loop"):
        write_netlist(dataclasses.replace(P1, control="closed_loop"), [], 0.0, 0.01, 1e-6, "o")
    assert len(list(itertools.combinations(SWITCHES, 2))) == 15
