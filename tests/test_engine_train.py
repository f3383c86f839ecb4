"""In-process training runs of the engine on a toy regressor (CPU, seconds)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch
import yaml
from _engine_toy_run import ToyConfig, ToyMapData, ToyRegressor, ToyStream, export_safetensors
from accelerate.state import AcceleratorState
from safetensors.torch import load_file

from ssl_waveform.engine import (
    EngineConfig,
    NonFiniteLossError,
    RunConfigMismatchError,
    latest_checkpoint,
    read_trainer_state,
    train,
)


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each run here starts from a clean one."""
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _cfg(**changes) -> EngineConfig:
    return replace(ToyConfig().engine, **changes)


def _run(tmp_path, name="run", data=None, method=None, **changes):
    torch.manual_seed(0)
    method = method or ToyRegressor(8)
    data = data if data is not None else ToyMapData(64, 8)
    return method, train(
        method, data, _cfg(**changes), tmp_path / name, export_fn=export_safetensors
    )


def _log(run_dir):
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_run_writes_config_log_and_atomic_checkpoints(tmp_path):
    _, res = _run(tmp_path, keep_checkpoints=2)
    run = tmp_path / "run"
    assert res.steps == res.total_steps == 24 and res.epochs_completed == 3
    assert (run / "config.yaml").is_file()
    records = _log(run)
    assert [r["epoch"] for r in records] == [0, 1, 2] and [r["step"] for r in records] == [
        8,
        16,
        24,
    ]
    assert {"loss", "lr", "samples_per_s", "wall_time_s", "abs_err"} <= set(records[0])
    assert records[-1]["loss"] < records[0]["loss"]  # it learns
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["step_000000021", "step_000000024"]  # pruned to keep_checkpoints
    assert not list(run.rglob("*.tmp"))
    final = latest_checkpoint(run)
    assert final == res.last_checkpoint and (final / "config.yaml").is_file()
    assert (final / "model.safetensors").is_file() and (final / "optimizer.bin").is_file()
    assert read_trainer_state(final).step == 24
    assert set(load_file(run / "export_final.safetensors")) == {
        "norm.weight",
        "norm.bias",
        "head.weight",
        "head.bias",
    }


def test_resume_from_mid_checkpoint_reproduces_the_uninterrupted_run(tmp_path):
    full, res = _run(tmp_path, "full", keep_checkpoints=20, checkpoint_every=5)
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    for ckpt in (part / "checkpoints").iterdir():
        if read_trainer_state(ckpt).step > 10:  # keep step 5 (mid epoch 0), 8 and 10 (mid epoch 1)
            shutil.rmtree(ckpt)
    (part / "log.jsonl").unlink()
    resumed, res2 = _run(tmp_path, "part", keep_checkpoints=20, checkpoint_every=5)
    assert res2.resumed_from is not None and res2.resumed_from.name == "step_000000010"
    assert res2.steps == res.steps == 24
    log = _log(part)
    assert [r["epoch"] for r in log] == [1, 2] and log[0]["resumed_from_step"] == 10
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{name} differs after resume")


def test_finished_run_relaunch_does_no_more_steps(tmp_path):
    _run(tmp_path)
    _, res = _run(tmp_path)
    assert res.steps == 24 and res.history == [] and res.resumed_from is not None


def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    _, res = _run(tmp_path, grad_accum=3, epochs=2, checkpoint_every=100)
    # 64 samples / batch 8 = 8 micro-batches -> 2 optimizer steps of 3 per epoch
    assert res.steps == 4 and [r["step"] for r in _log(tmp_path / "run")] == [2, 4]


def test_max_steps_overrides_epochs_and_cuts_last_epoch(tmp_path):
    _, res = _run(tmp_path, max_steps=11, checkpoint_every=100)
    assert res.steps == 11 and res.epochs_completed == 2
    assert read_trainer_state(res.last_checkpoint).batches_seen == 3


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    method = ToyRegressor(8, nan_at_call=7)
    with pytest.raises(NonFiniteLossError, match=r"step 7.*step_000000006.*lower base_lr"):
        _run(tmp_path, method=method, checkpoint_every=3)
    run = tmp_path / "run"
    assert read_trainer_state(latest_checkpoint(run)).step == 6
    assert all(read_trainer_state(c).step <= 6 for c in (run / "checkpoints").iterdir())
    assert not list(run.rglob("*.tmp"))


def test_ema_weights_are_exported_and_checkpointed(tmp_path):
    method, _ = _run(tmp_path, ema_decay=0.9)
    run = tmp_path / "run"
    exported = load_file(run / "export_final.safetensors")
    raw = method.state_dict()
    assert set(exported) == set(raw)
    assert not torch.allclose(exported["head.weight"], raw["head.weight"])
    assert all(torch.isfinite(v).all() for v in exported.values())
    ckpt = latest_checkpoint(run)
    assert (ckpt / "ema.safetensors").is_file() and (ckpt / "rng_state_0.safetensors").is_file()
    assert not list(run.glob("checkpoints/*/*.pkl"))  # nothing pickled in a run folder


class NoisyRegressor(ToyRegressor):
    """Draws from the global torch RNG every step, so a resume matches only if the RNG state is restored."""

    def forward(self, batch):
        return super().forward({**batch, "x": batch["x"] + 0.1 * torch.randn_like(batch["x"])})


def _resume_from_step_10(tmp_path, **changes):
    full, res = _run(
        tmp_path,
        "full",
        method=NoisyRegressor(8),
        keep_checkpoints=20,
        checkpoint_every=5,
        **changes,
    )
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    for ckpt in (part / "checkpoints").iterdir():
        if read_trainer_state(ckpt).step > 10:
            shutil.rmtree(ckpt)
    (part / "log.jsonl").unlink()
    return full, res, part


