"""Config dataclasses as plain data and back: the one place a config is written, read or compared.

* :func:`to_dict` / :func:`save_config`: plain data (tuples -> lists, paths -> str) for ``config.yaml``,
  ``config.json`` and the engine's comparison of a rerun's settings with the run folder's.
* :func:`with_changes` / :func:`load_config`: a dataclass from a (nested, partial) mapping of changes, such as
  a YAML file holds. dacite (https://github.com/konradhalas/dacite) builds and type-checks it: an unknown key,
  a wrong type or a choice outside a ``Literal`` raises :class:`ConfigError` naming the source and the field.
  The only conversions are dacite's declared casts: list -> tuple, text -> path, a number to a ``float``
  field (YAML 1.1 reads ``1e-3`` as text), and text to an :class:`~ssl_waveform.identity.Init` (``Init.parse``).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ssl_waveform._atomic import atomic_write_text
from ssl_waveform.identity import Init

T = TypeVar("T")


class ConfigError(Exception):
    """A config key or value is invalid; the message names the source (file, flag) and the field.

    Not a ``ValueError`` on purpose: tyro reports a ``ValueError`` raised while it builds a config in its own
    box, whereas a ``ConfigError`` from a dataclass's checks reaches the command line's one ``error:`` line.
    """


def _float(value: Any) -> Any:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value  # dacite then names the field and the value
    return value


def _dacite_config() -> Any:
    import dacite

    return dacite.Config(
        strict=True, cast=[tuple, Path], type_hooks={float: _float, Init: Init.parse}
    )


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-data view of a config dataclass, readable back by :func:`with_changes`."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"to_dict: expected a dataclass instance, got {type(cfg).__name__}")
    return {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def _plain(value: Any) -> Any:
    if isinstance(value, Init):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Path) else value


def _defaults(cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that have defaults, as plain data."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = _plain(f.default_factory())
    return out


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        out[key] = (
            _merge(old, value) if isinstance(old, dict) and isinstance(value, Mapping) else value
        )
    return out


def valid_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key a config dataclass accepts, nested dataclasses expanded (``engine.base_lr``, ...)."""
    keys = []
    for name, tp in typing.get_type_hints(cls).items():
        nested = isinstance(tp, type) and dataclasses.is_dataclass(tp)
        keys.extend(valid_keys(tp, f"{prefix}{name}.") if nested else [f"{prefix}{name}"])
    return sorted(keys)


def with_changes(cls: type[T], changes: Any, *, base: T | None = None, source: str = "config") -> T:
    """``base`` (default: the defaults of ``cls``) with a nested, partial mapping of ``changes`` applied.

    Raises:
        ConfigError: ``changes`` is not a mapping, names an unknown key, gives a wrong type or a value the
            dataclass's own checks reject; the message starts with ``source``.
    """
    import dacite

    if not isinstance(changes, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys, got {changes!r}")
    start = _defaults(cls) if base is None else to_dict(base)
    try:
        return dacite.from_dict(cls, _merge(start, changes), _dacite_config())
    except dacite.UnexpectedDataError as err:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(sorted(map(repr, err.keys)))} for {cls.__name__}; "
            f"valid keys: {', '.join(valid_keys(cls))}"
        ) from None
    except (dacite.DaciteError, ConfigError, ValueError, TypeError) as err:
        raise ConfigError(f"{source}: {err}") from None


def read_changes(path: str | Path) -> Any:
    """The mapping a YAML file of config changes holds (an empty file is no change)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path}: not valid YAML ({err})") from None


def load_config(
    cls: type[T],
    yaml_path: str | Path | None = None,
    *,
    base: T | None = None,
) -> T:
    """A config from Python: ``base`` (default: the defaults) with a YAML file of changes applied.

    Args:
        cls: The config dataclass.
        yaml_path: YAML file holding only the keys that change; None applies none.
        base: Start from this instance instead of the defaults.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"load_config: {cls!r} is not a dataclass type")
    if yaml_path is None:
        return with_changes(cls, {}, base=base)
    return with_changes(cls, read_changes(yaml_path), base=base, source=f"config file {yaml_path}")


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write a config atomically as YAML (``.yaml``/``.yml``) or JSON (``.json``); returns ``path``."""
    path = Path(path)
    data = to_dict(cfg)
    if path.suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    elif path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        raise ValueError(f"save_config: {path} must end in .yaml, .yml or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path
