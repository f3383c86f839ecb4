"""Command line: convert recordings, or arrays of windows [N, C, T], into a corpus.

``python -m ssl_waveform.ingest INPUT... --out DIR --sample-rate HZ [--window N] [--hop N]
[--channels ia,ib,ic] [--labels-from-folders] [--labels VAR] [--groups VAR]`` (see ``docs/ingest.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ssl_waveform.data import CorpusError, ingest
from ssl_waveform.data.summary import describe, format_description


def csv_list(text: str) -> list[str]:
    """``"a,b,c"`` -> ``["a", "b", "c"]`` (blank entries rejected)."""
    items = [s.strip() for s in text.split(",")]
    if any(not s for s in items):
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return items


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``ingest`` command."""
    p = argparse.ArgumentParser(
        prog="python -m ssl_waveform.ingest", description=__doc__.splitlines()[0]
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders (recursive)")
    p.add_argument("--out", required=True, help="corpus folder to create")
    p.add_argument(
        "--sample-rate", type=float, required=True, help="rate (Hz) of files that store none"
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        help="window length, samples (required for recordings; default for window arrays: their length)",
    )
    p.add_argument("--hop", type=int, default=None, help="window step, samples (default: window)")
    p.add_argument("--channels", type=csv_list, default=None, help="channel names, e.g. ia,ib,ic")
    p.add_argument("--labels-from-folders", action="store_true", help="label = parent folder name")
    p.add_argument(
        "--classes", type=csv_list, default=None, help="explicit class list (label order)"
    )
    p.add_argument(
        "--resample-to", type=float, default=None, help="resample everything to this rate, Hz"
    )
    p.add_argument("--units", type=csv_list, default=["A"], help="unit, or one per channel")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--windows-per-shard", type=int, default=4096)
    p.add_argument("--key", default=None, help="signal variable inside NPZ/MAT/HDF5 files")
    p.add_argument(
        "--labels",
        default=None,
        metavar="VAR",
        help="labels variable of window-array files (default: y, labels, label, targets or target if present)",
    )
    p.add_argument(
        "--groups",
        default=None,
        metavar="VAR",
        help="recording/group-id variable of window-array files, kept on one side of splits "
        "(default: groups, group, recording_id(s) or recordings if present)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 on bad input, with the message on stderr)."""
    args = build_parser().parse_args(argv)
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
