"""``python -m ssl_waveform.benchmark``: an alias of ``ssl-waveform benchmark`` (``ssl_waveform.cli.benchmark``)."""

import sys

from ssl_waveform.cli.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
