"""The benchmark's corpora: training ranges, unseen-seed and shifted test sets, noise, and real ITSC data.

The labeled pool is simulated in open-loop SPWM over a *middle* part of the simulator's ranges, so that the
operating-point-shift test sets lie outside what any label covers. The unlabeled pretraining corpus is what a
fleet's unlabeled recordings would be: the simulator's broad randomisation (``SimConfig.pretraining``: full
operating range, both control modes, every fault family, miscalibrated sensors), so it does reach the shifted
conditions, without labels.

| corpus | vdc (V) | f (Hz) | load time constant (ms) | control |
|---|---|---|---|---|
| unlabeled (pretraining) | 100-800 | 5-100 | 1-20 | open-loop and closed-loop, 50/50 |
| labeled pool, in-distribution test | 200-600 | 20-70 | 2-10 | open-loop |
| op_shift test | 600-800 | 70-100 | 10-20 | open-loop |
| closed_loop test | 200-600 | 20-70 | 2-10 | closed-loop dq current control |
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ssl_waveform.benchmark.presets import Preset

ITSC_SUBDIR = Path("ITSC") / "RAW_Signals_SF"

TRAIN_RANGES: dict[str, Any] = {"vdc": (200.0, 600.0), "f": (20.0, 70.0), "tau": (2e-3, 10e-3)}
SHIFT_RANGES: dict[str, Any] = {"vdc": (600.0, 800.0), "f": (70.0, 100.0), "tau": (10e-3, 20e-3)}

# seeds of the simulated corpora; test seeds never appear in training
SEEDS = {
    "unlabeled": 100,
    "labeled": 101,
    "sim_like_itsc": 102,
    "in_dist": 200,
    "op_shift": 201,
    "closed_loop": 202,
}


def sim_config(kind: str, preset: Preset):
    """SimConfig of a benchmark corpus kind (see the module docstring)."""
    from ssl_waveform.sim.config import SimConfig

    if kind == "unlabeled":
        return SimConfig.pretraining(windows_per_shard=preset.windows_per_shard)
    base = SimConfig(windows_per_shard=preset.windows_per_shard, closed_loop_fraction=0.0)
    if kind in ("labeled", "in_dist"):
        return dataclasses.replace(base, **TRAIN_RANGES)
    if kind == "op_shift":
        return dataclasses.replace(base, **SHIFT_RANGES)
    if kind == "closed_loop":
        return dataclasses.replace(base, closed_loop_fraction=1.0, **TRAIN_RANGES)
    raise KeyError(
        f"unknown benchmark corpus kind {kind!r}; valid: {sorted(set(SEEDS) - {'sim_like_itsc'})}"
    )


def sim_corpus(out: Path, kind: str, preset: Preset) -> Path:
    """Simulate (or resume, or reuse) one benchmark corpus under ``out/data``."""
    from ssl_waveform.sim.corpus import write_corpus

    windows = {
        "unlabeled": preset.unlabeled_windows,
        "labeled": preset.labeled_windows,
    }.get(kind, preset.test_windows)
    root = out / "data" / kind
    if not (root / "manifest.json").is_file():
        print(f"[benchmark] simulating {kind} corpus: {windows} windows")
        write_corpus(
            root, sim_config(kind, preset), windows, seed=SEEDS[kind], labeled=kind != "unlabeled"
        )
    return root


def itsc_corpus(out: Path, external_data: Path | None, preset: Preset) -> Path | None:
    """Ingest the real ITSC motor-current recordings (13 classes) once; None when the folder is absent."""
    from ssl_waveform.data import ingest

    if external_data is None or not (external_data / ITSC_SUBDIR).is_dir():
        return None
    root = out / "data" / "itsc"
    if not (root / "manifest.json").is_file():
        print(f"[benchmark] ingesting ITSC from {external_data / ITSC_SUBDIR}")
        ingest(
            [external_data / ITSC_SUBDIR],
            root,
            sample_rate=1000.0,
            window=preset.real.window,
            hop=preset.real.hop,
            channels=["ia", "ib", "ic"],
            labels_from_folders=True,
            progress=False,
        )
    return root


def itsc_pretraining_corpus(out: Path, itsc: Path, split: dict[str, Any]) -> Path:
    """The ITSC windows outside the test split (training and validation recordings), unlabeled: what a user
    pretrains on when the recordings they will be judged on must stay unseen."""
    from ssl_waveform.data import Corpus
    from ssl_waveform.finetune import write_split_parts

    root = out / "data" / "itsc_pretrain"
    if not (root / "manifest.json").is_file():
        write_split_parts(Corpus(itsc), root, ["train", "val"], labeled=False, **split)
    return root


def sim_corpus_like_itsc(out: Path, windows: int, preset: Preset) -> Path:
    """Unlabeled simulated windows at the ITSC recordings' rate and length (broad randomisation, 1 kHz)."""
    from ssl_waveform.sim.config import SimConfig
    from ssl_waveform.sim.corpus import write_corpus

    root = out / "data" / "sim_like_itsc"
    if not (root / "manifest.json").is_file():
        print(f"[benchmark] simulating {windows} windows at 1 kHz for mae-sim")
        cfg = SimConfig.pretraining(
            sample_rate=1000.0,
            window=preset.real.window,
            windows_per_shard=preset.windows_per_shard,
        )
        write_corpus(root, cfg, windows, seed=SEEDS["sim_like_itsc"], labeled=False)
    return root


def add_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White Gaussian sensor noise at ``snr_db`` relative to each window's per-channel signal power."""
    rng = np.random.default_rng(seed)
    power = np.mean(np.square(x - x.mean(axis=-1, keepdims=True)), axis=-1, keepdims=True)
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (x + sigma * rng.standard_normal(x.shape)).astype(np.float32)
