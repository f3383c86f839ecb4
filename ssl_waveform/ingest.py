"""``python -m ssl_waveform.ingest``: convert recordings, or arrays of windows, into a corpus.

The entry point only; the command line is ``ssl_waveform.cli.ingest``.
"""

import sys

from ssl_waveform.cli.ingest import main

if __name__ == "__main__":
    sys.exit(main())
