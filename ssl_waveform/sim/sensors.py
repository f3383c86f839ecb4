"""Current-sensor model (always applied) and sensor faults (applied to one phase)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SensorModel:
    """Healthy measurement chain of each current channel.

    Attributes:
        gain_std: Standard deviation of the relative gain error per channel.
        offset_std: Standard deviation of the offset per channel, fraction of rated current.
        noise_std: White-noise standard deviation, fraction of rated current.
        adc_bits: ADC resolution in bits (0 disables quantisation).
        adc_range: ADC full scale (+-), in multiples of the rated current.
    """

    gain_std: float = 0.01
    offset_std: float = 0.005
    noise_std: float = 0.002
    adc_bits: int = 12
    adc_range: float = 3.0


def apply_sensor(
    x: np.ndarray, rated: float, model: SensorModel, fault: str | None, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """Measure currents ``x`` through the sensor model, with an optional sensor fault.

    Args:
        x: ``[3, T]`` true phase currents in amperes.
        rated: Rated (peak) current in amperes; scales offsets, noise and the ADC range.
        model: The healthy sensor model.
        fault: None or one of ``gain``, ``offset``, ``stuck``, ``noise_burst`` (on a random phase).
        rng: Random generator (all randomness comes from it).

    Returns:
        ``[3, T]`` measured currents (float32) and a dict of the fault parameters
        (``sensor_phase`` = -1 when no fault).
    """
    c, t = x.shape
    gain = 1.0 + model.gain_std * np.asarray(rng.standard_normal(c))
    offset = model.offset_std * rated * np.asarray(rng.standard_normal(c))
    y = gain[:, None] * x + offset[:, None] + model.noise_std * rated * rng.standard_normal((c, t))
    info = {"sensor_phase": -1.0, "sensor_value": 0.0, "sensor_start": -1.0, "sensor_stop": -1.0}
    if fault is not None:
        ph = int(rng.integers(c))
        info["sensor_phase"] = float(ph)
        if fault == "gain":
            g = rng.uniform(0.5, 0.8) if rng.random() < 0.5 else rng.uniform(1.2, 1.5)
            y[ph] *= g
            info["sensor_value"] = g
        elif fault == "offset":
            o = rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.3) * rated
            y[ph] += o
            info["sensor_value"] = o
        elif fault == "stuck":
            k = int(rng.integers(0, max(1, (3 * t) // 4)))
            v = y[ph, k] if rng.random() < 0.5 else 0.0
            y[ph, k:] = v
            info.update(sensor_value=float(v), sensor_start=float(k), sensor_stop=float(t))
        elif fault == "noise_burst":
            n = int(rng.uniform(0.1, 0.3) * t)
            k = int(rng.integers(0, t - n + 1))
            s = rng.uniform(0.1, 0.3) * rated
            y[ph, k : k + n] += s * rng.standard_normal(n)
            info.update(sensor_value=s, sensor_start=float(k), sensor_stop=float(k + n))
        else:
            raise ValueError(
                f"unknown sensor fault {fault!r}; valid: gain, offset, stuck, noise_burst"
            )
    if model.adc_bits > 0:
        lsb = 2.0 * model.adc_range * rated / 2**model.adc_bits
        lim = model.adc_range * rated
        y = np.clip(np.round(y / lsb) * lsb, -lim, lim)
    return y.astype(np.float32), info
