"""The benchmark: self-supervised vs ImageNet vs scratch encoders by label budget, robustness and real data."""

from ssl_waveform.benchmark.presets import PRESETS, Axis, Preset
from ssl_waveform.benchmark.runner import Benchmark, BenchmarkConfig, run_benchmark

__all__ = ["PRESETS", "Axis", "Benchmark", "BenchmarkConfig", "Preset", "run_benchmark"]
