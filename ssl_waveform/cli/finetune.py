"""``ssl-waveform finetune`` (also ``python -m ssl_waveform.finetune``): fine-tune an encoder on a labeled corpus.

With no arguments it fine-tunes the newest pretrained encoder under runs/ (or a scratch encoder when there is
none) on a built-in simulated labeled set. Every field of FinetuneConfig is a flag, e.g. --labels-per-class 5 or
--engine.base-lr 1e-3 (docs/finetune.md, docs/config.md).
"""

from __future__ import annotations

import sys

from ssl_waveform._cli import user_errors
from ssl_waveform.config import parse
from ssl_waveform.finetune.run import FinetuneConfig, finetune


def main(argv: list[str] | None = None) -> int:
    cfg = parse(FinetuneConfig, argv, prog="ssl-waveform finetune", description=__doc__)
    try:
        finetune(cfg)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
