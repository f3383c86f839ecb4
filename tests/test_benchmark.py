"""The benchmark's smoke preset end to end: report format, value ranges, resume."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.benchmark import PRESETS, Benchmark, BenchmarkConfig, run_benchmark
from ssl_waveform.benchmark.baselines import fft_features, knn_predict, logistic_regression
from ssl_waveform.benchmark.datasets import add_noise
from ssl_waveform.benchmark.runner import ITSC_SPLIT
from ssl_waveform.cli.benchmark import main
from ssl_waveform.data import Corpus
from ssl_waveform.finetune import split_corpus

EXTERNAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "external_data"


def test_knn_matches_naive_majority() -> None:
    rng = np.random.default_rng(0)
    train = rng.standard_normal((30, 8))
    y = rng.integers(0, 3, 30)
    test = train[:10] + 1e-3 * rng.standard_normal((10, 8))
    # k=1: the nearest neighbour of a slightly perturbed training point is that point
    np.testing.assert_array_equal(knn_predict(train, y, test, k=1), y[:10])


def test_fft_logreg_separates_easy_classes() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(512) / 512
    x, y = [], []
    for k in range(40):
        c = k % 2
        base = np.sin(2 * np.pi * 5 * t) + (0.5 * np.sin(2 * np.pi * 40 * t) if c else 0.0)
        x.append(np.stack([base, -base, 0.1 * base]) * rng.uniform(0.5, 20))
        y.append(c)
    x = np.asarray(x) + 0.01 * rng.standard_normal((40, 3, 512))
    y = np.asarray(y)
    f = fft_features(x)
    assert f.shape[0] == 40 and np.isfinite(f).all()
    pred = logistic_regression(f[:20], y[:20], f[20:], 2)
    assert (pred == y[20:]).mean() == 1.0


def test_add_noise_hits_the_requested_snr() -> None:
    t = np.arange(4096) / 4096
    x = np.tile(np.sin(2 * np.pi * 7 * t), (50, 3, 1)).astype(np.float32)
    noisy = add_noise(x, 20.0, seed=0)
    snr = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert abs(snr - 20.0) < 0.3


def test_smoke_preset_report_and_resume(tmp_path: Path, capsys) -> None:
    ext = str(EXTERNAL_DATA) if EXTERNAL_DATA.is_dir() else str(tmp_path / "no_external_data")
    cfg = BenchmarkConfig(
        preset="smoke", out=str(tmp_path / "bench"), runs=str(tmp_path / "runs"), external_data=ext
    )
    out = run_benchmark(cfg)
    report = (out / "report.md").read_text()
    preset = PRESETS["smoke"]

    for label in (
        "MAE-pretrained",
        "SimCLR-pretrained",
        "scratch",
        "classical (FFT features + logistic regression)",
    ):
        assert f"| {label} |" in report
    assert (
        "| ImageNet | not run: no ImageNet weights available" in report
    )  # no weights offline: never dropped
    for budget in preset.axes[0].budgets:
        assert ("all" if budget == 0 else f"{budget}/class") in report
    for test_set in (
        "in_dist",
        "op_shift",
        "closed_loop",
        *(f"noise_{s:g}dB" for s in preset.snr_db),
    ):
        assert test_set in report
    if EXTERNAL_DATA.is_dir():
        assert "itsc_real" in report
        assert "| MAE on the real recordings (test recordings left out) |" in report
        # real-data pretraining never sees a window of a test recording
        itsc, pre = Corpus(out / "data" / "itsc"), Corpus(out / "data" / "itsc_pretrain")
        test = split_corpus(itsc, **ITSC_SPLIT).test
        assert pre.class_names is None and pre.num_windows == itsc.num_windows - test.size
        assert not set(itsc.meta("source")[test]) & set(pre.meta("source"))
    else:
        assert "skipped: ../shared/external_data/ITSC not found" in report
    assert (out / "noise_robustness.png").is_file()
    assert (out / "confusion_best.png").is_file() and (out / "confusion_worst.png").is_file()

    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    values = np.array([float(r["value"]) for r in rows])
    assert np.all((values >= 0) & (values <= 1))
    assert {r["init"] for r in rows} >= {"mae", "simclr", "scratch", "classical"}
    assert {r["mode"] for r in rows} >= {"finetune", "probe", "knn", "logreg"}

    # fixed schedules: no cell's epoch was picked on labeled validation data
    assert list((out / "runs").glob("*/classifier_last")) and not list(
        (out / "runs").glob("*/classifier")
    )

    # resume through the CLI: every cell is reused, none recomputed; the headline table is printed
    cells = sorted((out / "cells").glob("*.json"))
    stamps = {p: os.stat(p).st_mtime_ns for p in cells}
    argv = ["--preset", "smoke", "--out", cfg.out, "--runs", cfg.runs, "--external-data", ext]
    assert main(argv) == 0
    assert sorted((out / "cells").glob("*.json")) == cells
    assert all(os.stat(p).st_mtime_ns == stamps[p] for p in cells)
    printed = capsys.readouterr().out
    assert "in-distribution test accuracy, test_convnext / stft, fine-tuned" in printed
    assert "| MAE-pretrained | " in printed and "(n=1)" in printed


def test_unknown_preset_lists_valid_ones() -> None:
    with pytest.raises(KeyError, match="valid presets"):
        run_benchmark(BenchmarkConfig(preset="huge"))


def test_cells_patterns_run_only_the_matching_cells(tmp_path: Path) -> None:
    cfg = BenchmarkConfig(
        preset="smoke",
        out=str(tmp_path / "bench"),
        runs=str(tmp_path / "runs"),
        external_data=str(tmp_path / "no_external_data"),
        cells=["logreg-*"],
    )
    out = run_benchmark(cfg)
    names = {p.stem for p in (out / "cells").glob("*.json")}
    assert names and all(n.startswith("logreg-") for n in names)
    assert not (out / "pretrain").exists(), "no pretraining for cells that were not selected"
    assert "PARTIAL RUN" in (out / "report.md").read_text()


def test_plan_names_are_unique_and_stable(tmp_path: Path) -> None:
    # finished cells are found on disk by name: a renamed cell would be recomputed
    bench = Benchmark(BenchmarkConfig(preset="cpu", out=str(tmp_path)))
    bench.itsc = tmp_path / "itsc"  # plan() only asks whether the real data is there
    plan = bench.plan()
    names = [c.name for c in plan]
    assert len(set(names)) == len(names)
    for known in (
        "finetune-mae-convnext_atto-fold-b1-s0",
        "itsc-mae-real-convnext_atto-stft-b1-s0",
        "logreg-classical-itsc-ball-s2",
        "knn-scratch-convnext_atto-fold-b5-s1",
        "probe-imagenet-convnext_atto-fold-b5-s2",
    ):
        assert known in names
    priorities = [c.priority for c in plan]
    assert priorities == sorted(priorities) and priorities[0] == 0
    assert {c.kind for c in plan if c.name.startswith("logreg-")} == {"logreg", "itsc-logreg"}
