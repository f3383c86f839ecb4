"""Ingest of NPY/NPZ/CSV/MAT recordings: formats, labels, metadata, errors, atomicity, real data."""

from __future__ import annotations

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
    SampleRateMismatchError,
    UnknownLabelError,
    ingest,
    load_recording,
)


def rec(n: int = 100, c: int = 3, seed: int = 0) -> np.ndarray:
    """``[N, C]`` time-major recording."""
    return np.random.default_rng(seed).normal(size=(n, c))


def write_all_formats(d: Path, x: np.ndarray) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = {
        "npy": d / "a.npy",
        "npz": d / "b.npz",
        "csv": d / "c.csv",
        "mat5": d / "d.mat",
        "mat73": d / "e.mat",
    }
    np.save(paths["npy"], x.T)  # [C, N] also accepted
    np.savez(paths["npz"], data=x, fs=np.array(1000.0))
    np.savetxt(paths["csv"], x, delimiter=",", header="ia,ib,ic", comments="")
    scipy.io.savemat(paths["mat5"], {"signal": x, "fs": 1000.0})
    with h5py.File(paths["mat73"], "w") as f:  # MATLAB v7.3 stores column-major: [C, N] on disk
        f.create_dataset("signal", data=x.T)
        f.create_dataset("fs", data=np.array([[1000.0]]))
    return paths


def test_load_every_format_as_channels_first(tmp_path: Path) -> None:
    x = rec()
    for name, p in write_all_formats(tmp_path, x).items():
        r = load_recording(p)
        assert r.data.shape == (3, 100), name
        np.testing.assert_allclose(r.data, x.T, rtol=1e-12, atol=1e-12 if name != "csv" else 1e-15)
        assert r.sample_rate == (None if name in ("npy", "csv") else 1000.0), name


def test_ingest_folders_with_labels_and_metadata(tmp_path: Path) -> None:
    data = tmp_path / "in"
    for k, cls in enumerate(["healthy", "fault"]):
        for j in range(2):
            path = data / cls / f"r{j}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(path, rec(100, seed=10 * k + j), delimiter=",")
    (data / "README.txt").write_text("ignored")
    report = ingest(
        [data],
        tmp_path / "out",
        sample_rate=1000.0,
        window=32,
        hop=16,
        channels=["ia", "ib", "ic"],
        labels_from_folders=True,
        progress=False,
    )
    c = report.corpus
    assert len(report.files) == 4 and [p.name for p in report.skipped] == ["README.txt"]
    assert c.class_names == ["fault", "healthy"] and c.class_counts == {"fault": 10, "healthy": 10}
    assert (c.num_windows, c.window_length, c.sample_rate) == (20, 32, 1000.0)
    src, off = c.meta("source"), c.meta("offset")
    assert sorted(set(src.tolist())) == [
        "fault/r0.csv",
        "fault/r1.csv",
        "healthy/r0.csv",
        "healthy/r1.csv",
    ]
    first = np.flatnonzero(src == "healthy/r1.csv")
    np.testing.assert_array_equal(off[first], np.arange(5) * 16)
    original = rec(100, seed=1).T
    np.testing.assert_allclose(c.read(first[2:3])[0], original[:, 32:64], rtol=1e-6)
    assert np.all(c.labels()[first] == 1)
    assert not [
        p for p in tmp_path.iterdir() if p.name.startswith(".")
    ]  # temp folder and lock gone


