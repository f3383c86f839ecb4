"""Deterministic, resumable generation of simulated corpora through the data layer's writer."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.sim.config import SimConfig, class_probabilities, sample_windows
from ssl_waveform.sim.point import CONTROL_MODES, SWITCHES
from ssl_waveform.sim.sensors import apply_sensor
from ssl_waveform.sim.simulator import CHANNEL_UNITS, simulate_batch

_POINT_META = (
    "vdc", "m", "f", "fsw", "r", "l", "e", "load_angle_deg", "phase_deg", "carrier_delay",
    "diode_drop", "dead_time", "c_dc", "esr", "r_src",
)  # fmt: skip


def generate_shard(
    cfg: SimConfig, seed: int, shard: int, n: int, labeled: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Simulate shard ``shard`` of a corpus from ``SeedSequence([seed, shard])`` only.

    Returns:
        ``[n, C, window]`` float32 waveforms, ``[n]`` int64 class indices and per-window metadata
        (operating point, control mode, open switches, fault interval, sensor fault parameters).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, shard]))
    names, _ = class_probabilities(cfg, labeled)
    specs = sample_windows(cfg, n, rng, labeled)
    x = simulate_batch(
        [s.point for s in specs], [s.faults for s in specs], cfg.sample_rate,
        cfg.window / cfg.sample_rate, cfg.settle, cfg.channels, [s.fault_window for s in specs],
    )  # fmt: skip
    cur = [i for i, c in enumerate(cfg.channels) if c in ("ia", "ib", "ic")]
    sensor_info: dict[str, list[float]] = {}
    for b, s in enumerate(specs):
        y, info = apply_sensor(x[b, cur], s.rated_current, cfg.sensor, s.sensor_fault, rng)
        x[b, cur] = y
        for k, v in info.items():
            sensor_info.setdefault(k, []).append(v)
    meta: dict[str, np.ndarray] = {
        k: np.array([float(getattr(s.point, k)) for s in specs]) for k in _POINT_META
    }
    meta["zero_sequence"] = np.array([int(s.point.zero_sequence) for s in specs])
    meta["control"] = np.array([s.point.control for s in specs])
    meta["class_name"] = np.array([s.class_name for s in specs])
    meta["open_switches"] = np.array([",".join(s.faults) for s in specs])
    meta["rated_current"] = np.array([s.rated_current for s in specs])
    meta["fault_t_on"] = np.array([max(s.fault_window[0], -1.0) for s in specs])
    meta["fault_t_off"] = np.array([min(s.fault_window[1], 1e9) for s in specs])
    meta.update({k: np.array(v) for k, v in sensor_info.items()})
    labels = np.array([names.index(s.class_name) for s in specs], dtype=np.int64)
    return x, labels, meta


def write_corpus(
    root: str | Path,
    cfg: SimConfig,
    windows: int,
    seed: int = 0,
    labeled: bool = False,
    progress: bool = True,
) -> Any:
    """Write (or resume) a simulated corpus of ``windows`` windows; complete shards are skipped.

    One writer per folder (a second concurrent ``write_corpus`` into ``root`` fails at once), and a folder
    holds one corpus: resuming into a folder made with another seed, size, labeling or simulator config
    raises instead of mixing shards (``.simulate.json`` records the settings of the first invocation).

    Returns:
        The finalised ``ssl_waveform.data.Corpus``.

    Raises:
        ValueError: ``root`` holds a corpus or a partial run made with other settings.
        ssl_waveform._lock.FolderLockedError: another process is writing ``root``.
    """
    from ssl_waveform._lock import exclusive

    with exclusive(root, "simulate"):
        return _write_corpus_locked(Path(root), cfg, windows, seed, labeled, progress)


def _same_settings(root: Path, description: dict[str, Any]) -> None:
    """Refuse a folder whose recorded settings differ from ``description``; record them in a new folder."""
    from ssl_waveform.data import Corpus

    stamp = root / ".simulate.json"
    wanted = json.loads(json.dumps(description))
    if stamp.is_file():
        old = json.loads(stamp.read_text())
    elif (root / "manifest.json").is_file():
        old = Corpus(root).description
    else:
        if root.exists() and any(root.glob("shard-*.h5")):
            raise ValueError(
                f"{root}: holds shards of an unknown simulation (no .simulate.json); use another --out or "
                "delete the folder"
            )
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(stamp, wanted, indent=1)
        return
    diff = sorted(k for k in set(old) | set(wanted) if old.get(k) != wanted.get(k))
    if diff:
        shown = "; ".join(
            f"{k}: {old.get(k)!r} -> {wanted.get(k)!r}"
            if k != "sim_config"
            else "sim_config differs"
            for k in diff
        )
        raise ValueError(
            f"{root}: holds a simulated corpus made with other settings ({shown}); resuming would mix them. "
            "Use another --out or delete the folder"
        )


def _write_corpus_locked(
    root: Path, cfg: SimConfig, windows: int, seed: int, labeled: bool, progress: bool
) -> Any:
    from ssl_waveform.data import CorpusWriter

    if windows < 1:
        raise ValueError(f"windows must be >= 1, got {windows}")
    names, prob = class_probabilities(cfg, labeled)
    description = {
        "source": "ssl_waveform.sim",
        "seed": seed,
        "labeled": labeled,
        "windows": windows,
        "sim_config": cfg.to_dict(),
        "class_prior": dict(zip(names, prob.tolist())),
        "control_modes": list(CONTROL_MODES),
        "switches": list(SWITCHES),
    }
    _same_settings(root, description)
    writer = CorpusWriter(
        root, sample_rate=cfg.sample_rate, channel_names=list(cfg.channels),
        units=[CHANNEL_UNITS[c] for c in cfg.channels], class_names=names if labeled else None,
        windows_per_shard=cfg.windows_per_shard, dtype="float32", description=description,
    )  # fmt: skip
    n_shards = math.ceil(windows / cfg.windows_per_shard)
    for k in tqdm(range(n_shards), desc="simulate", unit="shard", disable=not progress):
        if writer.shard_complete(k):
            continue
        n = min(cfg.windows_per_shard, windows - k * cfg.windows_per_shard)
        x, y, meta = generate_shard(cfg, seed, k, n, labeled)
        writer.write_shard(k, x, y if labeled else None, meta=meta)
    return writer.finalize()
