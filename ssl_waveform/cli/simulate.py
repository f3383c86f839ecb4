"""Write a simulated inverter corpus.

Usage::

    python -m ssl_waveform.simulate --out DIR --windows N [--labeled] [--seed S] [--pretraining]
        [--config YAML]

``--pretraining`` starts from the broad domain randomisation meant for unlabeled pretraining corpora
(every fault family, both control modes, miscalibrated sensors; ``SimConfig.pretraining``) instead of
the defaults; ``--config`` changes apply on top of either.

Shard k depends only on (seed, k), so the same seed gives the same corpus and an interrupted run
resumes where it stopped (complete shards are skipped).
"""

from __future__ import annotations

import argparse
import sys

from ssl_waveform._lock import FolderLockedError
from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.corpus import write_corpus


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and write the corpus."""
    ap = argparse.ArgumentParser(prog="python -m ssl_waveform.simulate", description=__doc__)
    ap.add_argument("--out", required=True, help="corpus folder (created; resumed if present)")
    ap.add_argument("--windows", type=int, required=True, help="number of windows")
    ap.add_argument(
        "--labeled", action="store_true", help="store class labels (families in config)"
    )
    ap.add_argument("--seed", type=int, default=0, help="corpus seed")
    ap.add_argument(
        "--pretraining",
        action="store_true",
        help="broad domain randomisation for unlabeled pretraining corpora (SimConfig.pretraining)",
    )
    ap.add_argument(
        "--config", help="YAML with changes to the SimConfig defaults (or to --pretraining's)"
    )
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = ap.parse_args(argv)
    base = SimConfig.pretraining() if args.pretraining else SimConfig()
    cfg = SimConfig.from_yaml(args.config, base=base) if args.config else base
    try:
        corpus = write_corpus(
            args.out, cfg, args.windows, args.seed, args.labeled, not args.no_progress
        )
    except (ValueError, FolderLockedError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {len(corpus)} windows to {args.out}")
