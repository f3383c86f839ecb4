"""``ssl-waveform pretrain mae|simclr``: self-supervised pretraining of an encoder on an unlabeled corpus.

``accelerate launch recipes/pretrain_mae.py`` and ``recipes/pretrain_simclr.py`` are aliases of the two methods
(``recipe_main``), so one GPU, many GPUs or many nodes run the same command line.
"""

from __future__ import annotations

import sys

from ssl_waveform._cli import user_errors
from ssl_waveform.config import parse
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr

METHODS: dict[str, type[MAEConfig] | type[SimCLRConfig]] = {
    "mae": MAEConfig,
    "simclr": SimCLRConfig,
}


def recipe_main(
    cls: type[MAEConfig] | type[SimCLRConfig], argv: list[str] | None, prog: str, description: str
) -> None:
    """Parse the command line into ``cls``, pretrain, report; a user error (bad corpus, another run's folder, a
    locked folder) is one ``error:`` line and exit status 2."""
    cfg = parse(cls, argv, prog=prog, description=description)
    try:
        result = pretrain_mae(cfg) if isinstance(cfg, MAEConfig) else pretrain_simclr(cfg)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(
        f"done: {result.steps} steps (last epoch loss {result.loss}), encoder in {cfg.run_dir}/encoder"
    )


def main(argv: list[str] | None = None) -> int:
    """``ssl-waveform pretrain METHOD [flags]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in METHODS:
        got = f"{args[0]!r}" if args else "nothing"
        print(
            f"error: pretrain needs a method, one of {', '.join(METHODS)}; got {got}",
            file=sys.stderr,
        )
        return 2
    cls = METHODS[args[0]]
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    recipe_main(cls, args[1:], prog=f"ssl-waveform pretrain {args[0]}", description=doc)
    return 0
