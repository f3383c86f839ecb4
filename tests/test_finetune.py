"""Fine-tuning (``python -m ssl_waveform.finetune``) on a tiny easy labeled corpus of three-phase tones."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState
from test_classify import CHANNELS, CLASSES, FS, WINDOW, tones

from ssl_waveform.cli.finetune import main
from ssl_waveform.config import ConfigError, parse
from ssl_waveform.data import Corpus, CorpusWriter
from ssl_waveform.engine import latest_checkpoint, read_trainer_state
from ssl_waveform.finetune import (
    FinetuneConfig,
    build_encoder_for_finetune,
    finetune,
    stratified_split,
)
from ssl_waveform.finetune.run import _prepare_data
from ssl_waveform.methods.classify import load_classifier
from ssl_waveform.models import create_encoder

REPO = Path(__file__).resolve().parents[1]
PER_CLASS = 30  # windows per class in the corpus: 8 test, 4 val, 18 train after the default split
K = 10  # labels per class drawn for training


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each in-process run starts from a clean one."""
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def write_tone_corpus(root: Path, per_class: int = PER_CLASS, seed: int = 11, **meta) -> Path:
    y = np.repeat(np.arange(3), per_class)
    with CorpusWriter(root, sample_rate=FS, channel_names=CHANNELS, class_names=CLASSES) as w:
        w.append(tones(y, WINDOW, seed=seed), labels=y, meta=meta or None)
    return root


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return write_tone_corpus(tmp_path_factory.mktemp("ft") / "tones")


# A tiny 1-D run that learns the tones in a few steps: high lr, mild layer decay, no drop path.
FAST = [
    "--init", "scratch", "--encoder", "convnext1d_test", "--representation", "raw",
    "--epochs", "4", "--batch-size", "15", "--base-lr", "0.1", "--layer-decay", "0.9",
    "--drop-path", "0", "--head-init-scale", "1.0", "--min-batches-per-epoch", "4",
    "--warmup-epochs", "0.5", "--engine.log-every", "100",
]  # fmt: skip


@pytest.fixture(scope="module")
def tuned(corpus_dir, tmp_path_factory) -> tuple[Path, dict, str]:
    """One CLI fine-tune with ``--labels-per-class K``: (run folder, metrics.json, stdout)."""
    AcceleratorState._reset_state(reset_partial_state=True)
    run = tmp_path_factory.mktemp("ft") / "run"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            ["--data", str(corpus_dir), "--run-dir", str(run), "--labels-per-class", str(K), *FAST]
        )
    AcceleratorState._reset_state(reset_partial_state=True)
    assert rc == 0
    return run, json.loads((run / "metrics.json").read_text()), buf.getvalue()


def test_labels_per_class_trains_on_exactly_k_windows_per_class(tuned, corpus_dir):
    _, metrics, stdout = tuned
    assert metrics["num_train_windows"] == K * len(CLASSES)
    assert f"{K * len(CLASSES)} labeled training windows (3 classes)" in stdout
    # the split code behind it: K per class, drawn from the training split only
    cfg = FinetuneConfig(data=str(corpus_dir), labels_per_class=K)
    corpus = Corpus(corpus_dir)
    splits, train_idx, labels = _prepare_data(cfg, corpus)
    np.testing.assert_array_equal(np.bincount(labels[train_idx]), [K, K, K])
    assert set(train_idx) <= set(splits.train)
    assert not set(train_idx) & (set(splits.val) | set(splits.test))
    assert metrics["num_val_windows"] == len(splits.val) == 12
    assert metrics["num_test_windows"] == len(splits.test) == 24


def test_fine_tune_beats_chance_and_writes_metrics(tuned, corpus_dir):
    run, m, _ = tuned
    assert {
        "accuracy", "macro_f1", "per_class", "confusion_matrix", "epochs", "wall_time_s", "config",
    } <= set(m)  # fmt: skip
    assert m["accuracy"] >= 0.6 and m["macro_f1"] >= 0.5, f"chance is 1/3, got {m['accuracy']}"
    assert set(m["per_class"]) == set(CLASSES)
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == m["num_test_windows"]
    assert np.trace(cm) / cm.sum() == pytest.approx(m["accuracy"])
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert m["epochs"] == len(log) == 4
    assert log[-1]["loss"] < log[0]["loss"]
    assert "val_macro_f1" in log[0]
    assert 0 < m["wall_time_s"] < 3600
    assert m["config"]["labels_per_class"] == K and m["config"]["engine"]["epochs"] == 4
    assert m["init"] == "scratch"
    for png in ("confusion_matrix.png", "training_curves.png"):
        assert (run / png).read_bytes()[:4] == b"\x89PNG"


