"""``ssl-waveform ablation NAME [flags]``: run one of the registered ablations (``ssl_waveform.benchmark.ablations``).

``ssl-waveform ablation --help`` lists them; ``ssl-waveform ablation NAME --help`` prints one's flags.
"""

from __future__ import annotations

import sys

from ssl_waveform.benchmark.ablations import ABLATIONS, AblationError, get_ablation
from ssl_waveform.config import parse


def _usage() -> str:
    width = max(map(len, ABLATIONS))
    lines = [f"  {name:<{width}}  {a.help}" for name, a in ABLATIONS.items()]
    return "usage: ssl-waveform ablation NAME [FLAGS ...]\n\nablations:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run ``argv`` = ``[NAME, *flags]`` (default ``sys.argv[1:]``); returns the exit status.

    No name prints the list of ablations (status 2), ``--help`` too (status 0); an unknown name or an
    :class:`AblationError` is one ``error:`` line on stderr and status 2.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    try:
        ablation = get_ablation(name)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    cfg = parse(
        ablation.config, rest, prog=f"ssl-waveform ablation {name}", description=ablation.doc
    )
    try:
        ablation.run(cfg)
    except AblationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
