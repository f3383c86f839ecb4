"""``python -m ssl_waveform.finetune``: an alias of ``ssl-waveform finetune`` (``ssl_waveform.cli.finetune``)."""

import sys

from ssl_waveform.cli.finetune import main

if __name__ == "__main__":
    sys.exit(main())
