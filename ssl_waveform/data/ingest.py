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

from .._atomic import publish_dir
from .._lock import FolderLockedError, exclusive
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

SUPPORTED_EXTENSIONS = (".npy", ".npz", ".csv", ".mat", ".h5", ".hdf5")
RATE_KEYS = ("sample_rate", "fs", "Fs", "sr", "sampling_rate")
PREFERRED_KEYS = ("x", "data", "signal", "signals", "waveform", "waveforms", "current", "currents")
# companion variables of a window array [N, C, T]: never taken as the signal
LABEL_KEYS = ("y", "labels", "label", "targets", "target")
GROUP_KEYS = ("groups", "group", "recording_id", "recording_ids", "recordings")
CLASS_NAME_KEYS = ("class_names", "classes")


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


@dataclass
class WindowArray:
    """A file holding equal-length windows ``[N, C, T]`` (a labeled set of windows, the common form of fault data).

    Attributes:
        path: source file.
        data: ``[N, C, T]`` float64 windows.
        sample_rate: rate stored in the file (Hz), or ``None``.
        labels: ``[N]`` labels (integers or strings) from a ``y``/``labels`` variable, or ``None``.
        groups: ``[N]`` recording/group ids (windows of one group stay on one side of a split), or ``None``.
        class_names: class names stored beside integer labels (``class_names`` variable), or ``None``.
    """

    path: Path
    data: np.ndarray
    sample_rate: float | None = None
    labels: np.ndarray | None = None
    groups: np.ndarray | None = None
    class_names: list[str] | None = None


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
            f"{path}: expected a 1-D or 2-D recording (samples x channels) or a 3-D window array [N, C, T], "
            f"got shape {arr.shape}"
        )
    rows_are_time = time_major if time_major is not None else arr.shape[0] >= arr.shape[1]
    return np.ascontiguousarray((arr.T if rows_are_time else arr).astype(np.float64))


def pick_array(
    path: Path, arrays: dict[str, np.ndarray], key: str | None, exclude: Sequence[str] = ()
) -> tuple[np.ndarray, float | None]:
    """Choose the signal array (and a stored sample rate) among the named arrays of an NPZ/MAT file;
    ``exclude`` names companion variables (labels, groups) that are never the signal."""
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
        and k not in (*LABEL_KEYS, *GROUP_KEYS, *CLASS_NAME_KEYS, *exclude)
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


_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    TypeError,
    NotImplementedError,
    IndexError,  # scipy.io raises it on some corrupt .mat headers
    zipfile.BadZipFile,
    scipy.io.matlab.MatReadError,
)


def load_hdf5(path: Path) -> dict[str, np.ndarray]:
    """Top-level datasets of a plain HDF5 file (numeric, and strings decoded), in stored shape."""
    out = {}
    try:
        with h5py.File(path, "r") as f:
            for k, v in f.items():
                if not isinstance(v, h5py.Dataset):
                    continue
                if v.dtype.kind in "fiub":
                    out[k] = np.asarray(v[()])
                elif v.dtype.kind in "SOU":
                    out[k] = np.asarray(v.asstr()[()]).astype(str)
    except OSError as exc:
        raise InputFileError(f"{path}: unreadable or truncated HDF5 file ({exc})") from exc
    return out


def _named_arrays(p: Path, ext: str) -> dict[str, np.ndarray]:
    """Every variable of an NPZ, MAT or HDF5 file."""
    if ext == ".npz":
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if ext == ".mat":
        if h5py.is_hdf5(p):
            return load_mat_v73(p)
        return scipy.io.loadmat(p)
    return load_hdf5(p)


def _text(value: object) -> str:
    """A stored name as text (MATLAB cell arrays of strings load as object arrays of 1-element arrays)."""
    while isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return str(value).strip()


