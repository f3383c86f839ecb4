"""The initialisation benchmark: MAE vs SimCLR vs ImageNet vs scratch (and a classical floor) by labels per class.

Same flags as ``python -m ssl_waveform.benchmark`` (this script is that entry point, kept with the other
benchmark scripts). Prints the headline table; the full report, CSV and plots land in ``--out``.

    python benchmarks/initialisation_benchmark.py --preset smoke           # ~2 min, checks the pipeline
    python benchmarks/initialisation_benchmark.py --preset cpu             # ~2.5 h on 2 CPU cores, resumable
    python benchmarks/initialisation_benchmark.py --preset cpu --report-only
"""

from __future__ import annotations

import sys

from ssl_waveform.benchmark.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
