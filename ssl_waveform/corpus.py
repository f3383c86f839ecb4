"""``python -m ssl_waveform.corpus``: inspect, plot, verify and subset corpora.

The entry point only; the command line is ``ssl_waveform.cli.corpus``.
"""

import sys

from ssl_waveform.cli.corpus import main

if __name__ == "__main__":
    sys.exit(main())
