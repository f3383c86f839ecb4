"""Domain-randomisation config and the sampler of labeled operating points."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssl_waveform.serialize import ConfigError
from ssl_waveform.sim.families import FAMILIES, FamilyName, class_names, open_switches
from ssl_waveform.sim.point import OperatingPoint
from ssl_waveform.sim.sensors import SensorModel
from ssl_waveform.sim.simulator import CHANNELS, ChannelName

Range = tuple[float, float]


@dataclass(frozen=True)
class SimConfig:
    """What a simulated corpus contains; the defaults are a sensible wide randomisation.

    Ranges are ``(low, high)``; fields listed in ``LOG_UNIFORM`` are drawn log-uniformly.

    Attributes:
        sample_rate: Output sample rate in Hz.
        window: Samples per window.
        settle: Seconds from rest to the first sample.
        channels: Output channels (names from ``CHANNELS``; the sensor model acts on ia/ib/ic).
        families: Labeled families (see ``ssl_waveform.sim.families``).
        class_prior: Relative class weights by name; classes not listed weigh 1.
        unlabeled_healthy_fraction: Probability of ``healthy`` in unlabeled corpora (real
            unlabeled data is mostly healthy); the other classes share the rest uniformly.
        closed_loop_fraction: Probability of closed-loop dq current control (else open-loop SPWM).
        zero_sequence_fraction: Probability of min-max zero-sequence (SVPWM-equivalent) injection.
        vdc: DC-link voltage range, V.
        m: Modulation index range (> 1 overmodulates).
        f: Fundamental frequency range, Hz.
        fsw: Switching frequency range, Hz (log-uniform).
        rated_current: Peak current the load is sized for, A (log-uniform).
        tau: Load time constant l / r, s (log-uniform).
        emf_fraction: Back-EMF peak as a fraction of the fundamental pole voltage ``m vdc / 2``.
        load_angle_deg: Angle of the back-EMF behind the reference, degrees.
        dead_time: Dead-time range, s.
        diode_drop: Diode forward-drop range, V.
        max_ripple: Largest peak-to-peak switching ripple allowed, fraction of rated current
            (raises l when the drawn load would exceed it).
        sensor: Healthy sensor model (gain/offset/noise/quantisation).
        aged_c_dc: DC-link capacitance of an aged capacitor, F (log-uniform).
        aged_esr: ESR of an aged capacitor, ohm (log-uniform).
        source_resistance: Source resistance feeding the DC link in the aged-capacitor class, ohm.
        windows_per_shard: Windows per corpus shard.
    """

    sample_rate: float = 20_000.0
    window: int = 2048
    settle: float = 0.05
    channels: tuple[ChannelName, ...] = ("ia", "ib", "ic")
    families: tuple[FamilyName, ...] = ("switch",)
    class_prior: dict[str, float] = field(default_factory=dict)
    unlabeled_healthy_fraction: float = 0.8
    closed_loop_fraction: float = 0.3
    zero_sequence_fraction: float = 0.3
    vdc: Range = (100.0, 800.0)
    m: Range = (0.1, 1.15)
    f: Range = (5.0, 100.0)
    fsw: Range = (2_000.0, 20_000.0)
    rated_current: Range = (2.0, 50.0)
    tau: Range = (1e-3, 20e-3)
    emf_fraction: Range = (0.0, 0.9)
    load_angle_deg: Range = (0.0, 30.0)
    dead_time: Range = (0.0, 3e-6)
    diode_drop: Range = (0.6, 1.5)
    max_ripple: float = 0.5
    sensor: SensorModel = field(default_factory=SensorModel)
    aged_c_dc: Range = (20e-6, 100e-6)
    aged_esr: Range = (0.2, 1.0)
    source_resistance: Range = (0.2, 1.0)
    windows_per_shard: int = 1024

    LOG_UNIFORM = ("fsw", "rated_current", "tau", "aged_c_dc", "aged_esr")

    def __post_init__(self) -> None:
        class_names(self.families)  # validates the family names
        bad: list[str] = [c for c in self.channels if c not in CHANNELS]
        if bad:
            raise ConfigError(f"SimConfig.channels: unknown {bad}; valid: {list(CHANNELS)}")
        known = class_names(tuple(FAMILIES))
        bad = [c for c in self.class_prior if c not in known]
        if bad:
            raise ConfigError(f"SimConfig.class_prior: unknown classes {bad}; valid: {known}")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple) and len(v) == 2 and f.name not in ("channels", "families"):
                if not v[0] <= v[1]:
                    raise ConfigError(f"SimConfig.{f.name}={v}: low must not exceed high")
        if self.window < 1 or self.windows_per_shard < 1 or self.sample_rate <= 0:
            raise ConfigError(
                "SimConfig: window, windows_per_shard and sample_rate must be positive"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (stored in the corpus description)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def pretraining(cls, **changes: Any) -> SimConfig:
        """Broad domain randomisation for unlabeled pretraining corpora (:data:`PRETRAINING_CHANGES`).

        Args:
            changes: further field changes (e.g. ``windows_per_shard``), applied last.
        """
        return dataclasses.replace(cls(), **{**PRETRAINING_CHANGES, **changes})

    @classmethod
    def from_yaml(cls, path: str | Path, base: SimConfig | None = None) -> SimConfig:
        """``base`` (default: the defaults) with the changes in a YAML file (nested ``sensor:`` mapping);
        unknown keys and wrong types raise :class:`~ssl_waveform.config.ConfigError` naming the file and key."""
        from ssl_waveform.config import load_config

        return load_config(cls, path, base=base)


# What an unlabeled field corpus looks like, as far as the simulator can draw it: every fault family (open
# switches, intermittent opens, current-sensor faults, an aged DC-link capacitor) at half of the windows, both
# control modes and modulations equally often, the simulator's full operating range (vdc, m, f, fsw, dead time,
# RL and back-EMF loads), and a measurement chain with 3 % gain error, 2 % offset and 1 % noise (of rated
# current) instead of a calibrated one.
PRETRAINING_CHANGES: dict[str, Any] = {
    "families": ("switch", "intermittent", "sensor", "dclink"),
    "unlabeled_healthy_fraction": 0.5,
    "closed_loop_fraction": 0.5,
    "zero_sequence_fraction": 0.5,
    "sensor": SensorModel(gain_std=0.03, offset_std=0.02, noise_std=0.01),
}


@dataclass(frozen=True)
class WindowSpec:
    """Everything needed to simulate and label one window."""

    class_name: str
    point: OperatingPoint
    faults: list[str]
    fault_window: tuple[float, float]
    sensor_fault: str | None
    rated_current: float


def _draw(cfg: SimConfig, name: str, rng: np.random.Generator) -> float:
    lo, hi = getattr(cfg, name)
    if name in cfg.LOG_UNIFORM and lo > 0:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(rng.uniform(lo, hi))


def class_probabilities(cfg: SimConfig, labeled: bool) -> tuple[list[str], np.ndarray]:
    """Class names of the corpus and the probability of drawing each."""
    names = class_names(cfg.families)
    w = np.array([cfg.class_prior.get(c, 1.0) for c in names], dtype=np.float64)
    if not labeled and len(names) > 1:
        w = np.full(len(names), (1.0 - cfg.unlabeled_healthy_fraction) / (len(names) - 1))
        w[0] = cfg.unlabeled_healthy_fraction
    if w.sum() <= 0 or (w < 0).any():
        raise ValueError(f"class prior must be non-negative with a positive sum, got {w.tolist()}")
    return names, w / w.sum()


def sample_point(cfg: SimConfig, rng: np.random.Generator) -> tuple[OperatingPoint, float]:
    """Draw a realistic operating point; returns it and the rated current it was sized for.

    The load is sized so the healthy current amplitude is the drawn rated current: the back-EMF
    is a fraction of the fundamental pole voltage, ``|Z| = |V - E| / I_rated`` and ``l / r = tau``;
    l is raised if the switching ripple ``vdc / (4 fsw l)`` would exceed ``max_ripple`` x rated.
    """
    vdc, m, f, fsw = (_draw(cfg, k, rng) for k in ("vdc", "m", "f", "fsw"))
    rated, tau = _draw(cfg, "rated_current", rng), _draw(cfg, "tau", rng)
    delta = _draw(cfg, "load_angle_deg", rng)
    v1 = m * vdc / 2
    e = _draw(cfg, "emf_fraction", rng) * v1
    dv = abs(v1 - e * complex(math.cos(math.radians(delta)), -math.sin(math.radians(delta))))
    z = max(dv, 0.02 * v1) / rated
    w = 2 * math.pi * f
    r = z / math.sqrt(1 + (w * tau) ** 2)
    l_ind = max(tau * r, vdc / (4 * fsw * cfg.max_ripple * rated))
    r = max(r, 1e-3)
    td_hi = min(cfg.dead_time[1], 0.05 / fsw)
    point = OperatingPoint(
        vdc=vdc, m=m, f=f, fsw=fsw, r=r, l=l_ind, e=e, load_angle_deg=delta,
        phase_deg=float(rng.uniform(0, 360)), carrier_delay=float(rng.uniform(0, 1)),
        diode_drop=_draw(cfg, "diode_drop", rng),
        dead_time=float(rng.uniform(min(cfg.dead_time[0], td_hi), td_hi)),
        zero_sequence=bool(rng.random() < cfg.zero_sequence_fraction),
        control="closed_loop" if rng.random() < cfg.closed_loop_fraction else "open_loop",
    )  # fmt: skip
    return point, rated


def sample_windows(
    cfg: SimConfig, n: int, rng: np.random.Generator, labeled: bool
) -> list[WindowSpec]:
    """Draw ``n`` windows: class from the prior, then operating point and fault parameters."""
    names, prob = class_probabilities(cfg, labeled)
    t0 = cfg.settle
    span = cfg.window / cfg.sample_rate
    specs = []
    for ci in rng.choice(len(names), size=n, p=prob):
        name = names[int(ci)]
        point, rated = sample_point(cfg, rng)
        window = (-math.inf, math.inf)
        sensor = None
        if name.startswith("intermittent:"):
            length = rng.uniform(0.2, 0.6) * span
            start = t0 + rng.uniform(0, span - length)
            window = (start, start + length)
        elif name.startswith("sensor:"):
            sensor = name.removeprefix("sensor:")
        elif name == "dclink:aged_capacitor":
            point = dataclasses.replace(
                point, c_dc=_draw(cfg, "aged_c_dc", rng), esr=_draw(cfg, "aged_esr", rng),
                r_src=_draw(cfg, "source_resistance", rng),
            )  # fmt: skip
        specs.append(WindowSpec(name, point, open_switches(name), window, sensor, rated))
    return specs
