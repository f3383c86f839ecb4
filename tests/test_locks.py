"""One writer per output folder (ingest, simulate, training runs) and no silent mixing of settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from accelerate.state import AcceleratorState

from ssl_waveform._lock import FolderLockedError, exclusive
from ssl_waveform.cli.simulate import main as simulate_main
from ssl_waveform.data import CorpusError, ingest
from ssl_waveform.sim import SimConfig
from ssl_waveform.sim.corpus import write_corpus


def test_a_second_ingest_into_the_same_folder_fails_at_once(tmp_path: Path) -> None:
    np.save(tmp_path / "r.npy", np.random.default_rng(0).normal(size=(100, 3)))
    out = tmp_path / "corpus"
    with exclusive(out, "ingest"):  # as if another ingest were running
        with pytest.raises(
            CorpusError, match=rf"another ingest \(pid {os.getpid()}\) is writing it"
        ):
            ingest([tmp_path / "r.npy"], out, sample_rate=1e3, window=10, progress=False)
    assert not out.exists()
    ingest([tmp_path / "r.npy"], out, sample_rate=1e3, window=10, progress=False)  # free again
    with pytest.raises(
        CorpusError, match="already exists"
    ):  # and the finished corpus is not replaced
        ingest([tmp_path / "r.npy"], out, sample_rate=1e3, window=10, progress=False)


def test_simulate_refuses_concurrent_writers_and_other_settings(tmp_path: Path, capsys) -> None:
    cfg = SimConfig(windows_per_shard=4)
    root = tmp_path / "sim"
    with exclusive(root, "simulate"):
        with pytest.raises(FolderLockedError, match="another simulate"):
            write_corpus(root, cfg, 8, seed=7, progress=False)
    write_corpus(root, cfg, 8, seed=7, progress=False)
    with pytest.raises(ValueError, match=r"seed: 7 -> 8"):
        write_corpus(root, cfg, 8, seed=8, progress=False)
    with pytest.raises(ValueError, match=r"windows: 8 -> 6"):
        write_corpus(root, cfg, 6, seed=7, progress=False)
    assert (
        len(write_corpus(root, cfg, 8, seed=7, progress=False)) == 8
    )  # the same settings: a no-op resume
    with pytest.raises(SystemExit) as exit_info:
        simulate_main(["--out", str(root), "--windows", "6", "--seed", "7"])
    assert exit_info.value.code == 2 and "made with other settings" in capsys.readouterr().err


def test_a_second_training_run_into_the_same_folder_fails_at_once(tmp_path: Path) -> None:
    from _engine_toy_run import ToyConfig, ToyMapData, ToyRegressor

    from ssl_waveform.engine import train

    AcceleratorState._reset_state(reset_partial_state=True)
    run = tmp_path / "run"
    with exclusive(run, "training run"):
        with pytest.raises(FolderLockedError, match=r"another training run \(pid \d+\)"):
            train(ToyRegressor(8), ToyMapData(64, 8), ToyConfig().engine, run)
    AcceleratorState._reset_state(reset_partial_state=True)
    assert train(ToyRegressor(8), ToyMapData(64, 8), ToyConfig().engine, run).steps > 0
    AcceleratorState._reset_state(reset_partial_state=True)
