"""Convert recordings (NPY/NPZ, CSV, MATLAB v5 and v7.3) into a windowed corpus, atomically."""

from __future__ import annotations

import os
import shutil
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import scipy.io
from tqdm import tqdm

from .corpus import Corpus
from .errors import (
    ChannelCountError,
    CorpusError,
    InputFileError,
    NonFiniteError,
    RecordingTooShortError,
    SampleRateMismatchError,
    UnknownLabelError,
)
from .signal import resample, window_signal
from .writer import CorpusWriter, first_non_finite

SUPPORTED_EXTENSIONS = (".npy", ".npz", ".csv", ".mat")
RATE_KEYS = ("sample_rate", "fs", "Fs", "sr", "sampling_rate")
PREFERRED_KEYS = ("x", "data", "signal", "signals", "waveform", "waveforms", "current", "currents")


@dataclass
class Recording:
    """One loaded recording.

    Attributes:
        path: source file.
        data: ``[C, N]`` float64 samples (channels first).
        sample_rate: rate stored in the file (Hz), or ``None`` when the file does not say.
    """

    path: Path
    data: np.ndarray
    sample_rate: float | None = None


def to_channels_first(path: Path, arr: np.ndarray, time_major: bool | None = None) -> np.ndarray:
    """``[C, N]`` float64 from a 1-D or 2-D numeric array.

    2-D arrays are ``[N, C]`` when ``time_major`` (CSV), else the longer axis is time (ties: rows are time).
    """
    if arr.dtype.kind not in "fiub":
        raise InputFileError(f"{path}: array of dtype {arr.dtype} is not numeric; store numbers")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.size == 0:
        raise InputFileError(
            f"{path}: expected a 1-D or 2-D array (samples x channels), got shape {arr.shape}"
        )
    rows_are_time = time_major if time_major is not None else arr.shape[0] >= arr.shape[1]
    return np.ascontiguousarray((arr.T if rows_are_time else arr).astype(np.float64))


def pick_array(
    path: Path, arrays: dict[str, np.ndarray], key: str | None
) -> tuple[np.ndarray, float | None]:
    """Choose the signal array (and a stored sample rate) among the named arrays of an NPZ/MAT file."""
    rate = None
    for k in RATE_KEYS:
        if k in arrays and np.asarray(arrays[k]).size == 1:
            rate = float(np.asarray(arrays[k]).reshape(-1)[0])
            break
    if key is not None:
        if key not in arrays:
            raise InputFileError(f"{path}: no variable {key!r}; variables: {sorted(arrays)}")
        return np.asarray(arrays[key]), rate
    candidates = {
        k: np.asarray(v)
        for k, v in arrays.items()
        if k not in RATE_KEYS
        and not k.startswith("__")
        and np.asarray(v).dtype.kind in "fiu"
        and np.asarray(v).size > 1
    }
    if len(candidates) == 1:
        return next(iter(candidates.values())), rate
    for k in PREFERRED_KEYS:
        if k in candidates:
            return candidates[k], rate
    raise InputFileError(
        f"{path}: cannot tell which variable holds the signal among {sorted(candidates) or sorted(arrays)}; "
        "pass key=... (--key on the command line)"
    )


def load_csv(path: Path) -> np.ndarray:
    """``[N, C]`` from a CSV/whitespace table (one column per channel, optional header row)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise InputFileError(f"{path}: empty file (or empty first line)")
    delim = "," if "," in first else (";" if ";" in first else None)
    try:
        [float(v) for v in first.strip().split(delim)]
        skip = 0
    except ValueError:
        skip = 1  # header row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data" is reported below as an error
            arr = np.loadtxt(path, delimiter=delim, skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise InputFileError(f"{path}: not a numeric table ({exc}); fix that row") from exc
    if arr.size == 0:
        raise InputFileError(f"{path}: no data rows")
    return arr


def load_mat_v73(path: Path) -> dict[str, np.ndarray]:
    """Top-level numeric datasets of a MATLAB v7.3 (HDF5) file, transposed to MATLAB's shape."""
    try:
        with h5py.File(path, "r") as f:
            return {
                k: np.asarray(v[()]).T
                for k, v in f.items()
                if isinstance(v, h5py.Dataset) and v.dtype.kind in "fiu"
            }
    except OSError as exc:
        raise InputFileError(
            f"{path}: unreadable or truncated MATLAB v7.3/HDF5 file ({exc})"
        ) from exc


