"""``ssl-waveform predict``: classify recordings (NPZ/NPY/CSV/MAT files or corpus folders) with a fine-tuned
classifier and write one CSV row per recording (also ``python -m ssl_waveform.predict``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ssl_waveform.config import parse
from ssl_waveform.methods.classify import load_classifier
from ssl_waveform.predict import predict_files, write_csv


@dataclass
class PredictArgs:
    """The command line of ``ssl-waveform predict``.

    Attributes:
        checkpoint: classifier folder written by finetune.
        input: NPZ/NPY/CSV/MAT files or corpus folders.
        sample_rate: sampling rate in Hz of inputs that carry none.
        channels: comma-separated channel names of the input, e.g. ib,ia,ic (None: the classifier's order).
        hop: hop between windows at the model's rate (None: half a window).
        output: CSV of predictions.
    """

    checkpoint: Path
    input: list[Path]
    sample_rate: float | None = None
    channels: str | None = None
    hop: int | None = None
    output: Path = Path("predictions.csv")


def _argument_error(args: PredictArgs) -> str | None:
    """What is wrong with ``args`` beyond their types (None: nothing).

    Checked here rather than in ``PredictArgs.__post_init__``: tyro reports a ``__post_init__`` error in its
    own box, not as the one ``error: ...`` line this command has always printed.
    """
    if not args.input:  # tyro reads a list flag with nargs="*": "--input" alone gives []
        return "--input needs at least one file or corpus folder"
    if args.hop is not None and args.hop < 1:
        return f"--hop must be at least 1 sample, got {args.hop}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse(PredictArgs, argv, prog="ssl-waveform predict", description=__doc__)
    problem = _argument_error(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        model = load_classifier(args.checkpoint)
        channels = args.channels.split(",") if args.channels else None
        rows, metrics = predict_files(model, args.input, args.sample_rate, channels, args.hop)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_csv(rows, args.output)
    print(f"{len(rows)} predictions -> {args.output}")
    if metrics is not None:
        print(
            f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"({metrics['num_samples']} labeled recordings)"
        )
    return 0