def _companion(
    p: Path,
    arrays: dict[str, np.ndarray],
    name: str | None,
    defaults: tuple[str, ...],
    what: str,
    n: int,
) -> np.ndarray | None:
    """The ``[n]`` per-window array ``name`` (or the first of ``defaults`` present) of a window-array file."""
    key = name if name is not None else next((k for k in defaults if k in arrays), None)
    if key is None:
        return None
    if key not in arrays:
        raise InputFileError(f"{p}: no {what} variable {key!r}; variables: {sorted(arrays)}")
    raw = np.asarray(arrays[key])
    values = (
        raw.reshape(-1) if raw.ndim == 2 and 1 in raw.shape else raw
    )  # MATLAB keeps vectors 2-D
    if values.ndim != 1 or len(values) != n:
        raise InputFileError(
            f"{p}: {what} variable {key!r} has shape {raw.shape}, expected one entry per window ({n})"
        )
    if values.dtype.kind == "O":  # MATLAB cell array of strings
        values = np.asarray([_text(v) for v in values])
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise InputFileError(
                f"{p}: {what} variable {key!r} holds non-integer numbers; store ids"
            )
        values = values.astype(np.int64)
    if values.dtype.kind not in "iuUS":
        raise InputFileError(
            f"{p}: {what} variable {key!r} of dtype {values.dtype}: store integers or strings"
        )
    return values.astype(str) if values.dtype.kind == "S" else values


