"""``python -m ssl_waveform.quickstart``: the main job on built-in defaults (``make quickstart``).

The entry point only; the command line is ``ssl_waveform.cli.quickstart``.
"""

import sys

from ssl_waveform.cli.quickstart import main

if __name__ == "__main__":
    sys.exit(main())
