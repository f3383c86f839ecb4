"""One config system for every entry point: typed dataclasses parsed by tyro.

Every command (recipes, ``python -m ssl_waveform.<command>``, benchmarks) declares a dataclass whose defaults
are a sensible run, with ``Literal`` types where a field has a fixed set of choices, and calls :func:`parse`.
tyro (https://github.com/brentyi/tyro) builds the command line from the dataclass: ``--field value`` flags
(``--engine.epochs 5`` for nested dataclasses, ``--flag`` / ``--no-flag`` for booleans), choices and help from
the docstrings, and is the only code that converts and checks values. Two more ways in are turned into the same
flags before tyro sees them:

* ``--config FILE.yaml``: a YAML file holding only the changes to the defaults (nested mappings for nested
  dataclasses), e.g. ``recipes/configs/mae_gpu.yaml``;
* ``key=value`` words with dotted keys (``engine.epochs=5 data=runs/corpus``), the recipes' short form; the
  value is read as YAML (``[0.9, 0.95]``, ``true``, ``null``) except for text fields, which take it verbatim.

Order: defaults, then the YAML file, then the command line. :func:`load_config` does the same from Python and
raises :class:`ConfigError` instead of exiting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ssl_waveform._atomic import atomic_write_text

T = TypeVar("T")
_NULL_WORDS = ("null", "none", "~")
_KEY_VALUE = re.compile(r"^[A-Za-z_][\w.-]*=")


class ConfigError(ValueError):
    """A config value or key is invalid; the message names the source (file or override) and the field."""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=False)


def _dataclass_type(tp: Any) -> type | None:
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def valid_keys(cls: type, prefix: str = "") -> list[str]:
    """All dotted keys a config dataclass accepts, nested dataclasses expanded, e.g. ``["engine.base_lr", ...]``."""
    keys = []
    for name, tp in _hints(cls).items():
        inner = _dataclass_type(tp)
        keys.extend(valid_keys(inner, f"{prefix}{name}.") if inner else [f"{prefix}{name}"])
    return sorted(keys)


def _leaf_type(cls: type, dotted: str) -> Any | None:
    """The annotation of ``dotted`` in ``cls``; None for a key ``cls`` does not have (tyro reports it)."""
    tp: Any = cls
    for part in dotted.split("."):
        inner = _dataclass_type(tp)
        if inner is None:
            return None
        tp = _hints(inner).get(part.replace("-", "_"))
        if tp is None:
            return None
    return tp


def _options(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(tp) if a is not type(None))
    return (tp,)


def _is_text(tp: Any) -> bool:
    return any(o in (str, Path) for o in _options(tp))


def _is_bool(tp: Any) -> bool:
    return _options(tp) == (bool,)


def _is_word_choice(tp: Any) -> bool:
    """A ``Literal`` of strings (``mixed_precision``: ``no`` is a choice, not YAML's false)."""
    return any(
        typing.get_origin(o) is typing.Literal
        and all(isinstance(a, str) for a in typing.get_args(o))
        for o in _options(tp)
    )


def _items_type(tp: Any) -> Any | None:
    """The item type of a ``tuple[X, ...]`` / ``list[X]`` field, None for other fields."""
    for o in _options(tp):
        args = typing.get_args(o)
        if (
            typing.get_origin(o) in (tuple, list)
            and args
            and (len(args) == 1 or args[1] is Ellipsis)
        ):
            return args[0]
    return None


def _word(value: Any) -> str:
    return "None" if value is None else str(value)


def _flag_words(dotted: str, value: Any, tp: Any, source: str) -> list[str]:
    """The command-line words that set ``dotted`` to ``value`` (a YAML-typed value)."""
    *prefix, leaf = dotted.replace("_", "-").split(".")
    head = "".join(f"{p}." for p in prefix)
    if _is_bool(tp):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {dotted} expects true or false, got {value!r}")
        return [f"--{head}{leaf}" if value else f"--{head}no-{leaf}"]
    if isinstance(value, bool) and _is_word_choice(tp):
        raise ConfigError(
            f"{source}: {dotted}: YAML reads {value!r} from yes/no/on/off; quote the choice, e.g. '\"no\"'"
        )
    if value is None and type(None) not in typing.get_args(tp):
        raise ConfigError(f"{source}: {dotted} cannot be null")
    if _dataclass_type(tp) is not None:
        raise ConfigError(f"{source}: {dotted} must be a mapping of its keys, got {value!r}")
    flag = f"--{head}{leaf}"
    if isinstance(value, Mapping):
        return [flag, *(w for k, v in value.items() for w in (_word(k), _word(v)))]
    if isinstance(value, (list, tuple)):
        return [flag, *(_word(v) for v in value)]
    return [f"{flag}={_word(value)}"]  # one word: a value may start with "-"


def _mapping_words(cls: type, changes: Any, source: str, prefix: str = "") -> list[str]:
    """Words for a (nested, partial) mapping of changes, as read from a YAML file."""
    if not isinstance(changes, Mapping):
        where = prefix.rstrip(".") or "top level"
        raise ConfigError(f"{source}: {where} must be a mapping of keys, got {changes!r}")
    words: list[str] = []
    for key, value in changes.items():
        dotted = f"{prefix}{key}"
        tp = _leaf_type(cls, dotted)
        if tp is None:
            raise _unknown(cls, dotted, source)
        if _dataclass_type(tp) is not None and isinstance(value, Mapping):
            words += _mapping_words(cls, value, source, f"{dotted}.")
        else:
            words += _flag_words(dotted, value, tp, source)
    return words


def _unknown(cls: type, dotted: str, source: str) -> ConfigError:
    return ConfigError(
        f"{source}: unknown key {dotted!r} for {cls.__name__}; valid keys: "
        + ", ".join(valid_keys(cls))
    )


def _override_value(tp: Any, raw: str, source: str) -> Any:
    """The value of ``key=raw``: YAML, except text and word choices taken verbatim (``no``, ``*-b5-*``)."""
    if raw.strip().lower() in _NULL_WORDS and type(None) in typing.get_args(tp):
        return None
    items = _items_type(tp)
    if not raw.lstrip().startswith("["):
        if _is_text(tp) or _is_word_choice(tp):
            return raw
        if items is not None and (_is_text(items) or _is_word_choice(items)):
            return [raw]
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: value is not valid YAML ({err})") from err
    if items is not None and not isinstance(value, list):
        return [value]
    return raw if value is None and raw.strip() == "" else value


def _override_words(cls: type, text: str) -> list[str]:
    """Words for one ``dotted.key=value`` override."""
    key, sep, raw = text.partition("=")
    source = f"override {text!r}"
    if not sep or not _KEY_VALUE.match(text):
        raise ConfigError(f"{source}: expected key=value, e.g. engine.epochs=5")
    tp = _leaf_type(cls, key)
    if tp is None:
        raise _unknown(cls, key, source)
    return _flag_words(key, _override_value(tp, raw, source), tp, source)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _takes_free_words(cls: type) -> bool:
    """True when ``cls`` has positional fields or subcommands: a ``name=value`` word may then be one of their
    values (a file called ``run=3``), so only words naming a field of ``cls`` are read as ``key=value``."""
    import tyro

    for tp in typing.get_type_hints(cls, include_extras=True).values():
        if typing.get_origin(tp) is typing.Annotated and tyro.conf.Positional in typing.get_args(
            tp
        ):
            return True
        if sum(_dataclass_type(_unwrap(o)) is not None for o in _options(_unwrap(tp))) > 1:
            return True
    return False


# short flags for the engine fields one sets most, in every command whose config nests an ``engine``
ENGINE_SHORT_FLAGS = (
    "epochs",
    "batch_size",
    "base_lr",
    "warmup_epochs",
    "warmup_steps",
    "mixed_precision",
    "seed",
)


def _short_flags(cls: type) -> dict[str, str]:
    """``{"--epochs": "--engine.epochs", ...}`` when ``cls`` nests an ``engine`` and has no such field itself."""
    hints = _hints(cls)
    if _dataclass_type(hints.get("engine")) is None:
        return {}
    out = {}
    for name in ENGINE_SHORT_FLAGS:
        if name not in hints:
            for spelling in {name, name.replace("_", "-")}:
                out[f"--{spelling}"] = f"--engine.{name.replace('_', '-')}"
    return out


def _split_argv(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--config FILE`` taken out of ``argv``; the rest as given."""
    config, rest, it = None, [], iter(argv)
    for word in it:
        if word == "--config":
            config = next(it, None)
            if config is None:
                raise ConfigError("--config needs a YAML file")
        elif word.startswith("--config="):
            config = word.partition("=")[2]
        else:
            rest.append(word)
    return config, rest


def _yaml_changes(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path}: not valid YAML ({err})") from err


def _clean(text: str) -> str:
    """tyro's boxed error message as plain lines, without the box and the pointer to ``--help``."""
    lines = []
    for line in text.splitlines():
        line = line.strip().strip("│╭╮╰╯─").strip()
        if line.startswith(("Argument helptext", "For full helptext")):
            break
        if line and not set(line) <= set("-─ "):
            lines.append(line)
    return " ".join(lines[1:] or lines)  # the first line is the box's title ("Value error")


def _tyro(cls: type[T], words: list[str], default: T | None, prog: str, description: str) -> T:
    import tyro

    cfg = tyro.cli(cls, args=words, default=default, prog=prog, description=description)
    return typing.cast(T, cfg)


class _Words:
    """The words tyro parses, and for each flag set by a file or a ``key=value`` word, where it came from."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.origin: dict[str, str] = {}

    def add(self, words: list[str], source: str | None = None) -> None:
        self.words += words
        for word in words:
            if source and word.startswith("--"):
                self.origin[word.partition("=")[0]] = source

    def blame(self, message: str) -> str:
        """``message`` prefixed with the source of the flag it names, when a file or override set it."""
        for flag, source in self.origin.items():
            if re.search(re.escape(flag) + r"(?![\w-])", message):
                return f"{source}: {message}"
        return message


def _file_words(cls: type, words: _Words, path: str | Path, under: str | None) -> None:
    source = f"config file {path}"
    changes = _yaml_changes(path)
    words.add(_mapping_words(cls, {under: changes} if under else changes, source), source)


def _quiet(cls: type[T], words: _Words, default: T | None) -> T:
    """Parse with tyro, turning its exit on a bad value into a :class:`ConfigError` naming the source."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(buf):
            return _tyro(cls, words.words, default, "config", "")
    except SystemExit as exc:
        raise ConfigError(words.blame(_clean(buf.getvalue()) or str(exc))) from None


def load_config(
    cls: type[T],
    yaml_path: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    base: T | None = None,
    under: str | None = None,
) -> T:
    """Build a config from Python: ``base`` (default: the dataclass defaults), a YAML file of changes, overrides.

    Args:
        cls: The config dataclass.
        yaml_path: Optional YAML file holding only the keys that change. An empty file is allowed.
        overrides: ``dotted.key=value`` strings applied after the file (all together).
        base: Start from this instance instead of ``cls()``.
        under: The YAML file's keys are those of this (nested dataclass) field of ``cls``, e.g. ``"sim"``.

    Returns:
        A validated instance of ``cls``.

    Raises:
        ConfigError: Unknown key, wrong type or a value the dataclass rejects; the message names the file or
            the override and the field.
        FileNotFoundError: If ``yaml_path`` does not exist.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"load_config: {cls!r} is not a dataclass type")
    words = _Words()
    if yaml_path is not None:
        _file_words(cls, words, yaml_path, under)
    for text in overrides:
        words.add(_override_words(cls, text), f"override {text!r}")
    return _quiet(cls, words, base)


def _command_words(
    cls: type, argv: list[str], config_under: str | None, free: bool, short: dict[str, str]
) -> _Words:
    """The command line as tyro's words: the ``--config`` file's changes first, then the rest, with
    ``key=value`` words and ``short`` engine flags turned into flags (``free``: see :func:`_takes_free_words`)."""
    config_file, rest = _split_argv(argv)
    words = _Words()
    if config_file is not None:
        _file_words(cls, words, config_file, config_under)
    previous = ""
    for word in rest:
        flag, eq, value = word.partition("=")
        if flag in short:
            words.add([f"{short[flag]}={value}"] if eq else [short[flag]])
        elif _KEY_VALUE.match(word) and _leaf_type(cls, flag) is not None:
            words.add(_override_words(cls, word), f"override {word!r}")
        elif _KEY_VALUE.match(word) and not free and not previous.startswith("-"):
            raise _unknown(cls, flag, f"override {word!r}")  # not the value of an option before it
        else:
            words.add([word])
        previous = word
    return words


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

    ``--help`` lists every field with its type, choices, default and docstring. ``--config FILE.yaml`` and
    dotted ``key=value`` words are accepted beside the flags (module docstring). Exits with status 2 and one
    ``error: ...`` line naming the field (and the file or override that set it) on a bad key or value.

    Args:
        cls: The config dataclass.
        argv: The arguments (default ``sys.argv[1:]``).
        prog: Program name shown in the usage line.
        description: Text shown above the options (default: the dataclass's docstring).
        default: Start from this instance instead of ``cls()``.
        config_under: ``--config`` files hold the keys of this nested field (``"sim"`` for ``simulate``).
    """
    free, short = _takes_free_words(cls), _short_flags(cls)
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        words = _command_words(cls, argv, config_under, free, short)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    text = description if description is not None else (cls.__doc__ or "")
    if not free:
        example = max(valid_keys(cls), key=lambda k: k.count("."))
        target = f"the {config_under} settings" if config_under else "the defaults"
        text += (
            "\n\nOptions can also be given as key=value words with the field's dotted name "
            f"({example}=...), and --config FILE.yaml applies a YAML file of changes to {target} first."
        )
    if short:
        names = ", ".join(sorted(f for f in short if "_" not in f))
        text += f"\n\nShort flags: {names} stand for the same --engine.* options."
    # tyro reports a bad value and a dataclass's own check (__post_init__) in a box and exits with status 2;
    # the box becomes one "error: ..." line, as for the errors above
    box = io.StringIO()
    try:
        with contextlib.redirect_stderr(box):
            cfg = _tyro(cls, words.words, default, prog or Path(sys.argv[0]).name, text)
    except SystemExit as exc:
        if exc.code not in (0, None):
            print(f"error: {words.blame(_clean(box.getvalue()))}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    sys.stderr.write(box.getvalue())  # warnings, if any
    return cfg


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-data view of a config dataclass (tuples -> lists, paths -> str), readable back by :func:`load_config`."""
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
    """Write the resolved config atomically as YAML (``.yaml``/``.yml``) or JSON (``.json``); returns ``path``."""
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
