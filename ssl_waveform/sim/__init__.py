"""ssl_waveform.sim: physics-based, vectorised two-level three-phase inverter simulator."""

from ssl_waveform.sim.point import CONTROL_MODES, SWITCHES, OperatingPoint, fault_mask
from ssl_waveform.sim.simulator import (
    CHANNEL_UNITS,
    CHANNELS,
    DEFAULT_CHANNELS,
    decimation_filter,
    simulate,
    simulate_batch,
    substep_ratio,
    time_grid,
)

__all__ = [
    "CHANNELS",
    "CHANNEL_UNITS",
    "CONTROL_MODES",
    "DEFAULT_CHANNELS",
    "SWITCHES",
    "OperatingPoint",
    "decimation_filter",
    "fault_mask",
    "simulate",
    "simulate_batch",
    "substep_ratio",
    "time_grid",
]
