"""Property-based tests: ingest either succeeds exactly or raises a documented CorpusError naming the file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ssl_waveform.data import Corpus, CorpusError, ingest

WINDOW = 8
CHANNELS = ["ia", "ib", "ic"]

finite_or_not = st.floats(
    allow_nan=True, allow_infinity=True, width=64, min_value=None, max_value=None
)
shapes = st.one_of(
    st.tuples(st.integers(0, 40)),
    st.tuples(st.integers(0, 40), st.integers(1, 5)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
)
recordings = shapes.flatmap(
    lambda s: arrays(np.float64, s, elements=finite_or_not | st.floats(-1e3, 1e3))
)


def expected_channels_first(a: np.ndarray) -> np.ndarray | None:
    """The documented orientation rule; ``None`` where ingest must refuse the array."""
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.size == 0:
        return None
    return a.T if a.shape[0] >= a.shape[1] else a


def run(arr: np.ndarray, fmt: str) -> None:
    d = Path(tempfile.mkdtemp())
    try:
        path = d / f"rec.{fmt}"
        if fmt == "npy":
            np.save(path, arr)
        else:
            np.savetxt(path, arr.reshape(arr.shape[0], -1) if arr.ndim else arr, delimiter=",")
        try:
            corpus = ingest(
                [path],
                d / "out",
                sample_rate=100.0,
                window=WINDOW,
                channels=CHANNELS,
                progress=False,
            ).corpus
        except CorpusError as exc:
            assert "rec." in str(exc)  # names the file
            assert not (d / "out").exists() and [p.name for p in d.iterdir()] == [
                path.name
            ]  # nothing partial
            return
        x = expected_channels_first(arr) if fmt == "npy" else arr.reshape(arr.shape[0], -1).T
        assert x is not None and x.shape[0] == 3 and np.isfinite(x).all() and x.shape[1] >= WINDOW
        assert isinstance(corpus, Corpus) and corpus.num_windows == x.shape[1] // WINDOW
        got = corpus.read(np.arange(corpus.num_windows))
        np.testing.assert_allclose(got[0], x[:, :WINDOW].astype(np.float32), rtol=1e-6)
    finally:
        shutil.rmtree(d)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings)
def test_npy_ingest_succeeds_exactly_or_raises_documented_error(arr: np.ndarray) -> None:
    run(arr, "npy")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 30).flatmap(
        lambda n: arrays(np.float64, (n, 3), elements=finite_or_not | st.floats(-1e3, 1e3))
    )
)
def test_csv_ingest_succeeds_exactly_or_raises_documented_error(arr: np.ndarray) -> None:
    run(arr, "csv")


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["npy", "npz", "csv", "mat"]))
def test_garbage_files_raise_input_errors(blob: bytes, ext: str) -> None:
    d = Path(tempfile.mkdtemp())
    try:
        (d / f"junk.{ext}").write_bytes(blob)
        try:
            ingest([d], d / "out", sample_rate=100.0, window=1, progress=False)
        except CorpusError as exc:
            assert "junk." in str(exc)
            assert not (d / "out").exists()
    finally:
        shutil.rmtree(d)
