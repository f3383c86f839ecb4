"""Command line for corpora.

``python -m ssl_waveform.corpus info DIR [--json] [--verify]`` prints windows, shards, rate, channels, class
counts, per-channel statistics and size on disk (opening a corpus checks every shard's size and shape against
the manifest; ``--verify`` also reads every window once, so HDF5 checks each chunk's checksum);
``python -m ssl_waveform.corpus verify DIR`` does only that check; ``python -m ssl_waveform.corpus plot DIR --n 8
--out FILE.png`` saves a grid of example windows (one row per
class when labeled); ``python -m ssl_waveform.corpus subset DIR --out NEW --parts train val --unlabeled`` writes the
windows of some parts of fine-tuning's split (same fractions, seed and grouping as ``finetune``) as a new corpus,
e.g. every recording outside the test split for self-supervised pretraining.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ssl_waveform.data import Corpus, CorpusError
from ssl_waveform.data.summary import describe, format_description, plot_examples


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``corpus`` command."""
    p = argparse.ArgumentParser(
        prog="python -m ssl_waveform.corpus", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="summarise a corpus")
    info.add_argument("dir")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument(
        "--verify",
        action="store_true",
        help="read every window once (checksums of corpora written since 2026-11-30 are checked)",
    )
    verify = sub.add_parser(
        "verify",
        help="check a corpus: every shard opens, sizes, counts and shapes match the manifest, checksums pass",
    )
    verify.add_argument("dir")
    plot = sub.add_parser("plot", help="save a grid of example windows")
    plot.add_argument("dir")
    plot.add_argument("--n", type=int, default=8, help="windows (per class when labeled)")
    plot.add_argument("--out", required=True, help="image file (.png, .pdf, ...)")
    plot.add_argument("--seed", type=int, default=0)
    subset = sub.add_parser(
        "subset",
        help="write the windows of parts of fine-tuning's train/val/test split as a new corpus",
    )
    subset.add_argument("dir", help="labeled corpus")
    subset.add_argument("--out", required=True, help="new corpus folder (must not exist)")
    subset.add_argument(
        "--parts",
        nargs="+",
        choices=["train", "val", "test"],
        default=["train", "val"],
        help="parts to keep (default: train val, i.e. everything outside the test split)",
    )
    subset.add_argument(
        "--unlabeled", action="store_true", help="drop the labels (a pretraining corpus)"
    )
    # the same defaults as python -m ssl_waveform.finetune, so the parts are that command's parts
    subset.add_argument("--val-fraction", type=float, default=0.15)
    subset.add_argument("--test-fraction", type=float, default=0.25)
    subset.add_argument("--split-seed", type=int, default=0)
    subset.add_argument(
        "--split-by",
        default="auto",
        help="auto (the corpus's source recording when it has one), none, or a metadata field",
    )
    return p


def _subset(args: argparse.Namespace, corpus: Corpus) -> str:
    from ssl_waveform.finetune.splits import write_split_parts

    idx = write_split_parts(
        corpus,
        args.out,
        args.parts,
        labeled=not args.unlabeled,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        seed=args.split_seed,
        split_by=args.split_by,
    )
    kind = "unlabeled" if args.unlabeled else "labeled"
    return f"{Path(args.out)}: {idx.size} of {corpus.num_windows} windows ({', '.join(args.parts)}; {kind})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 on a corpus error, with the message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        corpus = Corpus(args.dir)
        if args.command == "verify":
            corpus.verify()
            print(
                f"{corpus.root}: ok ({corpus.num_windows} windows in {len(corpus.shards)} shard(s), every chunk "
                "read and its checksum checked)"
            )
        elif args.command == "info":
            if args.verify:
                corpus.verify()
            d = describe(corpus)
            print(json.dumps(d, indent=2) if args.json else format_description(d))
        elif args.command == "subset":
            print(_subset(args, corpus))
        else:
            if args.n < 1:
                raise CorpusError(f"--n must be >= 1, got {args.n}")
            print(plot_examples(corpus, args.out, n=args.n, seed=args.seed))
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
