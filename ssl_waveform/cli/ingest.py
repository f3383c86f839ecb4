"""Command line: convert recordings, or arrays of windows [N, C, T], into a corpus.

Each INPUT is a file (CSV, NPY, NPZ, MAT, HDF5) or a folder searched recursively; a 3-D array is taken as N
windows of C channels and T samples, with optional labels and group ids. Nothing is written on any error.
See docs/ingest.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from tyro.conf import Positional, arg
from tyro.constructors import PrimitiveConstructorSpec

from ssl_waveform.config import parse
from ssl_waveform.data import CorpusError, ingest
from ssl_waveform.data.format import SampleDtype
from ssl_waveform.data.summary import describe, format_description
from ssl_waveform.serialize import ConfigError


def _names(words: Sequence[str]) -> tuple[str, ...]:
    """``["ia,ib", "ic"]`` -> ``("ia", "ib", "ic")``: names separated by commas or spaces, none blank."""
    names = tuple(name.strip() for word in words for name in word.split(","))
    if not names or not all(names):
        raise ValueError(
            f"expected names separated by commas, e.g. ia,ib,ic; got {' '.join(words)!r}"
        )
    return names


def _optional_names(words: list[str]) -> tuple[str, ...] | None:
    return None if words == ["None"] else _names(words)  # "None": a key=null override


def _names_spec(*, optional: bool) -> PrimitiveConstructorSpec:
    """``--channels ia,ib,ic`` (the documented form) and ``--channels ia ib ic`` (YAML lists) alike."""
    return PrimitiveConstructorSpec(
        nargs="*",
        metavar="A,B,...",
        instance_from_str=_optional_names if optional else _names,
        is_instance=lambda value: value is None or isinstance(value, tuple),
        str_from_instance=lambda value: ["None"] if value is None else [",".join(value)],
    )


Names = Annotated[tuple[str, ...], _names_spec(optional=False)]
OptionalNames = Annotated[tuple[str, ...] | None, _names_spec(optional=True)]


def _flag(metavar: str | None = None, hint: str | None = None) -> object:
    """The flag's metavar (as in docs/ingest.md) and a help hint saying what a None default stands for."""
    return arg(metavar=metavar, help_behavior_hint=hint)


@dataclass
class IngestArgs:
    """Arguments of ``python -m ssl_waveform.ingest``.

    Attributes:
        inputs: files or folders (recursive)
        out: corpus folder to create
        sample_rate: rate (Hz) of files that store none
        window: window length, samples (required for recordings)
        hop: window step, samples
        channels: channel names, e.g. ia,ib,ic
        labels_from_folders: label = parent folder name
        classes: explicit class list (label order)
        resample_to: resample everything to this rate, Hz
        units: unit, or one per channel
        dtype: sample type of the stored windows
        windows_per_shard: windows per shard file
        key: signal variable inside NPZ/MAT/HDF5 files
        labels: labels variable of window-array files
        groups: recording/group-id variable of window-array files, kept on one side of splits
        overwrite: replace an existing --out
        quiet: no progress bar
    """

    inputs: Annotated[
        Positional[tuple[Path, ...]],
        arg(metavar="INPUT [INPUT ...]", help_behavior_hint="(required)"),
    ]
    out: Annotated[Path, _flag("DIR")]
    sample_rate: Annotated[float, _flag("HZ")]
    window: Annotated[int | None, _flag("N", "(default for window arrays: their length)")] = None
    hop: Annotated[int | None, _flag("N", "(default: the window)")] = None
    channels: Annotated[OptionalNames, _flag(hint="(default: ch0,ch1,...)")] = None
    labels_from_folders: bool = False
    classes: Annotated[OptionalNames, _flag(hint="(default: the label names, sorted)")] = None
    resample_to: Annotated[float | None, _flag("HZ", "(default: no resampling)")] = None
    units: Names = ("A",)
    dtype: SampleDtype = "float32"
    windows_per_shard: int = 4096
    key: Annotated[
        str | None, _flag("VAR", "(default: the only numeric array, else x, data, signal(s), ...)")
    ] = None
    labels: Annotated[
        str | None, _flag("VAR", "(default: y, labels, label, targets or target if present)")
    ] = None
    groups: Annotated[
        str | None,
        _flag("VAR", "(default: groups, group, recording_id(s) or recordings if present)"),
    ] = None
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if not self.inputs:
            raise ConfigError(
                "no INPUT given: name the files or folders to ingest (before any option that takes "
                "several values, such as --channels ia,ib,ic)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 on bad input, with the message on stderr)."""
    args = parse(IngestArgs, argv, prog="ssl-waveform ingest", description=__doc__)
    try:
        report = ingest(
            args.inputs,
            args.out,
            sample_rate=args.sample_rate,
            window=args.window,
            hop=args.hop,
            channels=args.channels,
            labels_from_folders=args.labels_from_folders,
            classes=args.classes,
            resample_to=args.resample_to,
            units=args.units[0] if len(args.units) == 1 else args.units,
            dtype=args.dtype,
            windows_per_shard=args.windows_per_shard,
            key=args.key,
            labels_key=args.labels,
            groups_key=args.groups,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report.skipped:
        print(
            f"skipped {len(report.skipped)} file(s) with other extensions, e.g. {report.skipped[0]}"
        )
    print(format_description(describe(report.corpus)))
    return 0
