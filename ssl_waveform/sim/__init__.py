"""ssl_waveform.sim: physics-based, vectorised two-level three-phase inverter simulator.

Also the built-in simulated corpora (``builtin_labeled_corpus``, ``builtin_unlabeled_corpus``) that commands use
when given no data. See ``docs/simulator.md`` for the circuit, conventions, fault families and the ngspice check.
"""

from ssl_waveform.sim.boost import (
    BOOST_CHANNELS,
    BOOST_FAULTS,
    BoostParams,
    run_ngspice_boost,
    simulate_boost,
)
from ssl_waveform.sim.builtin import builtin_labeled_corpus, builtin_unlabeled_corpus
from ssl_waveform.sim.config import SimConfig, WindowSpec, sample_point, sample_windows
from ssl_waveform.sim.corpus import generate_shard, write_corpus
from ssl_waveform.sim.families import FAMILIES, SWITCH_CLASSES, class_names, open_switches
from ssl_waveform.sim.ngspice import ngspice_available, nrmse, run_ngspice, write_netlist
from ssl_waveform.sim.point import CONTROL_MODES, SWITCHES, OperatingPoint, fault_mask
from ssl_waveform.sim.sensors import SensorModel, apply_sensor
from ssl_waveform.sim.simulator import (
    CHANNEL_UNITS,
    CHANNELS,
    DEFAULT_CHANNELS,
    SubstepGrid,
    decimate_substeps,
    decimation_filter,
    simulate,
    simulate_batch,
    substep_grid,
    substep_ratio,
    time_grid,
)

__all__ = [
    "BOOST_CHANNELS",
    "BOOST_FAULTS",
    "CHANNELS",
    "CHANNEL_UNITS",
    "CONTROL_MODES",
    "DEFAULT_CHANNELS",
    "FAMILIES",
    "SWITCHES",
    "SWITCH_CLASSES",
    "BoostParams",
    "OperatingPoint",
    "SensorModel",
    "SimConfig",
    "SubstepGrid",
    "WindowSpec",
    "apply_sensor",
    "builtin_labeled_corpus",
    "builtin_unlabeled_corpus",
    "class_names",
    "decimate_substeps",
    "decimation_filter",
    "fault_mask",
    "generate_shard",
    "ngspice_available",
    "nrmse",
    "open_switches",
    "run_ngspice",
    "run_ngspice_boost",
    "sample_point",
    "sample_windows",
    "simulate",
    "simulate_batch",
    "simulate_boost",
    "substep_grid",
    "substep_ratio",
    "time_grid",
    "write_corpus",
    "write_netlist",
]
