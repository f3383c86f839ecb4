"""Ingest of window arrays [N, C, T] (NPY, NPZ, MAT, HDF5): labels, group ids, sub-windows, named errors."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from ssl_waveform.cli.ingest import main as ingest_main
from ssl_waveform.data import (
    ChannelCountError,
    Corpus,
    CorpusError,
    InputFileError,
    NonFiniteError,
    RecordingTooShortError,
    UnknownLabelError,
    ingest,
)
from ssl_waveform.finetune.splits import stratified_split


def windows(n: int = 12, c: int = 3, t: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, c, t)).astype(np.float32)


def test_the_issue_command_cuts_each_window_into_sub_windows(tmp_path: Path, capsys) -> None:
    x = windows(12, 3, 4000)
    np.savez(tmp_path / "data.npz", x=x, y=np.arange(12) % 3)
    argv = [str(tmp_path / "data.npz"), "--out", str(tmp_path / "corpus"), "--sample-rate", "20000"]
    assert ingest_main([*argv, "--window", "1000", "--quiet"]) == 0
    c = Corpus(tmp_path / "corpus")
    assert c.num_windows == 48 and c.window_length == 1000 and c.class_names == ["0", "1", "2"]
    np.testing.assert_array_equal(
        c.read([0, 1, 4]), np.stack([x[0, :, :1000], x[0, :, 1000:2000], x[1, :, :1000]])
    )
    np.testing.assert_array_equal(c.labels(), np.repeat(np.arange(12) % 3, 4))
    assert list(c.meta("source")[:5]) == ["data.npz#0"] * 4 + ["data.npz#1"]
    np.testing.assert_array_equal(c.meta("offset")[:5], [0, 1000, 2000, 3000, 0])
    assert "classes       3" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["npy", "npz", "mat", "mat73", "h5"])
def test_every_format_keeps_the_windows_as_they_are(tmp_path: Path, fmt: str) -> None:
    x = windows(5, 2, 64)
    y = np.array(["healthy", "fault", "fault", "healthy", "fault"])
    path = tmp_path / f"w.{'mat' if fmt.startswith('mat') else fmt}"
    if fmt == "npy":
        np.save(path, x)
    elif fmt == "npz":
        np.savez(path, waveforms=x, labels=y)
    elif fmt == "mat":
        scipy.io.savemat(path, {"x": x, "y": y})
    elif fmt == "mat73":  # MATLAB v7.3 stores column-major: reversed axes on disk
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=x.transpose(2, 1, 0))
            f.create_dataset("y", data=np.array([1, 0, 0, 1, 0])[None, :].T)
            f.create_dataset("fs", data=np.array([[500.0]]))
    else:
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=x)
            f.create_dataset("y", data=y.astype("S"))
    ingest([path], tmp_path / "c", sample_rate=500.0, window=None, progress=False)
    c = Corpus(tmp_path / "c")
    assert (c.num_windows, c.num_channels, c.window_length, c.sample_rate) == (5, 2, 64, 500.0)
    np.testing.assert_allclose(c.read(np.arange(5)), x)
    if fmt == "npy":
        assert c.class_names is None
    elif fmt == "mat73":
        assert c.class_names == ["0", "1"] and list(c.labels()) == [1, 0, 0, 1, 0]
    else:
        assert c.class_names == ["fault", "healthy"]
        assert [c.class_names[i] for i in c.labels()] == list(y)


def test_group_ids_keep_a_recording_on_one_side_of_the_split(tmp_path: Path) -> None:
    n = 60
    groups = np.repeat(np.arange(12), 5)  # 12 recordings of 5 windows
    y = np.repeat(np.arange(12) % 2, 5)
    np.savez(tmp_path / "w.npz", x=windows(n, 3, 32), y=y, recording_id=groups)
    ingest([tmp_path / "w.npz"], tmp_path / "c", sample_rate=1e3, window=None, progress=False)
    c = Corpus(tmp_path / "c")
    source = c.meta("source")
    assert len(set(source)) == 12 and source[0] == "w.npz:0"
    np.testing.assert_array_equal(c.meta("recording"), groups)
    split = stratified_split(
        c.labels(), val_fraction=0.25, test_fraction=0.25, seed=0, groups=source
    )
    sides = [set(source[idx]) for idx in (split.train, split.val, split.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])


def test_integer_labels_take_names_from_the_file_or_classes(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "a.npz", x=windows(4, 3, 16), y=[0, 1, 2, 1], class_names=["ok", "Sa+", "Sb-"]
    )
    ingest([tmp_path / "a.npz"], tmp_path / "c1", sample_rate=1e3, window=None, progress=False)
    c = Corpus(tmp_path / "c1")
    assert [c.class_names[i] for i in c.labels()] == ["ok", "Sa+", "Sb-", "Sa+"]
    np.savez(tmp_path / "b.npz", x=windows(4, 3, 16), y=[2, 0, 2, 0])
    ingest(
        [tmp_path / "b.npz"], tmp_path / "c2", sample_rate=1e3, window=None, classes=["u", "v", "w"],
        progress=False,
    )  # fmt: skip
    c = Corpus(tmp_path / "c2")
    assert c.class_names == ["u", "v", "w"] and list(c.labels()) == [2, 0, 2, 0]


@pytest.mark.parametrize(
    "make, error, pattern",
    [
        (
            lambda x: x.__setitem__((7, 1, 23), np.nan),
            NonFiniteError,
            r"bad\.npz: non-finite value nan in window 7, channel 1 \('ib'\), sample 23",
        ),
        (lambda x: x.__setitem__((2, 0, 5), np.inf), NonFiniteError, r"in window 2, channel 0"),
    ],
)
def test_non_finite_values_are_named_by_window_and_nothing_is_written(
    tmp_path: Path, make, error, pattern
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    np.savez(src / "a_good.npz", x=windows(12, 3, 64))  # its windows must not survive the failure
    x = windows(12, 3, 64)
    make(x)
    np.savez(src / "bad.npz", x=x)
    with pytest.raises(error, match=pattern):
        ingest(
            [src], tmp_path / "out", sample_rate=1e3, window=32, channels=["ia", "ib", "ic"],
            progress=False,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_bad_window_arrays_get_clear_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "ntc.npz", x=windows(4, 64, 3))
    with pytest.raises(
        ChannelCountError, match=r"\[N=4, C=64, T=3\].*store windows as \[N, C, T\]"
    ):
        ingest([tmp_path / "ntc.npz"], tmp_path / "o", sample_rate=1e3, window=None,
               channels=["ia", "ib", "ic"], progress=False)  # fmt: skip
    np.savez(tmp_path / "short.npz", x=windows(4, 3, 16))
    with pytest.raises(
        RecordingTooShortError, match=r"short\.npz: windows of 16 samples, shorter than"
    ):
        ingest([tmp_path / "short.npz"], tmp_path / "o", sample_rate=1e3, window=32, progress=False)
    np.savez(tmp_path / "len.npz", x=windows(4, 3, 16), y=[0, 1, 0])
    with pytest.raises(
        InputFileError,
        match=r"labels variable 'y' has shape \(3,\), expected one entry per window \(4\)",
    ):
        ingest([tmp_path / "len.npz"], tmp_path / "o", sample_rate=1e3, window=None, progress=False)
    np.savez(tmp_path / "lab.npz", x=windows(4, 3, 16), y=[0, 1, 0, 1])
    with pytest.raises(
        UnknownLabelError, match=r"window 1 has label 1, outside the 1 class names \['0'\]"
    ):
        ingest([tmp_path / "lab.npz"], tmp_path / "o", sample_rate=1e3, window=None, classes=["0"],
               progress=False)  # fmt: skip
    with pytest.raises(InputFileError, match="no labels variable 'cls'"):
        ingest([tmp_path / "lab.npz"], tmp_path / "o", sample_rate=1e3, window=None,
               labels_key="cls", progress=False)  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_custom_companion_names_and_matlab_cell_arrays(tmp_path: Path) -> None:
    x = windows(4, 3, 16)
    np.savez(
        tmp_path / "a.npz", sig=x, cls=np.array(["u", "v", "u", "v"]), rec=np.array([0, 0, 1, 1])
    )
    ingest([tmp_path / "a.npz"], tmp_path / "c1", sample_rate=1e3, window=None, labels_key="cls",
           groups_key="rec", progress=False)  # fmt: skip
    c = Corpus(tmp_path / "c1")
    assert (
        c.class_names == ["u", "v"] and list(c.meta("source")) == ["a.npz:0"] * 2 + ["a.npz:1"] * 2
    )
    names = np.empty((1, 2), dtype=object)  # MATLAB cell array {'healthy', 'Sa+'}
    names[0, 0], names[0, 1] = "healthy", "Sa+"
    labels = np.empty((4, 1), dtype=object)
    for i, v in enumerate(["Sa+", "healthy", "Sa+", "Sa+"]):
        labels[i, 0] = v
    scipy.io.savemat(tmp_path / "m.mat", {"x": x, "y": labels, "class_names": names})
    ingest([tmp_path / "m.mat"], tmp_path / "c2", sample_rate=1e3, window=None, progress=False)
    c = Corpus(tmp_path / "c2")
    assert c.class_names == ["Sa+", "healthy"]
    assert [c.class_names[i] for i in c.labels()] == ["Sa+", "healthy", "Sa+", "Sa+"]


def test_without_a_window_every_input_must_be_a_window_array_of_one_length(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    np.savez(d / "a.npz", x=windows(2, 3, 16))
    np.savez(d / "b.npz", x=windows(2, 3, 32))
    with pytest.raises(CorpusError, match=r"b\.npz: windows of 32 samples, earlier inputs have 16"):
        ingest([d], tmp_path / "o", sample_rate=1e3, window=None, progress=False)
    (d / "b.npz").unlink()
    np.save(d / "c.npy", np.zeros((100, 3)))
    with pytest.raises(CorpusError, match=r"c\.npy: a recording needs a window length"):
        ingest([d], tmp_path / "o", sample_rate=1e3, window=None, progress=False)
    ingest(
        [d], tmp_path / "o", sample_rate=1e3, window=8, progress=False
    )  # with one: both kinds mix
    assert Corpus(tmp_path / "o").num_windows == 2 * 2 + 100 // 8


def test_a_rerun_removes_what_a_killed_ingest_left(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=windows(2, 3, 16))
    dead = tmp_path / ".out.ingest-999999999.tmp"  # no such process
    dead.mkdir()
    (dead / "shard-000000.h5").write_bytes(b"partial")
    alive = tmp_path / f".out.ingest-{os.getpid()}.tmp.keep"  # another name pattern: untouched
    alive.mkdir()
    ingest([tmp_path / "a.npz"], tmp_path / "out", sample_rate=1e3, window=None, progress=False)
    assert not dead.exists() and alive.exists() and (tmp_path / "out" / "manifest.json").is_file()
