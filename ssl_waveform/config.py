"""The command line of every subcommand: one typed dataclass, parsed by tyro.

Every command declares a dataclass whose defaults are a sensible run, with ``Literal`` types where a field has
a fixed set of choices, and calls :func:`parse`. tyro (https://github.com/brentyi/tyro) builds the command line
from it and converts and checks every flag: ``--field value`` (``--engine.epochs 5`` for nested dataclasses,
``--flag`` / ``--no-flag`` for booleans), choices and help from the docstrings. One more way in:

* ``--config FILE.yaml``: a YAML file holding only the changes to the defaults (nested mappings for nested
  dataclasses), e.g. ``recipes/configs/mae_gpu.yaml``. It is read by :mod:`ssl_waveform.serialize` into a
  config instance, which tyro takes as its defaults (``tyro.cli(default=...)``); flags then apply on top.

Errors: a flag tyro cannot parse is reported by tyro (its message box, exit status 2); a value the dataclass's
own checks reject (:class:`ConfigError`) and a bad config file end in one ``error: ...`` line, exit status 2.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from ssl_waveform.serialize import ConfigError, load_config, save_config, to_dict, valid_keys

__all__ = [
    "ConfigError",
    "config_to_dict",
    "load_config",
    "parse",
    "save_config",
    "valid_keys",
]

T = TypeVar("T")
config_to_dict = to_dict
CONFIG_HELP = "--config FILE.yaml applies a YAML file of changes to {target} before the flags."


def _take_config(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--config FILE`` taken out of ``argv``; the other words as given."""
    config, rest, words = None, [], iter(argv)
    for word in words:
        if word == "--config":
            config = next(words, None)
            if config is None:
                raise ConfigError("--config needs a YAML file")
        elif word.startswith("--config="):
            config = word.partition("=")[2]
        else:
            rest.append(word)
    return config, rest


def _file_default(cls: type[T], path: str, default: T | None, under: str | None) -> T:
    """The defaults tyro starts from: ``default`` (or the defaults of ``cls``) with the file's changes."""
    if not under:
        return load_config(cls, path, base=default)
    nested_cls = typing.get_type_hints(cls)[under]
    nested = load_config(nested_cls, path, base=getattr(default, under, None))
    # a command with required fields passes a default holding tyro.MISSING for them (simulate)
    return dataclasses.replace(default if default is not None else cls(), **{under: nested})  # type: ignore[type-var]


def parse(
    cls: type[T],
    argv: Sequence[str] | None = None,
    *,
    prog: str | None = None,
    description: str | None = None,
    default: T | None = None,
    config_under: str | None = None,
) -> T:
    """Parse a command line into ``cls``: the one entry-point parser of the library.

    Args:
        cls: The config dataclass.
        argv: The arguments (default ``sys.argv[1:]``).
        prog: Program name shown in the usage line.
        description: Text shown above the options (default: the dataclass's docstring).
        default: Start from this instance instead of the defaults of ``cls``.
        config_under: ``--config`` files hold the keys of this nested field (``"sim"`` for ``simulate``).
    """
    import tyro

    text = description if description is not None else (cls.__doc__ or "")
    target = f"the {config_under} settings" if config_under else "the defaults"
    text += "\n\n" + CONFIG_HELP.format(target=target)
    try:
        config_file, words = _take_config(list(sys.argv[1:] if argv is None else argv))
        if config_file is not None:
            default = _file_default(cls, config_file, default, config_under)
        cfg = tyro.cli(
            cls, args=words, default=default, prog=prog or Path(sys.argv[0]).name, description=text
        )
        return typing.cast(T, cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
