"""Command line of the recipes: ``[--config FILE.yaml] [key=value ...]`` onto a typed config dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

from .config_io import ConfigError, config_to_dict, load_config, valid_keys

T = TypeVar("T")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def parse_recipe_args(cls: type[T], argv: Sequence[str] | None, description: str) -> T:
    """Parse a recipe's command line into ``cls``; ``--help`` lists every key with its default.

    Exits with status 2 and a one-line message on a bad key, value or file.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    defaults = _flatten(config_to_dict(cls()))
    keys = "\n".join(f"  {k} = {defaults.get(k)!r}" for k in valid_keys(cls))
    parser = argparse.ArgumentParser(
        description=description,
        epilog=f"config keys (key=value overrides, dotted for nested):\n{keys}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML file holding changes to the defaults")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    try:
        return load_config(cls, args.config, args.overrides)
    except (ConfigError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
