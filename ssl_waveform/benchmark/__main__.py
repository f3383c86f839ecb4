"""``python -m ssl_waveform.benchmark``: which initialisation to use, and how many labels are needed.

Runs (or resumes) the grid of a preset, writes ``results.csv``, ``report.md`` and PNG plots to ``--out`` and prints
the headline table (fine-tuned in-distribution accuracy by initialisation and labels per class). The same entry
point is ``benchmarks/initialisation_benchmark.py``.
"""

from __future__ import annotations

import argparse
import sys

from ssl_waveform.benchmark.presets import PRESETS
from ssl_waveform.benchmark.report import read_csv, summary
from ssl_waveform.benchmark.runner import BenchmarkConfig, run_benchmark


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ssl_waveform.benchmark", description=__doc__)
    p.add_argument("--preset", default="smoke", choices=sorted(PRESETS), help="default %(default)s")
    p.add_argument("--out", default="", help="results folder (default runs/benchmark_<preset>)")
    p.add_argument("--runs", default="runs", help="runs root (default %(default)s)")
    p.add_argument(
        "--imagenet-weights", help="local timm ConvNeXt ImageNet checkpoint for the ImageNet rows"
    )
    p.add_argument(
        "--external-data", default="", help="folder holding ITSC/ (default ../shared/external_data)"
    )
    p.add_argument("--seeds", type=int, nargs="*", default=[], help="override the preset's seeds")
    p.add_argument(
        "--cells",
        nargs="*",
        default=[],
        metavar="PATTERN",
        help="run only the cells whose name matches a shell pattern, e.g. 'finetune-*-b5-*' (default: all)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run no new cell: rebuild results.csv/report.md from the cells finished so far",
    )
    args = p.parse_args(argv)
    cfg = BenchmarkConfig(
        preset=args.preset,
        out=args.out,
        runs=args.runs,
        imagenet_weights=args.imagenet_weights,
        external_data=args.external_data,
        seeds=args.seeds,
        cells=args.cells,
    )
    out = run_benchmark(cfg, report_only=args.report_only)
    primary = PRESETS[args.preset].axes[0]
    print(summary(read_csv(out / "results.csv"), primary.encoder, primary.representation))
    print(f"results: {out / 'results.csv'}\nreport:  {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
