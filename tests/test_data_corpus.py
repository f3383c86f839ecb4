"""Corpus writer/reader: round trip, atomicity, resume, validation, statistics, map-style access."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from ssl_waveform.data import (
    ChannelCountError,
    Corpus,
    CorpusError,
    CorpusWriter,
    ManifestError,
    NonFiniteError,
    ShardError,
    UnknownLabelError,
    WindowDataset,
    WindowShapeError,
    compute_channel_stats,
)

REPO = Path(__file__).resolve().parents[1]


def windows(n: int, start: int = 0, c: int = 3, t: int = 16) -> np.ndarray:
    """Windows whose sample [i, ch, 0] encodes the global index i (exact in float16 up to 2048)."""
    x = np.random.default_rng(start).normal(size=(n, c, t)).astype(np.float32)
    x[:, :, 0] = np.arange(start, start + n, dtype=np.float32)[:, None]
    return x


def make_writer(root: Path, **kw) -> CorpusWriter:
    args = {"sample_rate": 1000.0, "channel_names": ["ia", "ib", "ic"], "windows_per_shard": 10}
    args.update(kw)
    return CorpusWriter(root, **args)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_round_trip(tmp_path: Path, dtype: str) -> None:
    x = windows(25)
    y = np.arange(25) % 3
    src = np.array([f"rec{i // 5}.csv" for i in range(25)])
    with make_writer(tmp_path / "c", class_names=["a", "b", "c"], dtype=dtype) as w:
        w.append(x[:7], labels=y[:7], meta={"source": src[:7], "offset": np.arange(7)})
        w.append(x[7:], labels=y[7:], meta={"source": src[7:], "offset": np.arange(7, 25)})
    c = Corpus(tmp_path / "c")
    assert (c.num_windows, c.num_channels, c.window_length, len(c.shards)) == (25, 3, 16, 3)
    assert c.shard_sizes.tolist() == [10, 10, 5]
    assert c.dtype == dtype and c.sample_rate == 1000.0 and c.channel_names == ["ia", "ib", "ic"]
    assert c.units == ["A", "A", "A"] and c.class_names == ["a", "b", "c"]
    expected = x.astype(dtype).astype(np.float32)
    got = c.read(np.arange(25))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    idx = np.array([24, 3, 3, 17, 0, -1])
    np.testing.assert_array_equal(c.read(idx), expected[idx])
    np.testing.assert_array_equal(c.labels(), y)
    assert c.class_counts == {"a": 9, "b": 8, "c": 8}
    np.testing.assert_array_equal(c.meta("source"), src)
    np.testing.assert_array_equal(c.meta("offset"), np.arange(25))
    with h5py.File(c.shards[0]) as f:
        assert f["waveforms"].chunks[1:] == (3, 16)  # chunked along N only


def test_read_out_of_range_and_unknown_meta(tmp_path: Path) -> None:
    with make_writer(tmp_path) as w:
        w.append(windows(5))
    c = Corpus(tmp_path)
    with pytest.raises(IndexError, match="window index 5"):
        c.read([0, 5])
    with pytest.raises(CorpusError, match="valid fields"):
        c.meta("source")
    with pytest.raises(CorpusError, match="unlabeled"):
        c.labels()


def test_stats_match_numpy(tmp_path: Path) -> None:
    x = windows(23) * np.array([1.0, 5.0, 0.1], dtype=np.float32)[None, :, None] + 1000.0
    with make_writer(tmp_path) as w:
        w.append(x)
    stats = Corpus(tmp_path).stats
    np.testing.assert_allclose(stats["mean"], x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(stats["std"], x.astype(np.float64).std(axis=(0, 2)), rtol=1e-9)
    assert stats["count"] == 23 * 16
    assert compute_channel_stats(tmp_path) == stats


def test_write_shard_validation_names_the_problem(tmp_path: Path) -> None:
    w = make_writer(tmp_path, class_names=["ok", "bad"])
    x = windows(4)
    with pytest.raises(ChannelCountError, match="2 channels"):
        w.write_shard(0, x[:, :2], labels=np.zeros(4, dtype=int))
    bad = x.copy()
    bad[2, 1, 5] = np.nan
    with pytest.raises(NonFiniteError, match=r"window 2, channel 'ib', sample 5"):
        w.write_shard(0, bad, labels=np.zeros(4, dtype=int))
    with pytest.raises(UnknownLabelError, match="label 7 at window 3"):
        w.write_shard(0, x, labels=np.array([0, 1, 0, 7]))
    with pytest.raises(UnknownLabelError, match="pass labels"):
        w.write_shard(0, x)
    with pytest.raises(WindowShapeError, match="meta field 'offset'"):
        w.write_shard(0, x, labels=np.zeros(4, dtype=int), meta={"offset": np.arange(3)})
    w.write_shard(0, x, labels=np.zeros(4, dtype=int))
    with pytest.raises(WindowShapeError, match="window length 8"):
        w.write_shard(1, x[:, :, :8], labels=np.zeros(4, dtype=int))
    assert [p.name for p in tmp_path.iterdir()] == ["shard-000000.h5"]  # nothing partial


def test_float16_overflow_is_rejected(tmp_path: Path) -> None:
    x = windows(2)
    x[1, 0, 3] = 1e6
    with pytest.raises(NonFiniteError, match="overflows float16"):
        make_writer(tmp_path, dtype="float16").write_shard(0, x)


def test_writer_rejects_shards_of_another_corpus(tmp_path: Path) -> None:
    make_writer(tmp_path).write_shard(0, windows(3))
    other = make_writer(tmp_path, sample_rate=2000.0)
    with pytest.raises(ShardError, match="'sample_rate'"):
        other.shard_complete(0)


def test_context_manager_keeps_only_complete_shards_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), make_writer(tmp_path) as w:
        w.append(windows(15))  # one full shard written, 5 windows buffered
        raise RuntimeError("simulated failure")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-000000.h5"]
    with pytest.raises(ManifestError, match="not finalized"):
        Corpus(tmp_path)


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from ssl_waveform.data import CorpusWriter
    import ssl_waveform.data.writer as wmod

    root = sys.argv[1]
    w = CorpusWriter(root, sample_rate=1000.0, channel_names=["a"], windows_per_shard=4)
    x = np.ones((4, 1, 8), dtype=np.float32)
    for i in range(2):
        if not w.shard_complete(i):
            w.write_shard(i, x * i)
    real_replace = os.replace
    def hang(src, dst):  # shard 2 is fully in its temporary file: die before the rename
        print("READY", flush=True)
        time.sleep(600)
    wmod.os.replace = hang
    w.write_shard(2, x * 2)
    """
)