def load_recording(path: str | Path, key: str | None = None) -> Recording:
    """Load one recording file as ``[C, N]`` samples.

    Formats: ``.npy`` (one array), ``.npz`` and ``.mat`` (a variable picked by ``key``, or the only
    numeric array, or one named ``x``/``data``/``signal``...; a scalar ``fs``/``sample_rate`` variable
    gives the file's rate), ``.csv`` (one column per channel, optional header; comma, semicolon or
    whitespace separated). MATLAB v7.3 files are read with h5py, older ones with ``scipy.io``.
    2-D arrays may be ``[N, C]`` or ``[C, N]``: the longer axis is taken as time (CSV rows are time).

    Raises:
        InputFileError: unknown extension, unreadable/truncated file, no or ambiguous signal array.
    """
    p = Path(path)
    ext = p.suffix.lower()
    rate: float | None = None
    try:
        if ext == ".npy":
            return Recording(p, to_channels_first(p, np.load(p, allow_pickle=False)))
        if ext == ".npz":
            with np.load(p, allow_pickle=False) as z:
                arr, rate = pick_array(p, {k: z[k] for k in z.files}, key)
            return Recording(p, to_channels_first(p, arr), rate)
        if ext == ".csv":
            return Recording(p, to_channels_first(p, load_csv(p), time_major=True))
        if ext == ".mat":
            if h5py.is_hdf5(p):
                arrays = load_mat_v73(p)
            else:
                arrays = scipy.io.loadmat(p)
            arr, rate = pick_array(p, arrays, key)
            return Recording(p, to_channels_first(p, arr), rate)
    except CorpusError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        TypeError,
        NotImplementedError,
        IndexError,  # scipy.io raises it on some corrupt .mat headers
        zipfile.BadZipFile,
        scipy.io.matlab.MatReadError,
    ) as exc:
        raise InputFileError(f"{p}: cannot read {ext} file ({type(exc).__name__}: {exc})") from exc
    raise InputFileError(
        f"{p}: unsupported extension {ext!r}; supported: {list(SUPPORTED_EXTENSIONS)}"
    )