def test_classifier_folder_reproduces_the_test_metrics(tuned, corpus_dir):
    run, m, _ = tuned
    folder = run / "classifier"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["class_names"] == CLASSES
    assert cfg["representation"]["name"] == "raw"
    assert cfg["sample_rate"] == FS and cfg["window"] == WINDOW
    assert cfg["channel_names"] == CHANNELS and "normalization" in cfg
    model = load_classifier(folder)
    corpus = Corpus(corpus_dir)
    test = stratified_split(corpus.labels(), seed=0).test
    pred = model.predict_windows(corpus.read(test)).argmax(axis=1)
    assert (pred == corpus.labels()[test]).mean() == pytest.approx(m["accuracy"])


def test_select_last_runs_the_fixed_schedule_and_keeps_the_last_weights(corpus_dir, tmp_path):
    """``--select last``: no early stopping, no "best" export; the classifier is the final epoch's model."""
    run = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["--data", str(corpus_dir), "--run-dir", str(run), "--select", "last", *FAST])
    assert rc == 0
    m = json.loads((run / "metrics.json").read_text())
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert m["epochs"] == len(log) == 4 and "val_macro_f1" in log[-1]  # validation is still logged
    assert not any(k.startswith("best_") for k in log[-1])
    assert not (run / "classifier").exists() and m["classifier"] == str(run / "classifier_last")
    assert m["config"]["select"] == "last"
    with pytest.raises(SystemExit, match="2"):
        main(["select=first"])


