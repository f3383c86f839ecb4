"""Sampling config, fault families, sensor model, deterministic/resumable corpus generation, CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.cli.simulate import main
from ssl_waveform.serialize import ConfigError
from ssl_waveform.sim import (
    FAMILIES,
    SWITCH_CLASSES,
    SensorModel,
    SimConfig,
    apply_sensor,
    class_names,
    generate_shard,
    open_switches,
    sample_point,
)

SMALL = SimConfig(window=256, settle=0.02, windows_per_shard=4, fsw=(2000.0, 6000.0))


def test_switch_classes_are_the_standard_22() -> None:
    assert len(SWITCH_CLASSES) == 22 and SWITCH_CLASSES[0] == "healthy"
    assert SWITCH_CLASSES[1] == "open:Sa+" and SWITCH_CLASSES[7] == "open:Sa+,Sa-"
    assert SWITCH_CLASSES[-1] == "open:Sc+,Sc-"
    assert open_switches("open:Sa+,Sb-") == ["Sa+", "Sb-"]
    assert open_switches("intermittent:open:Sc-") == ["Sc-"] and open_switches("sensor:gain") == []
    allc = class_names(tuple(FAMILIES))
    assert len(allc) == len(set(allc)) == 22 + 4 + 1 + 6
    with pytest.raises(ValueError, match="valid"):
        class_names(("switch", "thermal"))


def test_sampled_points_are_realistic() -> None:
    rng = np.random.default_rng(0)
    cfg = SimConfig()
    for _ in range(200):
        p, rated = sample_point(cfg, rng)
        assert 100 <= p.vdc <= 800 and 0.1 <= p.m <= 1.15 and 5 <= p.f <= 100
        assert 2000 <= p.fsw <= 20000 and 2 <= rated <= 50 and p.e < p.m * p.vdc / 2
        # the load is sized for the rated current (ripple guard may only lower it)
        assert abs(p.current_phasor()) <= 1.02 * rated
        assert p.vdc / (4 * p.fsw * p.l) <= cfg.max_ripple * rated * 1.0001


def test_config_yaml_changes_and_unknown_keys(tmp_path: Path) -> None:
    good = tmp_path / "c.yaml"
    good.write_text("vdc: [200, 300]\nfamilies: [switch, sensor]\nsensor: {adc_bits: 10}\n")
    cfg = SimConfig.from_yaml(good)
    assert cfg.vdc == (200, 300) and cfg.families == ("switch", "sensor")
    assert cfg.sensor.adc_bits == 10 and cfg.m == SimConfig().m
    bad = tmp_path / "b.yaml"
    bad.write_text("vdcc: [1, 2]\n")
    with pytest.raises(ConfigError, match="vdcc"):
        SimConfig.from_yaml(bad)
    with pytest.raises(ConfigError, match="low must not exceed high"):
        SimConfig(f=(50.0, 10.0))


def test_pretraining_config_is_broad_and_yaml_changes_apply_on_top(tmp_path: Path) -> None:
    broad = SimConfig.pretraining(windows_per_shard=64)
    assert set(broad.families) == {"switch", "intermittent", "sensor", "dclink"}
    assert broad.closed_loop_fraction == 0.5 and broad.unlabeled_healthy_fraction == 0.5
    assert broad.sensor.gain_std > SimConfig().sensor.gain_std and broad.windows_per_shard == 64
    assert broad.vdc == SimConfig().vdc and broad.f == SimConfig().f  # the full operating range
    changes = tmp_path / "c.yaml"
    changes.write_text("f: [40, 60]\nsensor: {adc_bits: 10}\n")
    cfg = SimConfig.from_yaml(changes, base=broad)
    assert cfg.f == (40, 60) and cfg.families == broad.families
    assert cfg.sensor.adc_bits == 10 and cfg.sensor.gain_std == broad.sensor.gain_std


def test_sensor_faults_do_what_they_say() -> None:
    t = np.arange(2000) / 20_000
    x = np.stack([10 * np.sin(2 * np.pi * 50 * t - k * 2 * np.pi / 3) for k in range(3)])
    clean = SensorModel(gain_std=0, offset_std=0, noise_std=0, adc_bits=0)
    rng = np.random.default_rng(1)
    y, info = apply_sensor(x, 10.0, clean, None, rng)
    np.testing.assert_allclose(y, x, atol=1e-5)
    assert info["sensor_phase"] == -1
    y, info = apply_sensor(x, 10.0, clean, "gain", rng)
    ph = int(info["sensor_phase"])
    np.testing.assert_allclose(
        y[ph] / np.where(x[ph] == 0, 1, x[ph]), info["sensor_value"], rtol=1e-4, atol=1e-3
    )
    assert not 0.8 < info["sensor_value"] < 1.2
    y, info = apply_sensor(x, 10.0, clean, "offset", rng)
    ph = int(info["sensor_phase"])
    assert (
        abs(np.mean(y[ph] - x[ph]) - info["sensor_value"]) < 1e-4 and abs(info["sensor_value"]) >= 1
    )
    y, info = apply_sensor(x, 10.0, clean, "stuck", rng)
    ph, k = int(info["sensor_phase"]), int(info["sensor_start"])
    assert np.ptp(y[ph, k:]) == 0 and np.ptp(y[ph, :k]) > 0 if k > 1 else np.ptp(y[ph, k:]) == 0
    y, info = apply_sensor(x, 10.0, clean, "noise_burst", rng)
    ph, a, b = int(info["sensor_phase"]), int(info["sensor_start"]), int(info["sensor_stop"])
    assert (
        np.std(y[ph, a:b] - x[ph, a:b]) > 0.5
        and np.abs(np.delete(y[ph] - x[ph], np.s_[a:b])).max() < 1e-5
    )
    q, _ = apply_sensor(x, 10.0, SensorModel(gain_std=0, offset_std=0, noise_std=0), None, rng)
    lsb = 2 * 3.0 * 10.0 / 2**12
    np.testing.assert_allclose(q / lsb, np.round(q / lsb), atol=1e-3)


def test_shard_is_deterministic_per_seed_and_labels_match_classes() -> None:
    cfg = dataclasses.replace(SMALL, families=tuple(FAMILIES))
    x1, y1, m1 = generate_shard(cfg, 7, 3, 6, labeled=True)
    x2, y2, m2 = generate_shard(cfg, 7, 3, 6, labeled=True)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert set(m1) == set(m2) and all(np.array_equal(m1[k], m2[k]) for k in m1)
    x3, _, _ = generate_shard(cfg, 8, 3, 6, labeled=True)
    assert not np.array_equal(x1, x3)
    names = class_names(cfg.families)
    assert x1.shape == (6, 3, 256) and x1.dtype == np.float32 and np.isfinite(x1).all()
    assert [names[i] for i in y1] == list(m1["class_name"])
    assert set(m1["control"]) <= {"open_loop", "closed_loop"}


def _digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("*.h5"))}


def test_cli_writes_labeled_corpus_and_resume_gives_same_bytes(tmp_path: Path) -> None:
    from ssl_waveform.data import Corpus

    cfg = tmp_path / "small.yaml"
    cfg.write_text("window: 256\nsettle: 0.02\nwindows_per_shard: 4\nfsw: [2000, 6000]\n")
    args = ["--windows", "10", "--labeled", "--seed", "3", "--config", str(cfg), "--no-progress"]
    main(["--out", str(tmp_path / "a"), *args])
    corpus = Corpus(tmp_path / "a")
    assert len(corpus) == 10
    labels = corpus.labels()
    assert labels.shape == (10,) and labels.max() < 22
    assert corpus.meta("vdc").shape == (10,)
    full = _digest(tmp_path / "a")
    assert len(full) == 3
    # an interrupted run that had written shards 0 and 2 only (and its settings stamp), then resumed
    (tmp_path / "b").mkdir()
    for i, shard in enumerate(sorted((tmp_path / "a").glob("*.h5"))):
        if i != 1:
            shutil.copy2(shard, tmp_path / "b" / shard.name)
    with pytest.raises(SystemExit):  # shards whose settings are unknown are not resumed blindly
        main(["--out", str(tmp_path / "b"), *args])
    shutil.copy2(tmp_path / "a" / ".simulate.json", tmp_path / "b" / ".simulate.json")
    main(["--out", str(tmp_path / "b"), *args])
    assert _digest(tmp_path / "b") == full


def test_cli_pretraining_corpus_draws_every_family_and_both_control_modes(tmp_path: Path) -> None:
    from ssl_waveform.data import Corpus

    cfg = tmp_path / "small.yaml"
    cfg.write_text("window: 256\nsettle: 0.02\nwindows_per_shard: 32\nfsw: [2000, 6000]\n")
    main(["--out", str(tmp_path / "c"), "--windows", "64", "--pretraining", "--config", str(cfg),
          "--no-progress"])  # fmt: skip
    corpus = Corpus(tmp_path / "c")
    assert len(corpus) == 64 and corpus.class_names is None
    assert set(corpus.meta("control")) == {"open_loop", "closed_loop"}
    sensor_faulted = corpus.meta("sensor_phase") >= 0
    assert 0 < sensor_faulted.sum() < 64, "sensor faults appear in the unlabeled mix"