def test_resume_restores_rng_and_ema_without_pickle(tmp_path):
    full, res, _ = _resume_from_step_10(tmp_path, ema_decay=0.9)
    resumed, res2 = _run(tmp_path, "part", method=NoisyRegressor(8), keep_checkpoints=20, checkpoint_every=5,
                         ema_decay=0.9)  # fmt: skip
    assert res2.resumed_from.name == "step_000000010" and res2.steps == res.steps
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{name} differs after resume")
    a, b = (load_file(tmp_path / r / "export_final.safetensors") for r in ("full", "part"))
    for name in a:  # the EMA weights, restored from ema.safetensors
        torch.testing.assert_close(a[name], b[name], msg=f"EMA {name} differs after resume")


class _Planted:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(_Planted.marker),))


def test_a_planted_pickle_in_a_checkpoint_is_never_unpickled(tmp_path):
    _, _, part = _resume_from_step_10(tmp_path, ema_decay=0.9)
    marker = tmp_path / "pwned"
    _Planted.marker = str(marker)
    ckpt = part / "checkpoints" / "step_000000010"
    import pickle

    for name in ("custom_checkpoint_0.pkl", "random_states_0.pkl"):
        (ckpt / name).write_bytes(pickle.dumps(_Planted()))
    with pytest.warns(
        UserWarning, match=r"not loading custom_checkpoint_0\.pkl, random_states_0\.pkl"
    ):
        _run(
            tmp_path,
            "part",
            method=NoisyRegressor(8),
            keep_checkpoints=20,
            checkpoint_every=5,
            ema_decay=0.9,
        )
    assert not marker.exists()


def test_checkpoint_without_rng_state_warns(tmp_path):
    _, _, part = _resume_from_step_10(tmp_path)
    for f in (part / "checkpoints" / "step_000000010").glob("rng_state_*"):
        f.unlink()
    with pytest.warns(UserWarning, match="no RNG state"):
        _run(tmp_path, "part", method=NoisyRegressor(8), keep_checkpoints=20, checkpoint_every=5)


def test_iterable_dataset_epochs_lengths_and_batch_check(tmp_path):
    stream = ToyStream(64, 8, batch_size=8)
    _, res = _run(tmp_path, data=stream, epochs=2, checkpoint_every=100)
    assert res.steps == 16 and stream.epochs_seen == [0, 1]
    with pytest.raises(
        ValueError, match=r"first batch holds 4 samples but EngineConfig\.batch_size=8"
    ):
        _run(tmp_path, "bad", data=ToyStream(64, 8, batch_size=4))


def test_monitor_exports_best_and_patience_stops(tmp_path):
    calls = []

    def eval_fn(model, epoch):
        calls.append(epoch)
        return {"val_score": [0.5, 0.9, 0.8, 0.7, 0.6][epoch]}

    torch.manual_seed(0)
    cfg = _cfg(epochs=5, monitor="val_score", patience=2, checkpoint_every=100)
    res = train(
        ToyRegressor(8),
        ToyMapData(64, 8),
        cfg,
        tmp_path / "run",
        eval_fn=eval_fn,
        export_fn=export_safetensors,
    )
    assert calls == [0, 1, 2, 3] and res.stopped_early and res.best_metric == 0.9
    assert (tmp_path / "run" / "export_best.safetensors").is_file()
    assert _log(tmp_path / "run")[-1]["best_val_score"] == 0.9


def test_bf16_autocast_run_is_finite(tmp_path):
    _, res = _run(tmp_path, mixed_precision="bf16", epochs=1)
    assert res.steps == 8 and torch.isfinite(torch.tensor(res.loss))


def test_method_must_return_a_loss_dict(tmp_path):
    class Bad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 1)

        def forward(self, batch):
            return self.lin(batch["x"]).mean()

    with pytest.raises(TypeError, match="must return a dict with key 'loss'"):
        _run(tmp_path, method=Bad())


def test_rerun_with_other_settings_is_refused_before_anything_is_rewritten(tmp_path):
    _run(tmp_path, keep_checkpoints=20, checkpoint_every=5)
    run = tmp_path / "run"
    before = (run / "config.yaml").read_text()
    with pytest.raises(RunConfigMismatchError, match=r"base_lr: 4\.0 -> 2\.0"):
        _run(tmp_path, keep_checkpoints=20, checkpoint_every=5, base_lr=2.0)
    assert (run / "config.yaml").read_text() == before
    # the run's length may change: continuing a finished run for more epochs is allowed
    _, res = _run(tmp_path, keep_checkpoints=20, checkpoint_every=5, epochs=4)
    assert res.steps == 32


def test_a_field_added_after_the_run_was_made_resumes_at_its_default(tmp_path):
    _run(tmp_path, keep_checkpoints=20, checkpoint_every=5)
    run = tmp_path / "run"

    def forget(field: str) -> None:  # the run's saved configs as an older library wrote them
        for saved in (run / "checkpoints").glob("step_*/config.yaml"):
            data = yaml.safe_load(saved.read_text())
            del data[field]
            saved.write_text(yaml.safe_dump(data))

    forget("ema_decay")
    with pytest.raises(RunConfigMismatchError, match=r"ema_decay: None -> 0\.9"):
        _run(tmp_path, keep_checkpoints=20, checkpoint_every=5, ema_decay=0.9)
    _, res = _run(tmp_path, keep_checkpoints=20, checkpoint_every=5, epochs=4)  # default: same run
    assert res.steps == 32
