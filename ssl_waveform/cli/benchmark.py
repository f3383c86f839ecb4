"""``ssl-waveform benchmark`` (also ``python -m ssl_waveform.benchmark``): which initialisation to use, and how many labels are needed.

Runs (or resumes) the grid of a preset, writes ``results.csv``, ``report.md`` and PNG plots to ``--out`` and prints
the headline table (fine-tuned in-distribution accuracy by initialisation and labels per class).
"""

from __future__ import annotations

from dataclasses import dataclass

from ssl_waveform.benchmark.presets import PRESETS
from ssl_waveform.benchmark.report import read_csv, summary
from ssl_waveform.benchmark.runner import BenchmarkConfig, run_benchmark
from ssl_waveform.config import parse


@dataclass
class BenchmarkArgs(BenchmarkConfig):
    """The benchmark's config and what the command does with it.

    Attributes:
        report_only: run no new cell: rebuild results.csv/report.md from the cells finished so far.
    """

    report_only: bool = False


def main(argv: list[str] | None = None) -> int:
    args = parse(BenchmarkArgs, argv, prog="ssl-waveform benchmark", description=__doc__)
    out = run_benchmark(args, report_only=args.report_only)
    primary = PRESETS[args.preset].axes[0]
    print(summary(read_csv(out / "results.csv"), primary.encoder, primary.representation))
    print(f"results: {out / 'results.csv'}\nreport:  {out / 'report.md'}")
    return 0
