"""Engine runs as separate processes: SIGKILL + automatic resume, and 2-process (gloo) CPU runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from _engine_toy_run import ToyConfig, ToyMapData, ToyRegressor
from accelerate.state import AcceleratorState
from safetensors.torch import load_file

from ssl_waveform.engine import latest_checkpoint, read_trainer_state, train

REPO = Path(__file__).resolve().parents[1]
TOY = str(REPO / "tests" / "_engine_toy_run.py")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _results(stdout: str) -> list[dict]:
    return [
        json.loads(ln[len("RESULT ") :]) for ln in stdout.splitlines() if ln.startswith("RESULT ")
    ]


def _result(stdout: str) -> dict:
    results = _results(stdout)
    assert len(results) == 1, f"expected one RESULT line (main process only), got:\n{stdout}"
    return results[0]


def test_sigkill_after_first_checkpoint_then_rerun_resumes(tmp_path):
    run = tmp_path / "run"
    # the same command both times (a rerun with other settings is refused); the sleep lets the kill land mid-run
    args = [sys.executable, TOY, str(run), "engine.keep_checkpoints=50", "step_sleep_s=0.15"]
    with open(tmp_path / "killed.out", "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=_env())
        deadline = time.monotonic() + 180
        while latest_checkpoint(run) is None:
            assert proc.poll() is None, (tmp_path / "killed.out").read_text()
            assert time.monotonic() < deadline, "no checkpoint appeared within 180 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = read_trainer_state(latest_checkpoint(run)).step
    assert 3 <= killed_at < 24, "the kill must land mid-run for this test to mean anything"

    rerun = subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    result = _result(rerun.stdout)
    assert result["resumed_from"] is not None and result["steps"] == 24
    assert "resuming from" in rerun.stdout and "fresh start" not in rerun.stdout
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    resumed = [r for r in log if "resumed_from_step" in r]
    assert len(resumed) == 1 and resumed[0]["resumed_from_step"] >= killed_at
    assert not list(run.rglob("*.tmp"))

    # The same config run uninterrupted in-process ends at the same step with the same weights.
    AcceleratorState._reset_state(reset_partial_state=True)
    torch.manual_seed(0)
    reference = ToyRegressor(8)
    ref = train(reference, ToyMapData(64, 8), ToyConfig().engine, tmp_path / "reference")
    AcceleratorState._reset_state(reset_partial_state=True)
    assert ref.steps == result["steps"]
    resumed_weights = load_file(latest_checkpoint(run) / "model.safetensors")
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(resumed_weights[name], value, msg=f"{name} after kill+resume")


def _torchrun(tmp_path: Path, *overrides: str) -> tuple[Path, subprocess.CompletedProcess]:
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        TOY,
        str(run),
        *overrides,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return run, done


def test_two_process_cpu_run_gives_one_checkpoint(tmp_path):
    run, done = _torchrun(
        tmp_path, "engine.epochs=2", "engine.keep_checkpoints=1", "engine.checkpoint_every=100"
    )
    # 64 samples / (batch 8 x 2 ranks) = 4 steps per epoch
    assert _result(done.stdout)["steps"] == 8
    assert (
        done.stdout.count("effective batch 16 = 8 per process x 1 accumulation x 2 processes") == 1
    )
    ckpts = list((run / "checkpoints").iterdir())
    assert [c.name for c in ckpts] == ["step_000000008"]
    names = {p.name for p in ckpts[0].iterdir()}
    assert {"rng_state_0.safetensors", "rng_state_1.safetensors"} <= names  # one RNG state per rank
    assert not [n for n in names if n.endswith(".pkl")]  # and nothing pickled
    assert len((run / "log.jsonl").read_text().splitlines()) == 2
    assert (run / "export_final.safetensors").is_file()


def test_two_process_iterable_run_with_accumulation_resumes_in_one_launch(tmp_path):
    # the slow test below in one torchrun launch: the toy stops at step 3, then reruns in the same processes
    run, done = _torchrun(
        tmp_path,
        "data.iterable=true",
        "engine.epochs=2",
        "engine.grad_accum=2",
        "engine.checkpoint_every=1",
        "engine.keep_checkpoints=10",
        "resume_at=3",
    )
    first, again = _results(done.stdout)  # main process only: one line per run
    assert first == {"steps": 3, "resumed_from": None}
    assert again == {"steps": 4, "resumed_from": str(run / "checkpoints" / "step_000000003")}
    # each rank reads 64 / (8 x 2) = 4 batches per epoch -> 2 optimizer steps per epoch
    assert read_trainer_state(run / "checkpoints" / "step_000000003").epoch == 1
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["resumed_from_step"] for r in log if "resumed_from_step" in r] == [3]


@pytest.mark.slow
def test_two_process_iterable_run_with_accumulation_and_resume(tmp_path):
    args = (
        "data.iterable=true",
        "engine.epochs=2",
        "engine.grad_accum=2",
        "engine.checkpoint_every=1",
    )
    run, done = _torchrun(tmp_path, *args, "engine.max_steps=3")
    assert _result(done.stdout)["steps"] == 3
    # each rank reads 64 / (8 x 2) = 4 batches per epoch -> 2 optimizer steps per epoch
    assert read_trainer_state(latest_checkpoint(run)).epoch == 1
    _, again = _torchrun(tmp_path, *args)
    assert _result(again.stdout) == {
        "steps": 4,
        "resumed_from": str(run / "checkpoints" / "step_000000003"),
    }
