"""``python -m ssl_waveform.predict`` on a saved tiny classifier: inputs, CSV rows, scores and errors."""

from __future__ import annotations

import csv
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_classify import CHANNELS, CLASSES, FS, WINDOW, tones, trained_classifier_dir

from ssl_waveform.cli.predict import PredictArgs, main
from ssl_waveform.config import parse
from ssl_waveform.data import CorpusWriter

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    return trained_classifier_dir(tmp_path_factory)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    """``main`` on ``argv``: exit status, stdout, stderr (a bad argument exits, as a command line does)."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exit_info:
        rc = exit_info.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _check_rows(rows: list[dict], expected: list[str]) -> None:
    assert [r["prediction"] for r in rows] == expected
    assert [int(r["index"]) for r in rows] == list(range(len(expected)))
    for r in rows:
        probs = np.array([float(r[f"p[{c}]"]) for c in CLASSES])
        assert probs.sum() == pytest.approx(1.0, abs=1e-5)
        assert float(r["confidence"]) == pytest.approx(probs.max(), abs=1e-6)
        assert CLASSES[int(probs.argmax())] == r["prediction"]


def test_reproduces_the_training_labels_from_npz(ckpt, tmp_path, capsys):
    # exactly the windows the fixture classifier was trained on (same generator, labels and seed)
    y = np.tile(np.arange(3), 24)
    np.savez(tmp_path / "train.npz", x=tones(y, WINDOW, seed=100), y=y)
    out = tmp_path / "pred.csv"
    rc, stdout, _ = _run(
        capsys, "--checkpoint", ckpt, "--input", tmp_path / "train.npz", "--sample-rate", FS,
        "--output", out,
    )  # fmt: skip
    assert rc == 0
    rows = _rows(out)
    assert len(rows) == len(y)
    assert list(rows[0]) == [
        "input", "index", "prediction", "confidence", "windows", "label",
        *[f"p[{c}]" for c in CLASSES],
    ]  # fmt: skip
    _check_rows(rows, [CLASSES[c] for c in y])
    assert [r["label"] for r in rows] == [CLASSES[c] for c in y]
    assert {r["windows"] for r in rows} == {"1"}
    assert f"{len(y)} predictions -> {out}" in stdout
    assert "accuracy 1.0000  macro-F1 1.0000  (72 labeled recordings)" in stdout


def test_npz_with_its_own_rate_and_label_names_long_recordings(ckpt, tmp_path, capsys):
    y = np.array([2, 0, 1, 1, 0])
    # 2x the model's rate, 4 windows long: resampled, windowed, averaged
    np.savez(
        tmp_path / "fast.npz",
        x=tones(y, 8 * WINDOW, 2 * FS, seed=3),
        y=np.array([CLASSES[c] for c in y]),
        sample_rate=2 * FS,
    )
    rc, stdout, _ = _run(
        capsys,
        "--checkpoint",
        ckpt,
        "--input",
        tmp_path / "fast.npz",
        "--output",
        tmp_path / "p.csv",
    )
    assert rc == 0
    rows = _rows(tmp_path / "p.csv")
    _check_rows(rows, [CLASSES[c] for c in y])
    assert {r["windows"] for r in rows} == {str(1 + (4 * WINDOW - WINDOW) // (WINDOW // 2))}
    assert "accuracy 1.0000" in stdout


def test_npy_and_csv_inputs_without_labels_print_no_score(ckpt, tmp_path, capsys):
    y = [1, 2, 0]
    np.save(tmp_path / "batch.npy", tones(y, 2 * WINDOW, seed=4))
    rec = tones([2], 3 * WINDOW, seed=5)[0]
    with open(tmp_path / "one.csv", "w") as fh:
        fh.write(",".join(CHANNELS) + "\n")
        fh.writelines(",".join(f"{v:.6f}" for v in row) + "\n" for row in rec.T)
    out = tmp_path / "p.csv"
    rc, stdout, _ = _run(
        capsys, "--checkpoint", ckpt, "--input", tmp_path / "batch.npy", tmp_path / "one.csv",
        "--sample-rate", FS, "--output", out,
    )  # fmt: skip
    assert rc == 0
    rows = _rows(out)
    assert [Path(r["input"]).name for r in rows] == ["batch.npy"] * 3 + ["one.csv"]
    assert [r["prediction"] for r in rows] == [CLASSES[c] for c in y] + ["high"]
    assert rows[-1]["windows"] == "5" and "label" not in rows[0]
    assert "accuracy" not in stdout


def test_corpus_folder_channels_are_matched_by_name(ckpt, tmp_path, capsys):
    y = np.tile(np.arange(3), 4)
    x = tones(y, WINDOW, seed=6)
    order = [1, 2, 0]  # the corpus stores ib, ic, ia
    with CorpusWriter(
        tmp_path / "corpus",
        sample_rate=FS,
        channel_names=[CHANNELS[i] for i in order],
        class_names=CLASSES,
    ) as w:
        w.append(x[:, order], labels=y)
    rc, stdout, _ = _run(
        capsys, "--checkpoint", ckpt, "--input", tmp_path / "corpus", "--output", tmp_path / "p.csv"
    )
    assert rc == 0
    _check_rows(_rows(tmp_path / "p.csv"), [CLASSES[c] for c in y])
    assert "accuracy 1.0000  macro-F1 1.0000  (12 labeled recordings)" in stdout


def test_channels_flag_reorders_and_mismatch_is_a_clear_error(ckpt, tmp_path, capsys):
    y = np.array([0, 1, 2, 2])
    x = tones(y, WINDOW, seed=7)
    np.savez(tmp_path / "swapped.npz", x=x[:, [2, 0, 1]], y=y)
    base = ["--checkpoint", ckpt, "--input", tmp_path / "swapped.npz", "--sample-rate", FS]
    rc, stdout, _ = _run(capsys, *base, "--channels", "ic,ia,ib", "--output", tmp_path / "p.csv")
    assert rc == 0 and "accuracy 1.0000" in stdout
    _check_rows(_rows(tmp_path / "p.csv"), [CLASSES[c] for c in y])
    rc, _, err = _run(capsys, *base, "--channels", "ia,ib,ix", "--output", tmp_path / "bad.csv")
    assert rc == 2
    assert "swapped.npz: input channels ['ia', 'ib', 'ix'] do not match" in err
    assert "['ia', 'ib', 'ic']" in err
    assert not (tmp_path / "bad.csv").exists()


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda d: np.save(d / "in.npy", tones([0], WINDOW)), [], "carries no sample rate; pass --sample-rate"),
        (lambda d: np.savez(d / "in.npz", x=tones([0, 1], WINDOW)[:, :2]), ["--sample-rate", FS], "recording 0: expected shape [C=3, T]"),
        (lambda d: np.savez(d / "in.npz", x=tones([0, 1], 100)), ["--sample-rate", FS], "recording 0: 100 samples"),
        (lambda d: np.savez(d / "in.npz", x=tones([0, 1], WINDOW), y=np.array([0, 5])), ["--sample-rate", FS], "window 1 has label 5, outside the 3 class names"),
        (lambda d: np.savez(d / "in.npz", x=tones([0, 1], WINDOW), y=np.array(["low", "nope"])), ["--sample-rate", FS], "label 'nope' is not a class"),
        (lambda d: np.savez(d / "in.npz", x=tones([0, 1], WINDOW), y=np.array([0])), ["--sample-rate", FS], "labels variable 'y' has shape (1,), expected one entry per window (2)"),
        (lambda d: np.savez(d / "in.npz", a=tones([0], WINDOW), b=tones([1], WINDOW)), ["--sample-rate", FS], "cannot tell which variable holds the signal"),
        (lambda d: None, ["--sample-rate", FS], "does not exist"),
        (lambda d: np.savez(d / "in.npz", x=tones([0], WINDOW)), ["--sample-rate", "1"], "resampling by 2e+04x is outside [1/100, 100]"),
        (lambda d: np.savez(d / "in.npz", x=tones([0], WINDOW)), ["--sample-rate", FS, "--hop", "0"], "--hop must be at least 1 sample"),
        (lambda d: np.savez(d / "in.npz", x=tones([0], WINDOW) * np.array([np.nan])), ["--sample-rate", FS], "in.npz: recording 0: contains NaN"),
    ],
    ids=["no-rate", "channels", "too-short", "bad-index", "bad-name", "label-count", "ambiguous", "missing",
         "absurd-rate", "hop-0", "nan-names-file"],
)  # fmt: skip
def test_bad_inputs_exit_2_with_a_message_and_no_csv(ckpt, tmp_path, capsys, make, extra, message):
    make(tmp_path)
    name = "in.npy" if (tmp_path / "in.npy").exists() else "in.npz"
    out = tmp_path / "p.csv"
    rc, _, err = _run(
        capsys, "--checkpoint", ckpt, "--input", tmp_path / name, "--output", out, *extra
    )
    assert rc == 2
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_flags_give_the_arguments():
    flags = ["--checkpoint", "clf", "--input", "a.npz", "b.csv", "--sample-rate", "2e4", "--channels",
             "ib,ia,ic", "--hop", "64", "--output", "out.csv"]  # fmt: skip
    expected = PredictArgs(
        Path("clf"), [Path("a.npz"), Path("b.csv")], 20000.0, "ib,ia,ic", 64, Path("out.csv")
    )
    assert parse(PredictArgs, flags) == expected
    defaults = parse(PredictArgs, ["--checkpoint", "clf", "--input", "a.npz"])
    assert (defaults.sample_rate, defaults.channels, defaults.hop) == (None, None, None)
    assert defaults.output == Path("predictions.csv")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--checkpoint", "clf", "--input"],
            "error: --input needs at least one file or corpus folder",
        ),
        (["--input", "a.npz"], "--checkpoint"),
        (["--checkpoint", "clf", "--input", "a.npz", "--hop", "half"], "--hop"),
    ],
    ids=["input-empty", "checkpoint-missing", "hop-not-int"],
)
def test_bad_arguments_exit_2_naming_the_flag(capsys, argv, message):
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and message in err


def test_checkpoint_that_is_not_a_classifier_exits_2(tmp_path, capsys):
    rc, _, err = _run(
        capsys, "--checkpoint", tmp_path, "--input", tmp_path / "x.npz", "--output", tmp_path / "o"
    )
    assert rc == 2 and "is not a classifier folder" in err


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")  # imported above
def test_module_entry_point(ckpt, tmp_path, capsys, monkeypatch):
    # the slow test below, cheaper: a new interpreter only prints the help, and the prediction runs the
    # module's __main__ block in this process (runpy, as python -m does)
    done = subprocess.run(
        [sys.executable, "-m", "ssl_waveform.predict", "--help"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ssl-waveform predict")
    y = np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x=tones(y, WINDOW, seed=8), y=y)
    monkeypatch.setattr(
        sys, "argv",
        ["predict", "--checkpoint", ckpt, "--input", str(tmp_path / "in.npz"), "--sample-rate", str(FS),
         "--output", str(tmp_path / "p.csv")],
    )  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("ssl_waveform.predict", run_name="__main__")
    assert exit_info.value.code == 0, capsys.readouterr().err
    assert "accuracy 1.0000" in capsys.readouterr().out
    _check_rows(_rows(tmp_path / "p.csv"), [CLASSES[c] for c in y])


@pytest.mark.slow
def test_module_entry_point_in_a_subprocess(ckpt, tmp_path):
    y = np.array([0, 1, 2])
    np.savez(tmp_path / "in.npz", x=tones(y, WINDOW, seed=8), y=y)
    done = subprocess.run(
        [sys.executable, "-m", "ssl_waveform.predict", "--checkpoint", ckpt, "--input",
         str(tmp_path / "in.npz"), "--sample-rate", str(FS), "--output", str(tmp_path / "p.csv")],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "accuracy 1.0000" in done.stdout
    _check_rows(_rows(tmp_path / "p.csv"), [CLASSES[c] for c in y])
