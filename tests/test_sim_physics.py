"""Physics of the inverter simulator: conventions, faults, dead time, DC link, closed loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ssl_waveform.sim import (
    CHANNELS,
    OperatingPoint,
    decimation_filter,
    simulate,
    simulate_batch,
    substep_grid,
    time_grid,
)

FS = 20_000.0
BASE = OperatingPoint(
    vdc=400.0, m=0.8, f=50.0, fsw=10_000.0, r=2.0, l=5e-3, e=100.0,
    load_angle_deg=20.0, phase_deg=10.0, carrier_delay=0.25,
)  # fmt: skip


def fundamental(x: np.ndarray, f: float, t: np.ndarray) -> np.ndarray:
    """Complex amplitude X per channel with x ~ Im(X exp(j 2 pi f t)) (least squares)."""
    basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
    coef = np.linalg.lstsq(basis, np.atleast_2d(np.asarray(x, dtype=np.float64)).T, rcond=None)[0]
    return coef[0] + 1j * coef[1]


def test_shape_dtype_and_time_grid() -> None:
    x = simulate(BASE, duration=0.05, settle=0.02)
    assert x.shape == (3, 1000) and x.dtype == np.float32 and np.isfinite(x).all()
    allc = simulate(BASE, duration=0.01, settle=0.02, channels=CHANNELS)
    assert allc.shape == (len(CHANNELS), 200)
    np.testing.assert_allclose(time_grid(FS, 0.01, 0.02)[[0, -1]], [0.02, 0.02 + 199 / FS])
    # sample k of a window that settles one sample later is sample k + 1 of this one
    later = simulate(BASE, duration=0.05, settle=0.02 + 1 / FS)
    np.testing.assert_allclose(later[:, :-1], x[:, 1:], atol=2e-3 * np.abs(x).max())


def test_grid_and_filter_properties() -> None:
    g = substep_grid(10_000.0, FS, 0.05, 2048)
    assert g.ratio == 4 and abs(g.t_begin + (g.n_pre + 0.5) * g.h - 0.05) < 1e-12
    taps = decimation_filter(g.ratio)
    assert len(taps) % 2 == 1 and abs(taps.sum() - 1) < 1e-12
    np.testing.assert_allclose(taps, taps[::-1])
    # stop band: what would alias into the output band (above 0.62 fs) is attenuated by > 60 dB
    w = np.linspace(0.62, g.ratio / 2, 400) * FS
    resp = np.abs(np.exp(-2j * np.pi * np.outer(w, np.arange(len(taps))) / (g.ratio * FS)) @ taps)
    assert resp.max() < 1e-3


@pytest.mark.parametrize(
    "changes",
    [{}, {"m": 0.4, "e": 0.0, "f": 20.0}, {"m": 1.0, "fsw": 4000.0, "load_angle_deg": -15.0}],
)
def test_healthy_balanced_and_matches_phasor(changes: dict) -> None:
    p = dataclasses.replace(BASE, **changes)
    x = simulate(p)
    t = time_grid(FS, 2048 / FS, 0.05)
    assert np.abs(x.sum(axis=0)).max() < 1e-4 * np.abs(x).max()
    ph = fundamental(x, p.f, t)
    expect = p.current_phasor()
    # pole fundamental minus the diode drops: within 2 % of the ideal phasor
    assert abs(ph[0] - expect) < 0.02 * abs(expect)
    # the three phases are 120 degrees apart
    np.testing.assert_allclose(ph[1], ph[0] * np.exp(-2j * np.pi / 3), atol=0.02 * abs(expect))
    np.testing.assert_allclose(ph[2], ph[0] * np.exp(2j * np.pi / 3), atol=0.02 * abs(expect))


def test_current_sign_convention_power_flows_into_load() -> None:
    p = dataclasses.replace(BASE, e=0.0)
    x = simulate(p, channels=("ia", "va"))
    # positive current out of the pole: the pole delivers power to a passive R-L load
    assert float(np.mean(x[0] * x[1])) > 0.1 * float(np.std(x[0]) * np.std(x[1]))
    t = time_grid(FS, 2048 / FS, 0.05)
    lag = np.angle(fundamental(x[1], p.f, t) / fundamental(x[0], p.f, t))
    assert abs(lag - np.arctan2(2 * np.pi * p.f * p.l, p.r)) < 0.02


@pytest.mark.parametrize("switch,sign", [("Sa+", 1), ("Sa-", -1), ("Sb+", 1), ("Sc-", -1)])
def test_single_open_switch_clamps_its_current_sign(switch: str, sign: int) -> None:
    x = simulate(BASE, [switch])
    healthy = simulate(BASE)
    leg = "abc".index(switch[1])
    amp = np.abs(healthy[leg]).max()
    assert (sign * x[leg]).max() < 0.01 * amp  # never carries the forbidden sign
    assert (-sign * x[leg]).max() > 0.5 * amp  # still carries the other sign through the diode
    assert np.abs(x.sum(axis=0)).max() < 1e-4 * amp


def test_both_switches_of_a_leg_open_phase_floats() -> None:
    x = simulate(BASE, ["Sa+", "Sa-"])
    amp = np.abs(simulate(BASE)).max()
    # |e| + neutral excursion stays inside the +-(vdc/2 + vd) diode window: no conduction
    assert np.abs(x[0]).max() < 0.01 * amp
    np.testing.assert_allclose(x[1], -x[2], atol=0.01 * amp)
    # a large back-EMF forward-biases the diodes: the leg conducts again as a rectifier
    strong = dataclasses.replace(BASE, e=380.0, m=1.0)
    y = simulate(strong, ["Sa+", "Sa-"])
    assert np.abs(y[0]).max() > 0.05 * np.abs(y).max()


@pytest.mark.parametrize("pair", [("Sa+", "Sb-"), ("Sa+", "Sb+"), ("Sb-", "Sc-")])
def test_double_faults_follow_the_single_rule(pair: tuple[str, str]) -> None:
    x = simulate(BASE, list(pair))
    amp = np.abs(simulate(BASE)).max()
    for sw in pair:
        leg = "abc".index(sw[1])
        sign = 1 if sw[2] == "+" else -1
        assert (sign * x[leg]).max() < 0.01 * amp


def test_dead_time_reduces_fundamental_voltage() -> None:
    p = dataclasses.replace(BASE, e=0.0)
    t = time_grid(FS, 2048 / FS, 0.05)
    a0 = abs(fundamental(simulate(p)[0], p.f, t)[0])
    a1 = abs(fundamental(simulate(dataclasses.replace(p, dead_time=4e-6))[0], p.f, t)[0])
    # average voltage loss ~ td * fsw * vdc = 16 V against ~160 V fundamental
    assert 0.02 < (a0 - a1) / a0 < 0.2


def test_zero_sequence_keeps_line_currents_and_extends_linear_range() -> None:
    p = dataclasses.replace(BASE, m=1.1, e=0.0)
    t = time_grid(FS, 2048 / FS, 0.05)
    spwm = abs(fundamental(simulate(p)[0], p.f, t)[0])
    svpwm = abs(fundamental(simulate(dataclasses.replace(p, zero_sequence=True))[0], p.f, t)[0])
    expect = abs(p.current_phasor())
    assert spwm < 0.99 * expect  # overmodulation compresses SPWM
    assert abs(svpwm - expect) < 0.02 * expect  # min-max injection is linear up to 2/sqrt(3)


def test_small_dc_link_capacitor_ripples() -> None:
    ch = ("ia", "vdc")
    p = dataclasses.replace(BASE, fsw=4000.0)
    stiff = simulate(p, channels=ch)
    aged = simulate(dataclasses.replace(p, c_dc=30e-6, esr=0.5, r_src=0.5), channels=ch)
    assert np.ptp(stiff[1]) < 1e-3
    assert np.ptp(aged[1]) > 2.0 and aged[1].mean() < BASE.vdc
    assert np.isfinite(aged).all()


def test_closed_loop_tracks_current_reference() -> None:
    p = dataclasses.replace(BASE, control="closed_loop", m=0.6)
    x = simulate(p)
    t = time_grid(FS, 2048 / FS, 0.05)
    ref = p.current_phasor()
    assert abs(fundamental(x[0], p.f, t)[0] - ref) < 0.03 * abs(ref)
    # with phase a open the controller pushes harder on the healthy phases than open loop does
    open_loop = simulate(dataclasses.replace(BASE, m=0.6), ["Sa+"])
    closed = simulate(p, ["Sa+"])
    assert (closed[0]).max() < 0.01 * abs(ref)
    assert not np.allclose(open_loop, closed, atol=0.05 * abs(ref))


def test_intermittent_fault_acts_only_in_its_interval() -> None:
    t = time_grid(FS, 2048 / FS, 0.05)
    on, off = 0.08, 0.12
    x = simulate_batch([BASE], [["Sa+"]], fault_windows=[(on, off)])[0]
    amp = np.abs(simulate(BASE)).max()
    inside = (t > on + 0.002) & (t < off)
    assert x[0, inside].max() < 0.01 * amp
    assert x[0, t < on].max() > 0.5 * amp


def test_batch_equals_single_and_validates() -> None:
    pts = [BASE, dataclasses.replace(BASE, fsw=3000.0)]
    b = simulate_batch(pts, [[], ["Sb-"]], duration=0.01)
    np.testing.assert_array_equal(b[1], simulate(pts[1], ["Sb-"], duration=0.01))
    with pytest.raises(ValueError, match="valid switch names"):
        simulate(BASE, ["Sx+"])
    with pytest.raises(ValueError, match="valid"):
        simulate(BASE, channels=("iq",))
    with pytest.raises(ValueError, match=r"OperatingPoint\.r"):
        dataclasses.replace(BASE, r=0.0)
