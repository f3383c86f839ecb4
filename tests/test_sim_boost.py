"""The boost converter (``ssl_waveform.sim.boost``): circuit laws, fault signatures, and ngspice agreement."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_waveform.sim.boost import BOOST_FAULTS, BoostParams, run_ngspice_boost, simulate_boost
from ssl_waveform.sim.ngspice import ngspice_available, nrmse

P = BoostParams()


def test_ccm_steady_state_obeys_the_boost_law_and_the_energy_balance() -> None:
    il, vin, vout = simulate_boost(P, window=400)
    ideal = P.vs / (1 - P.duty)
    assert 0.9 * ideal < vout.mean() < ideal  # conduction losses only lower it
    assert il.min() > 0  # continuous conduction at this load
    p_in, p_out = (il * vin).mean(), (vout**2 / P.r_load).mean()
    losses = (il**2).mean() * (P.r_l + P.duty * P.r_on + (1 - P.duty) * P.r_d) + (
        1 - P.duty
    ) * P.v_d * il.mean()
    assert p_out < p_in and abs(p_in - p_out - losses) < 0.05 * p_in
    # the inductor ripple follows v = L di/dt: peak-to-peak close to vin D / (L fsw) (sample averages shave it)
    ripple = P.vs * P.duty / (P.inductance * P.fsw)
    assert 0.6 * ripple < il.max() - il.min() < 1.05 * ripple


def test_light_load_runs_in_discontinuous_conduction() -> None:
    light = BoostParams(r_load=200.0, duty=0.3, capacitance=100e-6)
    il, _, vout = simulate_boost(light, window=400, settle=0.1)
    assert il.min() == 0.0 and il.max() > 0
    assert vout.mean() > light.vs / (1 - light.duty)  # DCM boosts above the CCM ratio at light load


@pytest.mark.parametrize("fault", BOOST_FAULTS)
def test_every_fault_gives_its_signature(fault: str) -> None:
    healthy = simulate_boost(P, window=400)
    x = simulate_boost(P, fault, window=400)
    assert x.shape == (3, 400) and np.isfinite(x).all()
    il, vin, vout = x
    if fault == "healthy":
        np.testing.assert_array_equal(x, healthy)
    elif fault == "switch_open":  # a diode rectifier: vout a diode drop below vin, no ripple
        assert abs(vout.mean() - (vin.mean() - P.v_d)) < 1.0 and np.ptp(il) < 1e-3
    elif fault in ("switch_short", "diode_open"):  # the output collapses
        assert vout.mean() < 0.05 * healthy[2].mean()
        if (
            fault == "switch_short"
        ):  # the breaker tripped: no input current, the source's open voltage
            assert np.all(il == 0) and np.allclose(vin, P.vs)
    elif fault == "cap_aged":  # more output ripple
        assert np.ptp(vout) > 2 * np.ptp(healthy[2])
    elif fault == "inductor_degraded":  # more current ripple
        assert np.ptp(il) > 1.3 * np.ptp(healthy[0])


def test_bad_parameters_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duty"):
        BoostParams(duty=1.0)
    with pytest.raises(ValueError, match="r_load"):
        BoostParams(r_load=0.0)
    with pytest.raises(KeyError, match=r"unknown boost fault 'arc'.*switch_open"):
        simulate_boost(P, "arc")


@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
@pytest.mark.parametrize(
    ("params", "fault", "settle"),
    [
        (P, "healthy", 0.05),
        (P, "switch_open", 0.05),
        (P, "cap_aged", 0.05),
        (P, "inductor_degraded", 0.05),
        (BoostParams(r_load=200.0, duty=0.3, capacitance=100e-6), "healthy", 0.1),  # DCM
    ],
)
def test_the_simulator_agrees_with_ngspice(params: BoostParams, fault: str, settle: float) -> None:
    ref = run_ngspice_boost(params, fault, window=256, settle=settle)
    sim = simulate_boost(params, fault, window=256, settle=settle)
    for channel in range(3):
        assert nrmse(sim[channel : channel + 1], ref[channel : channel + 1]) <= 0.03