def collect_files(inputs: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """Expand files and folders (recursively) into sorted supported files and skipped other files."""
    files: list[Path] = []
    skipped: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(q for q in p.rglob("*") if q.is_file()):
                (files if f.suffix.lower() in SUPPORTED_EXTENSIONS else skipped).append(f)
        elif p.is_file():
            if p.suffix.lower() not in SUPPORTED_EXTENSIONS:
                raise InputFileError(
                    f"{p}: unsupported extension {p.suffix!r}; supported: {list(SUPPORTED_EXTENSIONS)}"
                )
            files.append(p)
        else:
            raise InputFileError(f"{p}: input not found")
    unique = list(dict.fromkeys(f.resolve() for f in files))
    if not unique:
        raise InputFileError(
            f"no {'/'.join(SUPPORTED_EXTENSIONS)} files found in {[str(i) for i in inputs]}"
        )
    return unique, skipped


@dataclass
class IngestReport:
    """Outcome of :func:`ingest`: the corpus, the files used and the files skipped (other extensions)."""

    corpus: Corpus
    files: list[Path]
    skipped: list[Path] = field(default_factory=list)


def folder_labels(
    files: Sequence[Path], classes: Sequence[str] | None
) -> tuple[list[str], list[int]]:
    """Class list and per-file label from each file's parent folder name."""
    names = [f.parent.name for f in files]
    class_list = list(classes) if classes is not None else sorted(set(names))
    lookup = {c: i for i, c in enumerate(class_list)}
    for f, n in zip(files, names):
        if n not in lookup:
            raise UnknownLabelError(
                f"{f}: folder {n!r} is not a known class; valid classes: {class_list}. Add it to "
                "classes or remove the file"
            )
    return class_list, [lookup[n] for n in names]


def check_recording(
    rec: Recording, channels: list[str], window: int, dtype: str = "float32"
) -> None:
    """Raise for a wrong channel count, non-finite or overflowing samples, or a recording shorter than a window."""
    c, n = rec.data.shape
    if c != len(channels):
        raise ChannelCountError(
            f"{rec.path}: {c} channels (array [C={c}, N={n}] after orientation), expected "
            f"{len(channels)} {channels}"
        )
    bad = first_non_finite(rec.data)
    if bad is not None:
        raise NonFiniteError(
            f"{rec.path}: non-finite value {rec.data[bad]} at sample {bad[1]} (row {bad[1]}), channel "
            f"{bad[0]} ({channels[bad[0]]!r}); clean the recording or drop the file"
        )
    big = np.abs(rec.data) > np.finfo(dtype).max
    if big.any():
        ch, i = (int(v) for v in np.argwhere(big)[0])
        raise NonFiniteError(
            f"{rec.path}: value {rec.data[ch, i]} at sample {i}, channel {ch} ({channels[ch]!r}) "
            f"overflows the corpus dtype {dtype}; rescale the recording"
        )
    if n < window:
        raise RecordingTooShortError(
            f"{rec.path}: {n} samples, shorter than one window of {window}; use a shorter window or "
            "drop the file"
        )


def ingest(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    sample_rate: float,
    window: int,
    hop: int | None = None,
    channels: Sequence[str] | None = None,
    labels_from_folders: bool = False,
    classes: Sequence[str] | None = None,
    resample_to: float | None = None,
    units: str | Sequence[str] = "A",
    dtype: str = "float32",
    windows_per_shard: int = 4096,
    key: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Window recordings into a new corpus at ``out``; nothing is left at ``out`` on error.

    The corpus is built in a hidden sibling folder and renamed to ``out`` at the end. Per-window
    metadata: ``source`` (file path relative to the inputs' common folder), ``offset`` (first sample
    of the window in the recording, at the corpus rate) and ``recording`` (file number), so splits
    can be made by recording.

    Args:
        inputs: files and/or folders (searched recursively; other extensions are skipped).
        out: corpus folder to create.
        sample_rate: rate (Hz) of recordings that do not store one (CSV, NPY; NPZ/MAT without ``fs``).
        window: window length in samples (at the corpus rate). hop: window step (default ``window``).
        channels: channel names; their count is enforced. Default: ``ch0..`` from the first file.
        labels_from_folders: label each file by its parent folder name.
        classes: explicit class list (order = label ids); folders outside it raise. Default: sorted
            folder names.
        resample_to: resample every recording to this rate (Hz); otherwise all rates must match.
        units, dtype, windows_per_shard: as :class:`CorpusWriter`. key: variable name in NPZ/MAT.
        overwrite: replace an existing ``out``. progress: show a tqdm bar.

    Raises:
        CorpusError subclasses naming the file and index: InputFileError, ChannelCountError,
        NonFiniteError, RecordingTooShortError, SampleRateMismatchError, UnknownLabelError.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise CorpusError(f"{out}: already exists; choose another --out or pass overwrite")
    if window <= 0 or (hop is not None and hop <= 0):
        raise CorpusError(f"window and hop must be positive, got window={window}, hop={hop}")
    files, skipped = collect_files(inputs)
    class_list, labels = folder_labels(files, classes) if labels_from_folders else (None, None)
    common = Path(os.path.commonpath([str(f.parent) for f in files]))
    tmp = out.parent / f".{out.name}.ingest-{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        writer: CorpusWriter | None = None
        first_rate: tuple[float, Path] | None = None
        names = list(channels) if channels is not None else None
        for i, f in enumerate(tqdm(files, desc="ingest", unit="file", disable=not progress)):
            rec = load_recording(f, key=key)
            if names is None:
                names = [f"ch{c}" for c in range(rec.data.shape[0])]
            rate = rec.sample_rate if rec.sample_rate is not None else float(sample_rate)
            check_recording(rec, names, 1, dtype)
            if resample_to is not None:
                rec.data = resample(rec.data, rate, resample_to, axis=1)
                rate = float(resample_to)
            elif first_rate is None:
                first_rate = (rate, f)
            elif rate != first_rate[0]:
                raise SampleRateMismatchError(
                    f"{f}: sample rate {rate} Hz differs from {first_rate[1]} ({first_rate[0]} Hz); "
                    "pass resample_to (--resample-to HZ) to bring all recordings to one rate"
                )
            check_recording(rec, names, window, dtype)
            x = window_signal(rec.data, window, hop)
            step = window if hop is None else hop
            if writer is None:
                writer = CorpusWriter(
                    tmp,
                    sample_rate=rate,
                    channel_names=names,
                    units=units,
                    class_names=class_list,
                    windows_per_shard=windows_per_shard,
                    dtype=dtype,
                    description={
                        "ingest": {
                            "inputs": [str(p) for p in inputs],
                            "window": window,
                            "hop": step,
                            "resample_to": resample_to,
                            "files": len(files),
                        }
                    },
                )
            n = x.shape[0]
            writer.append(
                x,
                labels=None if labels is None else np.full(n, labels[i], dtype=np.int64),
                meta={
                    "source": np.full(n, str(f.relative_to(common))),
                    "offset": np.arange(n, dtype=np.int64) * step,
                    "recording": np.full(n, i, dtype=np.int64),
                },
            )
        assert writer is not None  # collect_files guarantees at least one file
        writer.finalize()
        if out.exists():
            trash = out.parent / f".{out.name}.old-{os.getpid()}.tmp"
            os.replace(out, trash)
            os.replace(tmp, out)
            shutil.rmtree(trash)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return IngestReport(corpus=Corpus(out), files=files, skipped=skipped)
