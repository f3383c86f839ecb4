"""``ssl-waveform encoders [NAME]`` (also ``python -m ssl_waveform.zoo``): list the shipped encoders, or print one's
model card."""

from __future__ import annotations

import sys

from ssl_waveform.zoo import list_pretrained, model_card, pretrained_info


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return
    if args:
        try:
            print(model_card(args[0]))
        except (KeyError, FileNotFoundError, ValueError) as err:
            print(f"error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
            sys.exit(2)
        return
    names = list_pretrained()
    if not names:
        print("no shipped encoders in this install")
        return
    for name in names:
        print(f"{name}\t{pretrained_info(name).summary}")
