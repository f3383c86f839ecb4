"""Write a simulated inverter corpus.

Usage::

    python -m ssl_waveform.simulate --out DIR --windows N [--labeled] [--seed S] [--pretraining]
        [--config YAML] [--sim.FIELD VALUE ...]

``--pretraining`` starts from the broad domain randomisation meant for unlabeled pretraining corpora
(every fault family, both control modes, miscalibrated sensors; ``SimConfig.pretraining``) instead of
the defaults; ``--config`` (a YAML file of ``SimConfig`` changes) and ``--sim.*`` flags apply on top of either.

Shard k depends only on (seed, k), so the same seed gives the same corpus and an interrupted run
resumes where it stopped (complete shards are skipped).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from tyro import MISSING

from ssl_waveform._lock import FolderLockedError
from ssl_waveform.config import parse
from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.corpus import write_corpus


@dataclass
class SimulateArgs:
    """Arguments of ``python -m ssl_waveform.simulate``.

    Attributes:
        out: corpus folder (created; resumed if present).
        windows: number of windows.
        labeled: store class labels (the families in ``sim.families``).
        seed: corpus seed.
        pretraining: start from the broad domain randomisation for unlabeled pretraining corpora
            (``SimConfig.pretraining``) instead of the defaults.
        progress: show a progress bar.
        sim: what the corpus contains (``SimConfig``; docs/simulator.md).
    """

    out: str
    windows: int
    labeled: bool = False
    seed: int = 0
    pretraining: bool = False
    progress: bool = True
    sim: SimConfig = field(default_factory=SimConfig)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and write the corpus."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def parsed(start: SimConfig) -> SimulateArgs:
        return parse(
            SimulateArgs,
            argv,
            prog="ssl-waveform simulate",
            description=__doc__,
            default=SimulateArgs(out=MISSING, windows=MISSING, sim=start),  # type: ignore[arg-type]
            config_under="sim",
        )

    args = parsed(SimConfig())
    if args.pretraining:  # the broad randomisation is the start that --config and --sim.* change
        args = parsed(SimConfig.pretraining())
    try:
        corpus = write_corpus(
            args.out, args.sim, args.windows, args.seed, args.labeled, args.progress
        )
    except (ValueError, FolderLockedError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {len(corpus)} windows to {args.out}")