def load_input(
    path: str | Path,
    key: str | None = None,
    labels_key: str | None = None,
    groups_key: str | None = None,
) -> Recording | WindowArray:
    """Load one input file: a recording (1-D/2-D signal array) or a window array (3-D ``[N, C, T]``).

    A window array's labels come from the variable ``labels_key`` (default: ``y``, ``labels``, ``label``,
    ``targets`` or ``target`` when present), its group ids from ``groups_key`` (default: ``groups``,
    ``group``, ``recording_id(s)``, ``recordings``), and names of integer labels from ``class_names``.

    Raises:
        InputFileError: as :func:`load_recording`, and companion arrays of the wrong length or type.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in (".npy", ".npz", ".mat", ".h5", ".hdf5"):
        return load_recording(p, key=key)
    try:
        arrays = {"x": np.load(p, allow_pickle=False)} if ext == ".npy" else _named_arrays(p, ext)
        companions = [k for k in (labels_key, groups_key) if k is not None]
        arr, rate = pick_array(p, arrays, key, exclude=companions)
    except CorpusError:
        raise
    except _READ_ERRORS as exc:
        raise InputFileError(f"{p}: cannot read {ext} file ({type(exc).__name__}: {exc})") from exc
    if arr.ndim != 3:
        if labels_key is not None or groups_key is not None:
            raise InputFileError(
                f"{p}: labels/groups variables apply to window arrays [N, C, T]; the signal has shape {arr.shape}"
            )
        return Recording(p, to_channels_first(p, arr), rate)
    if arr.dtype.kind not in "fiub" or 0 in arr.shape:
        raise InputFileError(
            f"{p}: window array of shape {arr.shape} and dtype {arr.dtype}; store numbers"
        )
    n = arr.shape[0]
    names = next((arrays[k] for k in CLASS_NAME_KEYS if k in arrays), None)
    return WindowArray(
        p,
        np.ascontiguousarray(arr, dtype=np.float64),
        rate,
        labels=_companion(p, arrays, labels_key, LABEL_KEYS, "labels", n),
        groups=_companion(p, arrays, groups_key, GROUP_KEYS, "groups", n),
        class_names=None
        if names is None
        else [str(v).strip() for v in np.asarray(names).reshape(-1)],
    )


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
        if ext in (".mat", ".h5", ".hdf5"):
            arr, rate = pick_array(p, _named_arrays(p, ext), key)
            return Recording(p, to_channels_first(p, arr), rate)
    except CorpusError:
        raise
    except _READ_ERRORS as exc:
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


def label_names(item: WindowArray, classes: Sequence[str] | None) -> np.ndarray | None:
    """A window array's labels as class names ``[N]``: strings as stored; integers through the file's
    ``class_names``, else through ``classes`` (index), else as decimal strings."""
    if item.labels is None:
        return None
    if item.labels.dtype.kind in "US":
        return np.asarray([str(v).strip() for v in item.labels])
    names = item.class_names if item.class_names is not None else classes
    if names is None:
        return np.asarray([str(int(v)) for v in item.labels])
    bad = np.flatnonzero((item.labels < 0) | (item.labels >= len(names)))
    if len(bad):
        j = int(bad[0])
        raise UnknownLabelError(
            f"{item.path}: window {j} has label {int(item.labels[j])}, outside the {len(names)} class "
            f"names {list(names)}"
        )
    return np.asarray([str(names[int(v)]) for v in item.labels])


def _sorted_classes(names: set[str]) -> list[str]:
    """Class list from label names: numeric names in numeric order, others alphabetically."""
    if all(n.lstrip("-").isdigit() for n in names):
        return sorted(names, key=int)
    return sorted(names)


def check_windows(
    item: WindowArray, channels: list[str], window: int, dtype: str = "float32"
) -> None:
    """Raise for a wrong channel count, non-finite or overflowing samples, or windows shorter than ``window``;
    errors name the file, the window index, the channel and the sample."""
    n, c, t = item.data.shape
    if c != len(channels):
        hint = " (is it [N, T, C]? store windows as [N, C, T])" if t == len(channels) else ""
        raise ChannelCountError(
            f"{item.path}: window array [N={n}, C={c}, T={t}] has {c} channels, expected {len(channels)} "
            f"{channels}{hint}"
        )
    bad = first_non_finite(item.data)
    if bad is not None:
        j, ch, i = bad
        raise NonFiniteError(
            f"{item.path}: non-finite value {item.data[bad]} in window {j}, channel {ch} ({channels[ch]!r}), "
            f"sample {i}; clean or drop that window"
        )
    big = np.abs(item.data) > np.finfo(dtype).max
    if big.any():
        j, ch, i = (int(v) for v in np.argwhere(big)[0])
        raise NonFiniteError(
            f"{item.path}: value {item.data[j, ch, i]} in window {j}, channel {ch} ({channels[ch]!r}), sample "
            f"{i} overflows the corpus dtype {dtype}; rescale the data"
        )
    if t < window:
        raise RecordingTooShortError(
            f"{item.path}: windows of {t} samples, shorter than the corpus window of {window}; use a "
            "shorter --window"
        )


def _scan_class_names(
    files: Sequence[Path], key: str | None, labels_key: str | None, groups_key: str | None,
    classes: Sequence[str] | None,
) -> set[str]:  # fmt: skip
    """Every label name of the window arrays among ``files`` (a first pass, so the class list is known)."""
    found: set[str] = set()
    for f in files:
        if f.suffix.lower() == ".csv":
            continue
        item = load_input(f, key, labels_key, groups_key)
        if isinstance(item, WindowArray):
            names = label_names(item, classes)
            if names is not None:
                found.update(names.tolist())
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but not ours, or the platform cannot tell: leave it
    return True


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete ``.OUT.ingest-PID.tmp`` / ``.OUT.old-PID.tmp`` folders left by killed ingests (PID no longer alive)."""
    removed = []
    for p in out.parent.glob(f".{out.name}.*-*.tmp"):
        kind, _, pid = p.name[len(out.name) + 2 : -len(".tmp")].rpartition("-")
        if kind in ("ingest", "old") and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def ingest(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    sample_rate: float,
    window: int | None,
    hop: int | None = None,
    channels: Sequence[str] | None = None,
    labels_from_folders: bool = False,
    classes: Sequence[str] | None = None,
    resample_to: float | None = None,
    units: str | Sequence[str] = "A",
    dtype: str = "float32",
    windows_per_shard: int = 4096,
    key: str | None = None,
    labels_key: str | None = None,
    groups_key: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Window recordings and window arrays into a new corpus at ``out``; nothing is left at ``out`` on error.

    Each input file holds either a recording (1-D/2-D signal) or a window array ``[N, C, T]`` (NPY, NPZ,
    MAT, HDF5) with optional per-window labels and group ids (see :func:`load_input`). A window array's
    windows are treated as ``N`` short recordings: each is cut into ``window``-sample windows every ``hop``
    (with the default ``window=None``, the windows are kept as they are).

    The corpus is built in a hidden sibling folder and renamed to ``out`` at the end. Per-window
    metadata: ``source`` (file path relative to the inputs' common folder; for window arrays
    ``path:GROUP`` when group ids are given, else ``path#INDEX``, so a default split keeps a group, or
    a window and its sub-windows, on one side), ``offset`` (first sample of the window in its recording,
    at the corpus rate) and ``recording`` (recording number: file, or file and group / index).

    Args:
        inputs: files and/or folders (searched recursively; other extensions are skipped).
        out: corpus folder to create.
        sample_rate: rate (Hz) of inputs that do not store one (CSV, NPY; NPZ/MAT/HDF5 without ``fs``).
        window: window length in samples (at the corpus rate); ``None`` = the window arrays' own length
            (required when a recording is ingested). hop: window step (default ``window``).
        channels: channel names; their count is enforced. Default: ``ch0..`` from the first file.
        labels_from_folders: label each file by its parent folder name.
        classes: explicit class list (order = label ids); folders or label names outside it raise, and
            integer labels of window arrays without stored ``class_names`` index it. Default: the sorted
            folder or label names.
        resample_to: resample every recording to this rate (Hz); otherwise all rates must match.
        units, dtype, windows_per_shard: as :class:`CorpusWriter`. key: signal variable in NPZ/MAT/HDF5.
        labels_key, groups_key: the labels / group-id variables of window arrays (defaults in
            :func:`load_input`).
        overwrite: replace an existing ``out``. progress: show a tqdm bar.

    Raises:
        CorpusError subclasses naming the file and index: InputFileError, ChannelCountError,
        NonFiniteError, RecordingTooShortError, SampleRateMismatchError, UnknownLabelError.
    """
    out = Path(out)
    try:
        with exclusive(out, "ingest"):
            return _ingest_locked(
                inputs, out, sample_rate=sample_rate, window=window, hop=hop, channels=channels,
                labels_from_folders=labels_from_folders, classes=classes, resample_to=resample_to,
                units=units, dtype=dtype, windows_per_shard=windows_per_shard, key=key,
                labels_key=labels_key, groups_key=groups_key, overwrite=overwrite, progress=progress,
            )  # fmt: skip
    except FolderLockedError as err:
        raise CorpusError(str(err)) from None


def _ingest_locked(
    inputs: Sequence[str | Path],
    out: Path,
    *,
    sample_rate: float,
    window: int | None,
    hop: int | None,
    channels: Sequence[str] | None,
    labels_from_folders: bool,
    classes: Sequence[str] | None,
    resample_to: float | None,
    units: str | Sequence[str],
    dtype: str,
    windows_per_shard: int,
    key: str | None,
    labels_key: str | None,
    groups_key: str | None,
    overwrite: bool,
    progress: bool,
) -> IngestReport:
    if out.exists() and not overwrite:
        raise CorpusError(f"{out}: already exists; choose another --out or pass overwrite")
    if (window is not None and window <= 0) or (hop is not None and hop <= 0):
        raise CorpusError(f"window and hop must be positive, got window={window}, hop={hop}")
    files, skipped = collect_files(inputs)
    keys = (key, labels_key, groups_key)
    class_list, labels = _class_list(files, labels_from_folders, classes, keys)
    lookup = {c: i for i, c in enumerate(class_list or [])}
    common = Path(os.path.commonpath([str(f.parent) for f in files]))
    remove_stale_temporaries(out)
    tmp = out.parent / f".{out.name}.ingest-{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    run = _Run(names=list(channels) if channels is not None else None, window=window)
    try:
        writer: CorpusWriter | None = None
        for i, f in enumerate(tqdm(files, desc="ingest", unit="file", disable=not progress)):
            item, rate = _read(f, run, sample_rate, resample_to, dtype, keys)
            if window is None:
                _fix_window(f, item, run)
            assert run.window is not None and run.names is not None
            step = run.window if hop is None else hop
            rel = str(f.relative_to(common))
            x, y, meta = _blocks(item, rel, i, run, step, labels, lookup, classes, dtype)
            if class_list is not None and y is None:
                raise UnknownLabelError(
                    f"{f}: has no labels while other inputs do; label every input or none"
                )
            if writer is None:
                ingest_info = {
                    "inputs": [str(p) for p in inputs], "window": run.window, "hop": step,
                    "resample_to": resample_to, "files": len(files),
                }  # fmt: skip
                writer = CorpusWriter(
                    tmp, sample_rate=rate, channel_names=run.names, units=units,
                    class_names=class_list, windows_per_shard=windows_per_shard, dtype=dtype,
                    description={"ingest": ingest_info},
                )  # fmt: skip
            writer.append(x, labels=y, meta=meta)
        assert writer is not None  # collect_files guarantees at least one file
        writer.finalize()
        publish_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return IngestReport(corpus=Corpus(out), files=files, skipped=skipped)


@dataclass
class _Run:
    """What the inputs read so far fix for the later ones.

    Attributes:
        names: channel names (from ``channels`` or the first file).
        window: window length in samples (given, or the first window array's length).
        first_rate: ``(rate, file)`` of the first input, when not resampling.
        recording_ids: ``(file index, group tag)`` -> recording number.
    """

    names: list[str] | None
    window: int | None
    first_rate: tuple[float, Path] | None = None
    recording_ids: dict[tuple[int, str], int] = field(default_factory=dict)


def _class_list(
    files: Sequence[Path], labels_from_folders: bool, classes: Sequence[str] | None,
    keys: tuple[str | None, str | None, str | None],
) -> tuple[list[str] | None, list[int] | None]:  # fmt: skip
    """Class list (``None``: unlabeled) and per-file folder labels (``None`` unless from folders)."""
    if labels_from_folders:
        return folder_labels(files, classes)
    found = _scan_class_names(files, *keys, classes)
    if not found:
        return None, None
    return (list(classes) if classes is not None else _sorted_classes(found)), None


def _check(item: Recording | WindowArray, names: list[str], window: int, dtype: str) -> None:
    if isinstance(item, WindowArray):
        check_windows(item, names, window, dtype)
    else:
        check_recording(item, names, window, dtype)


def _read(
    f: Path, run: _Run, sample_rate: float, resample_to: float | None, dtype: str,
    keys: tuple[str | None, str | None, str | None],
) -> tuple[Recording | WindowArray, float]:  # fmt: skip
    """Load ``f``, check channels and values, bring it to the corpus rate; returns item and rate."""
    item = load_input(f, *keys)
    if run.names is None:
        n_channels = item.data.shape[-2 if isinstance(item, WindowArray) else 0]
        run.names = [f"ch{c}" for c in range(n_channels)]
    rate = item.sample_rate if item.sample_rate is not None else float(sample_rate)
    _check(item, run.names, 1, dtype)
    if resample_to is not None:
        item.data = resample(item.data, rate, resample_to, axis=-1)
        return item, float(resample_to)
    if run.first_rate is None:
        run.first_rate = (rate, f)
    elif rate != run.first_rate[0]:
        raise SampleRateMismatchError(
            f"{f}: sample rate {rate} Hz differs from {run.first_rate[1]} ({run.first_rate[0]} Hz); "
            "pass resample_to (--resample-to HZ) to bring all recordings to one rate"
        )
    return item, rate


def _fix_window(f: Path, item: Recording | WindowArray, run: _Run) -> None:
    """Without a given window, every input must be a window array of one length, kept as it is."""
    if not isinstance(item, WindowArray):
        raise CorpusError(f"{f}: a recording needs a window length; pass window (--window N)")
    if run.window is not None and item.data.shape[-1] != run.window:
        raise CorpusError(
            f"{f}: windows of {item.data.shape[-1]} samples, earlier inputs have {run.window}; pass "
            "window (--window N) to cut every input to one length"
        )
    run.window = int(item.data.shape[-1])


def _blocks(
    item: Recording | WindowArray, rel: str, file_index: int, run: _Run, step: int,
    folder_labels_: list[int] | None, lookup: dict[str, int], classes: Sequence[str] | None,
    dtype: str,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:  # fmt: skip
    """Windows, label ids and metadata of one input, after checking it holds a whole window."""
    assert run.window is not None and run.names is not None
    _check(item, run.names, run.window, dtype)
    if isinstance(item, WindowArray):
        return _window_array_blocks(
            item, rel, file_index, run.window, step, folder_labels_, lookup, classes,
            run.recording_ids,
        )  # fmt: skip
    x = window_signal(item.data, run.window, step)
    n = x.shape[0]
    run.recording_ids[(file_index, "")] = len(run.recording_ids)
    y = None if folder_labels_ is None else np.full(n, folder_labels_[file_index], dtype=np.int64)
    meta = {
        "source": np.full(n, rel),
        "offset": np.arange(n, dtype=np.int64) * step,
        "recording": np.full(n, run.recording_ids[(file_index, "")], dtype=np.int64),
    }
    return x, y, meta


def _window_array_blocks(
    item: WindowArray,
    rel: str,
    file_index: int,
    window: int,
    step: int,
    folder_labels_: list[int] | None,
    lookup: dict[str, int],
    classes: Sequence[str] | None,
    recording_ids: dict[tuple[int, str], int],
) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """Windows, label ids and metadata of one window array (each entry cut like a short recording)."""
    n, _, t = item.data.shape
    if folder_labels_ is not None and item.labels is not None:
        raise InputFileError(
            f"{item.path}: holds a labels variable and labels_from_folders is set; use one of them"
        )
    names = label_names(item, classes)
    per_entry = 1 + (t - window) // step
    x = np.stack([window_signal(item.data[j], window, step) for j in range(n)])  # [N, k, C, W]
    x = x.reshape(n * per_entry, item.data.shape[1], window)
    y = None
    if names is not None:
        unknown = [j for j, v in enumerate(names) if v not in lookup]
        if unknown:
            j = unknown[0]
            raise UnknownLabelError(
                f"{item.path}: window {j} has label {names[j]!r}, not a known class; valid classes: "
                f"{list(lookup)}"
            )
        y = np.repeat(np.asarray([lookup[v] for v in names], dtype=np.int64), per_entry)
    elif folder_labels_ is not None:
        y = np.full(n * per_entry, folder_labels_[file_index], dtype=np.int64)
    tags = (
        [f":{g}" for g in item.groups.astype(str)]
        if item.groups is not None
        else [f"#{j}" for j in range(n)]
    )
    ids = []
    for tag in tags:
        ids.append(recording_ids.setdefault((file_index, tag), len(recording_ids)))
    meta = {
        "source": np.repeat(np.asarray([rel + tag for tag in tags]), per_entry),
        "offset": np.tile(np.arange(per_entry, dtype=np.int64) * step, n),
        "recording": np.repeat(np.asarray(ids, dtype=np.int64), per_entry),
    }
    return x, y, meta
