"""Command line for corpora: inspect, verify, plot and subset them.

Opening a corpus checks every shard's size and shape against the manifest; verify (or info --verify) also
reads every window once, so HDF5 checks each chunk's checksum. subset writes the windows of some parts of
fine-tuning's split as a new corpus, e.g. every recording outside the test split for self-supervised
pretraining. Each subcommand's --help lists its options.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from tyro.conf import OmitArgPrefixes, OmitSubcommandPrefixes, Positional, arg, subcommand

from ssl_waveform.config import parse
from ssl_waveform.data import Corpus, CorpusError
from ssl_waveform.data.summary import describe, format_description, plot_examples
from ssl_waveform.serialize import ConfigError

SplitPart = Literal["train", "val", "test"]
CorpusDir = Annotated[Positional[Path], arg(metavar="DIR")]


@dataclass
class Info:
    """Summarise a corpus: windows, shards, rate, channels, class counts, per-channel statistics, size on disk.

    Attributes:
        dir: corpus folder
        json: print JSON instead of text
        verify: read every window once (checksums of corpora written since 2026-11-30 are checked)
    """

    dir: CorpusDir
    json: bool = False
    verify: bool = False


@dataclass
class Verify:
    """Check a corpus: every shard opens, sizes, counts and shapes match the manifest, checksums pass.

    Attributes:
        dir: corpus folder
    """

    dir: CorpusDir


@dataclass
class Plot:
    """Save a grid of example windows (one row per class when labeled).

    Attributes:
        dir: corpus folder
        n: windows (per class when labeled)
        out: image file (.png, .pdf, ...)
        seed: seed of the windows drawn
    """

    dir: CorpusDir
    out: Annotated[Path, arg(metavar="FILE")]
    n: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"--n must be >= 1, got {self.n}")


@dataclass
class Subset:
    """Write the windows of parts of fine-tuning's train/val/test split as a new corpus (same fractions, seed and
    grouping as python -m ssl_waveform.finetune by default, so the parts are that command's parts).

    Attributes:
        dir: labeled corpus
        out: new corpus folder (must not exist)
        parts: parts to keep
        unlabeled: drop the labels (a pretraining corpus)
        val_fraction: fraction of each class (of its recordings, when grouped) for validation
        test_fraction: fraction of each class for the test set
        split_seed: seed of the train/val/test split
        split_by: auto (the corpus's source recording when it has one), none, or a metadata field
    """

    dir: CorpusDir
    out: Annotated[Path, arg(metavar="NEW")]
    parts: Annotated[
        tuple[SplitPart, ...],
        arg(help_behavior_hint="(default: train val, i.e. everything outside the test split)"),
    ] = ("train", "val")
    unlabeled: bool = False
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    split_seed: int = 0
    split_by: str = "auto"

    def __post_init__(self) -> None:
        if not self.parts:
            raise ConfigError("--parts needs at least one of train, val, test")


Command = (
    Annotated[Info, subcommand(name="info")]
    | Annotated[Verify, subcommand(name="verify")]
    | Annotated[Plot, subcommand(name="plot")]
    | Annotated[Subset, subcommand(name="subset")]
)


@dataclass
class CorpusArgs:
    """Arguments of ``python -m ssl_waveform.corpus``.

    Attributes:
        command: what to do with the corpus
    """

    command: OmitArgPrefixes[OmitSubcommandPrefixes[Command]]


def _subset(args: Subset, corpus: Corpus) -> str:
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
    return (
        f"{args.out}: {idx.size} of {corpus.num_windows} windows ({', '.join(args.parts)}; {kind})"
    )


def _run(command: Info | Verify | Plot | Subset) -> str:
    """Do ``command``; returns what to print."""
    corpus = Corpus(command.dir)
    if isinstance(command, Verify):
        corpus.verify()
        return (
            f"{corpus.root}: ok ({corpus.num_windows} windows in {len(corpus.shards)} shard(s), every chunk "
            "read and its checksum checked)"
        )
    if isinstance(command, Info):
        if command.verify:
            corpus.verify()
        d = describe(corpus)
        return json.dumps(d, indent=2) if command.json else format_description(d)
    if isinstance(command, Subset):
        return _subset(command, corpus)
    return str(plot_examples(corpus, command.out, n=command.n, seed=command.seed))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 on a corpus error, with the message on stderr)."""
    args = parse(CorpusArgs, argv, prog="ssl-waveform corpus", description=__doc__)
    try:
        print(_run(args.command))
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