def test_too_few_windows_for_labels_per_class_names_the_class(corpus_dir, tmp_path):
    cfg = FinetuneConfig(data=str(corpus_dir), run_dir=str(tmp_path / "run"), labels_per_class=19)
    with pytest.raises(ValueError, match=r"class 0 has only 18 training windows.*=19"):
        finetune(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_grouped_corpus_splits_by_source(tmp_path):
    # 10 recordings per class, 3 windows each: no recording may straddle train/val/test
    source = np.array([f"rec{i // 3:02d}" for i in range(90)])
    root = write_tone_corpus(tmp_path / "grouped", source=source)
    splits, train_idx, _ = _prepare_data(FinetuneConfig(data=str(root)), Corpus(root))
    sides = [set(source[p]) for p in (splits.train, splits.val, splits.test)]
    assert sum(len(s) for s in sides) == 30 and len(set.union(*sides)) == 30
    assert len(train_idx) == len(splits.train)
    # split_by=none splits windows: recordings then do straddle (what the grouping prevents)
    flat, _, _ = _prepare_data(FinetuneConfig(data=str(root), split_by="none"), Corpus(root))
    assert set(source[flat.train]) & set(source[flat.test])


def test_cli_and_config_errors(tmp_path, capsys):
    for argv, message in [
        (["--run-dir", str(tmp_path), "--no-such-key", "1"], "--no-such-key"),
        (["--engine.epochs", "many"], "--engine.epochs"),
        (["--mode", "linear"], "--mode"),  # tyro's message names the flag and the choices
        (["--labels-per-class", "3", "--label-fraction", "0.5"], "error: set labels_per_class"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert message in err, (argv, err)
    assert not any(tmp_path.iterdir())  # nothing written
    with pytest.raises(ConfigError, match="not both"):
        FinetuneConfig(labels_per_class=3, label_fraction=0.5)


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--labels-per-class",
        "--label-fraction",
        "--init",
        "--layer-decay",
        "--select",
        "--config",
    ):
        assert flag in out


def test_encoder_folder_must_match_the_corpus(corpus_dir, tmp_path):
    corpus = Corpus(corpus_dir)
    cfg = FinetuneConfig(data=str(corpus_dir))
    two = create_encoder("convnext1d_test", "raw", 2, sample_rate=FS, window=WINDOW).save(
        tmp_path / "two"
    )
    with pytest.raises(
        ValueError, match=r"takes 2 channels, corpus .* has 3 \(\['ia', 'ib', 'ic'\]\)"
    ):
        build_encoder_for_finetune(cfg, corpus, str(two))
    slow = create_encoder("convnext1d_test", "raw", 3, sample_rate=1000.0, window=WINDOW).save(
        tmp_path / "slow"
    )
    with pytest.raises(ValueError, match=r"expects 1000 Hz, corpus .* sampled at 20000 Hz"):
        build_encoder_for_finetune(cfg, corpus, str(slow))
    adapted = build_encoder_for_finetune(
        FinetuneConfig(data=str(corpus_dir), adapt_sample_rate=True), corpus, str(slow)
    )
    assert adapted.sample_rate == FS
    # a matching folder keeps its weights (and its representation)
    same = create_encoder("convnext1d_test", "raw", 3, sample_rate=FS, window=WINDOW)
    loaded = build_encoder_for_finetune(cfg, corpus, str(same.save(tmp_path / "same")))
    for (name, a), b in zip(same.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_unlabeled_corpus_is_refused(tmp_path):
    with CorpusWriter(tmp_path / "unl", sample_rate=FS, channel_names=CHANNELS) as w:
        w.append(tones([0, 1, 2], WINDOW))
    with pytest.raises(ValueError, match="is unlabeled; fine-tuning needs a labeled corpus"):
        finetune(FinetuneConfig(data=str(tmp_path / "unl"), run_dir=str(tmp_path / "run")))


@pytest.mark.slow
def test_probe_mode_keeps_the_pretrained_encoder_frozen(corpus_dir, tmp_path):
    enc = create_encoder(
        "convnext1d_test", "raw", 3, sample_rate=FS, window=WINDOW, channel_names=CHANNELS
    )
    enc.save(tmp_path / "pre")
    cfg = parse(FinetuneConfig, [
        "--data", str(corpus_dir), "--run-dir", str(tmp_path / "run"), "--init", str(tmp_path / "pre"),
        "--mode", "probe", "--epochs", "2", "--batch-size", "15", "--min-batches-per-epoch", "2",
    ])  # fmt: skip
    res = finetune(cfg)
    tuned = load_classifier(res.classifier_dir)
    for name, value in enc.state_dict().items():
        torch.testing.assert_close(tuned.encoder.state_dict()[name], value, msg=name)
    assert res.metrics["init"] == str(tmp_path / "pre")
    assert tuned.config()["encoder"]["provenance"]["init"] == str(
        tmp_path / "pre"
    )  # recorded, not lost


@pytest.mark.slow
def test_two_phase_probes_with_a_frozen_encoder_then_tunes_it(corpus_dir, tmp_path):
    enc = create_encoder(
        "convnext1d_test", "raw", 3, sample_rate=FS, window=WINDOW, channel_names=CHANNELS
    )
    enc.save(tmp_path / "pre")
    cfg = parse(FinetuneConfig, [
        "--data", str(corpus_dir), "--run-dir", str(tmp_path / "run"), "--init", str(tmp_path / "pre"),
        "--mode", "two_phase", "--probe-epochs", "1", "--epochs", "1", "--batch-size", "15",
        "--min-batches-per-epoch", "2",
    ])  # fmt: skip
    res = finetune(cfg)
    probe = load_classifier(tmp_path / "run" / "probe" / "classifier")
    full = load_classifier(res.classifier_dir)
    changed = []
    for name, value in enc.state_dict().items():
        torch.testing.assert_close(probe.encoder.state_dict()[name], value, msg=name)
        if not torch.equal(full.encoder.state_dict()[name], value):
            changed.append(name)
    assert changed, "the full phase left the encoder untouched"
    assert not torch.equal(probe.head.weight, full.head.weight)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_resumes_to_the_uninterrupted_step_count(corpus_dir, tmp_path):
    run = tmp_path / "run"
    overrides = [
        "--init", "scratch", "--encoder", "test_convnext", "--representation", "stft", "--image-size", "32",
        "--epochs", "4", "--batch-size", "15", "--min-batches-per-epoch", "4",
        "--engine.checkpoint-every", "2", "--engine.keep-checkpoints", "50", "--engine.patience", "None",
    ]  # fmt: skip
    cmd = [
        sys.executable,
        "-m",
        "ssl_waveform.finetune",
        "--data",
        str(corpus_dir),
        "--run-dir",
        str(run),
    ]
    with open(tmp_path / "killed.out", "w") as out:
        proc = subprocess.Popen(
            [*cmd, *overrides], stdout=out, stderr=subprocess.STDOUT, env=_env()
        )
        deadline = time.monotonic() + 300
        while latest_checkpoint(run) is None:
            assert proc.poll() is None, (tmp_path / "killed.out").read_text()
            assert time.monotonic() < deadline, "no checkpoint appeared within 300 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = read_trainer_state(latest_checkpoint(run)).step
    total = 4 * (18 * 3 * 2 // 15)  # 4 epochs; 54 training windows repeated twice, batches of 15
    assert 2 <= killed_at < total, "the kill must land mid-run for this test to mean anything"
    assert not (run / "metrics.json").exists()

    rerun = subprocess.run(
        [*cmd, *overrides], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "resuming from" in rerun.stdout and "fresh start" not in rerun.stdout
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    resumed = [r for r in log if "resumed_from_step" in r]
    assert len(resumed) == 1 and resumed[0]["resumed_from_step"] >= killed_at
    assert not list(run.rglob("*.tmp"))

    ref_cmd = [
        *cmd[:-1],
        str(tmp_path / "reference"),
        *overrides,
    ]  # the same process setup, uninterrupted
    done = subprocess.run(ref_cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ref_dir = tmp_path / "reference"
    ref_steps = read_trainer_state(latest_checkpoint(ref_dir)).step
    assert ref_steps == total
    assert read_trainer_state(latest_checkpoint(run)).step == ref_steps
    metrics = json.loads((run / "metrics.json").read_text())
    ref_metrics = json.loads((ref_dir / "metrics.json").read_text())
    assert metrics["epochs"] == ref_metrics["epochs"] == 4
    assert metrics["num_train_windows"] == ref_metrics["num_train_windows"]
    assert (run / "classifier" / "model.safetensors").is_file()
    # bitwise the same weights as the uninterrupted run: the kill cost nothing
    from safetensors.torch import load_file

    killed, uninterrupted = (
        load_file(latest_checkpoint(d) / "model.safetensors") for d in (run, ref_dir)
    )
    for key in uninterrupted:
        torch.testing.assert_close(killed[key], uninterrupted[key], rtol=0, atol=0, msg=key)


def test_classifier_window_shorter_than_the_corpus_window(corpus_dir, tmp_path):
    """``--window-seconds``: trains on random stretches, evaluates the last one, predicts on short recordings."""
    run = tmp_path / "run"
    argv = ["--data", str(corpus_dir), "--run-dir", str(run), "--select", "last", *FAST]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--window-seconds", str(256 / FS)]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] > 0.6 and m["config"]["window_seconds"] == 256 / FS
    model = load_classifier(run / "classifier_last")
    assert model.config()["window"] == 256
    y = np.arange(3)
    short = tones(y, 300, seed=5)  # shorter than the corpus's 512-sample windows, longer than 256
    pred = model.predict(short, FS)
    assert list(pred.windows) == [1, 1, 1]
    with pytest.raises(ValueError, match=r"shorter than one window \(256 samples"):
        model.predict(tones(y, 200, seed=5), FS)
    # in periods of a nominal fundamental: 2 periods of 156.25 Hz = 256 samples
    cfg = FinetuneConfig(data=str(corpus_dir), window_periods=2, fundamental=156.25)
    from ssl_waveform.finetune import classifier_window

    assert classifier_window(cfg, Corpus(corpus_dir)) == 256
    with pytest.raises(ValueError, match="between 32 samples and the corpus's window of 512"):
        classifier_window(FinetuneConfig(window_seconds=1.0), Corpus(corpus_dir))
    with pytest.raises(ConfigError, match="window_seconds or window_periods, not both"):
        FinetuneConfig(window_seconds=0.01, window_periods=2)
    # training reads random stretches of the classifier's length (a ramp shows where each starts)
    from ssl_waveform.finetune.run import _InMemory

    ramp = np.broadcast_to(np.arange(512, dtype=np.float32), (1, 3, 512))
    data = _InMemory(ramp, np.zeros(1), repeats=50, crop=256)
    starts = {int(data[i]["x"][0, 0]) for i in range(50)}
    assert all(data[i]["x"].shape == (3, 256) for i in range(3))
    assert len(starts) > 10 and min(starts) >= 0 and max(starts) <= 256


def test_same_seed_gives_the_same_classifier(corpus_dir, tmp_path):
    """Scratch init, head init, crops and augmentation all follow the seed: two runs agree bit for bit."""
    from safetensors.torch import load_file

    weights = []
    for name in ("a", "b"):
        with contextlib.redirect_stdout(io.StringIO()):
            assert (
                main(
                    [
                        "--data",
                        str(corpus_dir),
                        "--run-dir",
                        str(tmp_path / name),
                        "--select",
                        "last",
                        *FAST,
                    ]
                )
                == 0
            )
        weights.append(load_file(tmp_path / name / "classifier_last" / "model.safetensors"))
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=0, atol=0, msg=key)
