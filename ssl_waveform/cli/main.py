"""``ssl-waveform``: one console script with a subcommand per verb (also ``python -m ssl_waveform``).

    ssl-waveform simulate --out runs/corpus/unlabeled --windows 20000 --pretraining
    ssl-waveform pretrain mae --data runs/corpus/unlabeled
    ssl-waveform finetune --data runs/corpus/labeled --init convnext_atto_fold_simclr --labels-per-class 5
    ssl-waveform encoders

Each subcommand is the command line of the same name documented in docs/config.md (``python -m
ssl_waveform.<name>``, ``recipes/pretrain_<method>.py``); those forms keep working. ``ssl-waveform COMMAND --help``
prints a command's flags.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

# subcommand -> (module, function, one line of help); modules are imported only when their command runs
COMMANDS: dict[str, tuple[str, str, str]] = {
    "simulate": ("ssl_waveform.cli.simulate", "main", "write a simulated corpus"),
    "ingest": ("ssl_waveform.cli.ingest", "main", "turn recordings (CSV/NPZ/MAT) into a corpus"),
    "corpus": ("ssl_waveform.cli.corpus", "main", "inspect, plot, verify and subset corpora"),
    "pretrain": (
        "ssl_waveform.cli.pretrain",
        "main",
        "self-supervised pretraining: pretrain mae|simclr",
    ),
    "finetune": ("ssl_waveform.cli.finetune", "main", "fine-tune an encoder on labeled windows"),
    "predict": (
        "ssl_waveform.cli.predict",
        "main",
        "classify recordings with a fine-tuned classifier",
    ),
    "export": ("ssl_waveform.cli.export", "main", "export a classifier to ONNX"),
    "benchmark": ("ssl_waveform.cli.benchmark", "main", "run the initialisation benchmark"),
    "ablation": (
        "ssl_waveform.cli.ablation",
        "main",
        "run a named ablation: ablation NAME (--help lists them)",
    ),
    "quickstart": ("ssl_waveform.cli.quickstart", "main", "the main job on built-in defaults"),
    "encoders": (
        "ssl_waveform.cli.encoders",
        "main",
        "list the shipped pretrained encoders (NAME: card)",
    ),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "usage: ssl-waveform COMMAND [ARGS ...]\n\ncommands:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``) to a subcommand; returns its exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[name]
    run: Callable[[list[str]], int | None] = getattr(importlib.import_module(module), function)
    return run(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