def test_ingest_all_formats_together_and_resampling(tmp_path: Path) -> None:
    paths = write_all_formats(tmp_path / "in", rec(200))
    out = ingest(
        [tmp_path / "in"], tmp_path / "out", sample_rate=1000.0, window=50, progress=False
    ).corpus
    assert out.num_windows == 5 * 4 and out.channel_names == ["ch0", "ch1", "ch2"]
    np.savez(paths["npz"], data=rec(200), fs=np.array(2000.0))
    with pytest.raises(SampleRateMismatchError, match=r"b\.npz: sample rate 2000.0 Hz differs"):
        ingest([tmp_path / "in"], tmp_path / "o2", sample_rate=1000.0, window=50, progress=False)
    mixed = ingest(
        [tmp_path / "in"],
        tmp_path / "o3",
        sample_rate=1000.0,
        window=50,
        resample_to=500.0,
        progress=False,
    ).corpus
    assert mixed.sample_rate == 500.0
    counts = {s: n for s, n in zip(*np.unique(mixed.meta("source"), return_counts=True))}
    assert (
        counts["b.npz"] == 1 and counts["a.npy"] == 2
    )  # 200 @2 kHz -> 50 samples; 200 @1 kHz -> 100


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (
            lambda d: np.save(
                d / "x.npy", np.where(np.arange(300).reshape(100, 3) == 130, np.nan, 1.0)
            ),
            NonFiniteError,
            r"x\.npy: non-finite value nan at sample 43 .*channel 1",
        ),
        (
            lambda d: np.save(d / "x.npy", np.full((100, 3), np.inf)),
            NonFiniteError,
            r"x\.npy.*sample 0",
        ),
        (lambda d: np.save(d / "x.npy", rec(100, 4)), ChannelCountError, r"x\.npy: 4 channels"),
        (lambda d: np.save(d / "x.npy", rec(20)), RecordingTooShortError, r"x\.npy: 20 samples"),
        (
            lambda d: (d / "x.csv").write_text("1,2,3\n4,5\n"),
            InputFileError,
            r"x\.csv: not a numeric table",
        ),
        (lambda d: (d / "x.csv").write_text("1,2,3\n4,oops,6\n"), InputFileError, r"x\.csv.*oops"),
        (
            lambda d: (d / "x.mat").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40),
            InputFileError,
            r"x\.mat",
        ),
        (
            lambda d: (d / "x.npz").write_bytes(b"PK\x03\x04garbage"),
            InputFileError,
            r"x\.npz: cannot read",
        ),
        (
            lambda d: np.savez(d / "x.npz", a=rec(), b=rec()),
            InputFileError,
            r"x\.npz: cannot tell.*\['a', 'b'\]",
        ),
        (
            lambda d: np.save(d / "x.npy", np.zeros((4, 5, 6, 2))),
            InputFileError,
            r"x\.npy: expected a 1-D or 2-D recording .* or a 3-D window array \[N, C, T\]",
        ),
    ],
)
def test_bad_input_raises_named_error_and_writes_nothing(
    tmp_path: Path, make, error, pattern
) -> None:
    d = tmp_path / "in"
    d.mkdir()
    np.save(d / "a_good.npy", rec())  # a good file first: its windows must not survive the failure
    make(d)
    with pytest.raises(error, match=pattern):
        ingest(
            [d],
            tmp_path / "out",
            sample_rate=1000.0,
            window=32,
            channels=["ia", "ib", "ic"],
            progress=False,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_truncated_hdf5_mat(tmp_path: Path) -> None:
    p = write_all_formats(tmp_path, rec())["mat73"]
    p.write_bytes(p.read_bytes()[:3000])
    with pytest.raises(InputFileError, match=r"e\.mat: unreadable or truncated"):
        load_recording(p)


def test_unknown_label_and_bad_arguments(tmp_path: Path) -> None:
    (tmp_path / "in" / "weird").mkdir(parents=True)
    np.save(tmp_path / "in" / "weird" / "r.npy", rec())
    with pytest.raises(UnknownLabelError, match=r"r\.npy: folder 'weird' is not a known class"):
        ingest(
            [tmp_path / "in"],
            tmp_path / "o",
            sample_rate=1e3,
            window=8,
            labels_from_folders=True,
            classes=["healthy"],
            progress=False,
        )
    with pytest.raises(InputFileError, match="input not found"):
        ingest([tmp_path / "nope"], tmp_path / "o", sample_rate=1e3, window=8, progress=False)
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(InputFileError, match="unsupported extension"):
        ingest([tmp_path / "x.txt"], tmp_path / "o", sample_rate=1e3, window=8, progress=False)
    (tmp_path / "o").mkdir()
    with pytest.raises(CorpusError, match="already exists"):
        ingest([tmp_path / "in"], tmp_path / "o", sample_rate=1e3, window=8, progress=False)


def test_cli_success_and_error_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    np.save(tmp_path / "r.npy", rec())
    rc = ingest_main(
        [
            str(tmp_path / "r.npy"),
            "--out",
            str(tmp_path / "o"),
            "--sample-rate",
            "1000",
            "--window",
            "20",
            "--channels",
            "ia,ib,ic",
            "--quiet",
        ]
    )
    assert rc == 0 and "windows       5 in 1 shard(s)" in capsys.readouterr().out
    rc = ingest_main(
        [
            str(tmp_path / "r.npy"),
            "--out",
            str(tmp_path / "o2"),
            "--sample-rate",
            "1000",
            "--window",
            "20",
            "--channels",
            "ia,ib",
            "--quiet",
        ]
    )
    assert rc == 2 and "r.npy: 3 channels" in capsys.readouterr().err


def test_cli_name_lists_and_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    np.save(tmp_path / "r.npy", rec())
    base = [str(tmp_path / "r.npy"), "--sample-rate", "1000", "--window", "20", "--quiet"]
    # the documented comma form and the space-separated form agree
    for i, names in enumerate(
        (
            ["--channels", "ia,ib,ic", "--units", "A,A,V"],
            ["--channels", "ia", "ib", "ic", "--units", "A", "A", "V"],
        )
    ):
        assert ingest_main([*base, "--out", str(tmp_path / f"o{i}"), *names]) == 0
    for i in range(2):
        c = Corpus(tmp_path / f"o{i}")
        assert c.channel_names == ["ia", "ib", "ic"] and c.units == ["A", "A", "V"]
    capsys.readouterr()
    bad = tmp_path / "bad"
    for argv, needle in [
        ([*base[1:], "--out", str(bad)], "no INPUT given"),
        ([*base], "--out"),
        ([*base, "--out", str(bad), "--dtype", "float64"], "float64"),
        ([*base, "--out", str(bad), "--channels", "ia,,ic"], "--channels"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            ingest_main(argv)
        assert exit_info.value.code == 2 and needle in capsys.readouterr().err
    assert not bad.exists()


def test_itsc_real_recordings(external_data: Path, tmp_path: Path) -> None:
    src = external_data / "ITSC" / "RAW_Signals_SF"
    if not src.is_dir():
        pytest.skip(f"{src} not present")
    c = ingest(
        [src],
        tmp_path / "itsc",
        sample_rate=1000.0,
        window=256,
        hop=128,
        channels=["ia", "ib", "ic"],
        labels_from_folders=True,
        progress=False,
    ).corpus
    assert len(c.class_names or []) == 13 and "SC_HLT" in (c.class_names or [])
    assert c.num_windows == 65 * (1 + (5000 - 256) // 128)
    assert set((c.class_counts or {}).values()) == {5 * 38}
    assert len(set(c.meta("source").tolist())) == 65
    assert all(4.0 < s < 7.0 for s in c.stats["std"])  # RMS ~4.5-5.4 A per phase (dataset README)
