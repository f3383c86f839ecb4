"""Typed dataclass configs: YAML files holding only changes, ``key=value`` CLI overrides, saving.

A recipe declares one dataclass (fields may be nested dataclasses such as ``engine: EngineConfig``)
whose defaults are a sensible run. :func:`load_config` starts from those defaults, applies a YAML
file, then dotted ``key=value`` overrides, checking every value against the field's type.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ssl_waveform._atomic import atomic_write_text

T = TypeVar("T")
_NULL_WORDS = ("null", "none", "~", "")


class ConfigError(ValueError):
    """A config value or key is invalid; the message names the source and the valid choices."""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def valid_keys(cls: type, prefix: str = "") -> list[str]:
    """All dotted keys a config dataclass accepts, nested dataclasses expanded.

    Args:
        cls: A dataclass type.
        prefix: Prepended to every key (used for recursion).

    Returns:
        Sorted list such as ``["engine.base_lr", ..., "seed"]``.
    """
    keys = []
    for name, tp in _hints(cls).items():
        inner = _dataclass_type(tp)
        if inner is not None:
            keys.extend(valid_keys(inner, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return sorted(keys)


def _dataclass_type(tp: Any) -> type | None:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against annotation ``tp`` and return it converted (int->float, list->tuple)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    fail = ConfigError(
        f"{where}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})"
    )
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise fail
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: expected one of {list(args)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise fail
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            # YAML 1.1 reads "3e-4" (no dot) as a string; accept what Python reads as a float.
            try:
                return float(value)
            except ValueError:
                raise fail from None
        raise fail
    if tp is str:
        if isinstance(value, str):
            return value
        raise fail
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise fail
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise fail
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}: {value!r}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise fail
        return (
            [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
            if args
            else list(value)
        )
    if origin is dict:
        if not isinstance(value, Mapping):
            raise fail
        if not args:
            return dict(value)
        return {
            _coerce(k, args[0], f"{where} key"): _coerce(v, args[1], f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise fail
    raise ConfigError(f"{where}: field type {tp!r} is not supported by the config loader")


def _merge(cfg: T, changes: Mapping[str, Any], source: str, prefix: str = "") -> T:
    """Return a copy of dataclass ``cfg`` with the (possibly nested, partial) ``changes`` applied."""
    if not isinstance(changes, Mapping):
        raise ConfigError(
            f"{source}: {prefix.rstrip('.') or 'top level'} must be a mapping, got {changes!r}"
        )
    hints = _hints(type(cfg))
    updates = {}
    for key, value in changes.items():
        dotted = f"{prefix}{key}"
        if key not in hints:
            raise ConfigError(
                f"{source}: unknown key {dotted!r} for {type(cfg).__name__}; valid keys: "
                + ", ".join(valid_keys(type(cfg), prefix))
            )
        inner = _dataclass_type(hints[key])
        if inner is not None:
            updates[key] = _merge(getattr(cfg, key), value, source, f"{dotted}.")
        else:
            updates[key] = _coerce(value, hints[key], f"{source}: {dotted}")
    try:
        return dataclasses.replace(cfg, **updates)  # type: ignore[type-var]
    except ValueError as err:
        raise ConfigError(f"{source}: {err}") from err


def _leaf_type(cls: type, dotted: str, source: str) -> Any:
    tp: Any = cls
    for part in dotted.split("."):
        inner = _dataclass_type(tp)
        hints = _hints(inner) if inner is not None else {}
        if part not in hints:
            raise ConfigError(
                f"{source}: unknown key {dotted!r} for {cls.__name__}; valid keys: "
                + ", ".join(valid_keys(cls))
            )
        tp = hints[part]
    return tp


def _is_str_like(tp: Any) -> bool:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_str_like(a) for a in args if a is not type(None))
    return tp in (str, Path)


def parse_override(cls: type, text: str) -> dict[str, Any]:
    """Parse one ``dotted.key=value`` override into a nested mapping for :func:`load_config`.

    The value is read as YAML (``3``, ``1e-3``, ``true``, ``[0.9, 0.95]``, ``null``), except for
    string fields, which take the text verbatim (``null``/``none`` still mean None when allowed).

    Args:
        cls: The config dataclass the key refers to.
        text: The override, e.g. ``"engine.base_lr=3e-4"``.

    Returns:
        Nested mapping such as ``{"engine": {"base_lr": 3e-4}}``.

    Raises:
        ConfigError: If ``=`` is missing, the key is unknown (message lists valid keys) or the value
            is not valid YAML.
    """
    source = f"override {text!r}"
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{source}: expected key=value, e.g. engine.epochs=5")
    tp = _leaf_type(cls, key, source)
    value: Any
    if _is_str_like(tp) and not (raw.strip().lower() in _NULL_WORDS and _allows_none(tp)):
        value = raw
    else:
        try:
            value = yaml.safe_load(raw) if raw.strip().lower() != "none" else None
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: value is not valid YAML ({err})") from err
    nested: dict[str, Any] = {}
    node = nested
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def _allows_none(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def load_config(
    cls: type[T], yaml_path: str | Path | None = None, overrides: Iterable[str] = ()
) -> T:
    """Build a config: dataclass defaults, then a YAML file of changes, then CLI overrides.

    Args:
        cls: The config dataclass (its field defaults are the base run).
        yaml_path: Optional YAML file holding only the keys that change (nested mappings for
            nested dataclasses). An empty file is allowed.
        overrides: ``dotted.key=value`` strings applied in order after the file.

    Returns:
        A validated instance of ``cls``.

    Raises:
        ConfigError: Unknown key (listing valid keys), wrong type, or a value the dataclass
            rejects; the message names the file or the override.
        FileNotFoundError: If ``yaml_path`` does not exist.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"load_config: {cls!r} is not a dataclass type")
    cfg = cls()
    if yaml_path is not None:
        path = Path(yaml_path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path}: not valid YAML ({err})") from err
        cfg = _merge(cfg, data, f"config file {path}")
    for text in overrides:
        cfg = _merge(cfg, parse_override(cls, text), f"override {text!r}")
    return cfg


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-data view of a config dataclass (tuples -> lists, paths -> str), for YAML/JSON.

    Args:
        cfg: A dataclass instance, possibly nested.

    Returns:
        A dict of built-in types only, readable back by :func:`load_config`.
    """
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict: expected a dataclass instance, got {type(cfg).__name__}")
    return {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config atomically as YAML (``.yaml``/``.yml``) or JSON (``.json``).

    Args:
        cfg: A dataclass instance.
        path: Destination file; its suffix picks the format.

    Returns:
        The written path.
    """
    path = Path(path)
    data = config_to_dict(cfg)
    if path.suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    elif path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        raise ValueError(f"save_config: {path} must end in .yaml, .yml or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path