def test_kill_9_mid_write_leaves_no_corrupt_shard_and_rerun_resumes(tmp_path: Path) -> None:
    root = tmp_path / "c"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(root)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    names = sorted(p.name for p in root.iterdir())
    assert names[1:] == ["shard-000000.h5", "shard-000001.h5"]
    assert names[0].startswith(".shard-000002.h5.") and names[0].endswith(".tmp")
    mtimes = {i: (root / f"shard-00000{i}.h5").stat().st_mtime_ns for i in range(2)}

    w = CorpusWriter(root, sample_rate=1000.0, channel_names=["a"], windows_per_shard=4)
    written = []
    for i in range(4):
        if not w.shard_complete(i):
            w.write_shard(i, np.full((4, 1, 8), i, dtype=np.float32))
            written.append(i)
    assert written == [2, 3]
    c = w.finalize()
    assert {i: (root / f"shard-00000{i}.h5").stat().st_mtime_ns for i in range(2)} == mtimes
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]
    np.testing.assert_array_equal(c.read(np.arange(16))[:, 0, 0], np.repeat(np.arange(4), 4))


def test_truncated_shard_is_reported_and_rewritten(tmp_path: Path) -> None:
    w = make_writer(tmp_path)
    w.append(windows(20))
    w.finalize()
    shard = tmp_path / "shard-000001.h5"
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(ShardError, match=r"shard-000001\.h5.*truncated"):
        Corpus(tmp_path).read([15])
    w2 = make_writer(tmp_path)
    assert w2.shard_complete(0) and not w2.shard_complete(1)
    w2.write_shard(1, windows(10, start=10))
    np.testing.assert_array_equal(w2.finalize().read([15])[0, :, 0], [15, 15, 15])


def test_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found"):
        Corpus(tmp_path)
    with make_writer(tmp_path) as w:
        w.append(windows(5))
    m = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**m, "format_version": 99}))
    with pytest.raises(ManifestError, match="format_version 99"):
        Corpus(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({**m, "num_windows": 6}))
    with pytest.raises(ManifestError, match="num_windows is 6"):
        Corpus(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    (tmp_path / "shard-000000.h5").unlink()
    with pytest.raises(ShardError, match=r"shard-000000\.h5 is missing"):
        Corpus(tmp_path)


def test_window_dataset_map_style(tmp_path: Path) -> None:
    x = windows(30)
    with make_writer(tmp_path, class_names=["a", "b"]) as w:
        w.append(x, labels=np.arange(30) % 2)
    ds = WindowDataset(tmp_path, indices=[29, 4, 11], transform=lambda t: t * 2)
    assert len(ds) == 3
    xi, yi = ds[0]
    assert xi.dtype == torch.float32 and xi.shape == (3, 16) and yi == 1
    torch.testing.assert_close(xi, torch.from_numpy(x[29]) * 2)
    loader = torch.utils.data.DataLoader(WindowDataset(tmp_path), batch_size=8, shuffle=True)
    seen = torch.cat([b[0][:, 0, 0] for b in loader]).long().sort().values
    assert seen.tolist() == list(range(30))
    with pytest.raises(IndexError):
        WindowDataset(tmp_path, indices=[30])
    unlabeled = tmp_path / "u"
    with make_writer(unlabeled) as w:
        w.append(x[:3])
    assert WindowDataset(unlabeled)[2][1] == -1
