"""``python -m ssl_waveform COMMAND``: the same as the ``ssl-waveform`` console script."""

import sys

from ssl_waveform.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
