"""Shipped pretrained encoders, by name: weights, checksums and model cards inside the package, loaded offline.

Each shipped encoder is a folder ``ssl_waveform/zoo/<name>/`` holding what :meth:`Encoder.save` writes
(``model.safetensors``, fp16 to keep the package small, and ``config.json``) plus ``MODEL_CARD.md``. The
registry ``registry.json`` beside this file lists every name with its summary and the SHA-256 of each file;
:func:`pretrained_folder` checks them before a folder is used, so a damaged install fails loudly instead of
fine-tuning from corrupt weights.

This package knows files, not models (``models.load_encoder`` resolves names through it), so it imports neither
torch nor timm::

    import ssl_waveform
    encoder = ssl_waveform.load_encoder("convnext_atto_fold_simclr")   # offline, from the package
    python -m ssl_waveform.finetune --data DATA --init convnext_atto_fold_converter
    python -m ssl_waveform.zoo                                          # list the shipped names
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ZOO_DIR = Path(__file__).resolve().parent
REGISTRY_FILE = ZOO_DIR / "registry.json"
# the files every shipped folder holds, each with a recorded checksum
SHIPPED_FILES = ("model.safetensors", "config.json", "MODEL_CARD.md")


@dataclass(frozen=True)
class PretrainedEncoder:
    """One registry entry.

    Attributes:
        name: The name users pass to ``load_encoder`` / ``finetune --init``.
        summary: One line: backbone, representation, method, pretraining data.
        sha256: SHA-256 (hex) of each file in :data:`SHIPPED_FILES`.
    """

    name: str
    summary: str
    sha256: dict[str, str]

    @property
    def folder(self) -> Path:
        return ZOO_DIR / self.name


def _registry() -> dict[str, PretrainedEncoder]:
    if not REGISTRY_FILE.is_file():
        return {}
    raw = json.loads(REGISTRY_FILE.read_text())
    return {
        name: PretrainedEncoder(name, entry["summary"], dict(entry["sha256"]))
        for name, entry in sorted(raw.items())
    }


def list_pretrained() -> list[str]:
    """Names of the shipped encoders, sorted."""
    return list(_registry())


def is_pretrained_name(name: str) -> bool:
    """True when ``name`` is a shipped encoder's name (not a path)."""
    return name in _registry()


def pretrained_info(name: str) -> PretrainedEncoder:
    """The registry entry of ``name``.

    Raises:
        KeyError: ``name`` is not shipped; the message lists the shipped names.
    """
    registry = _registry()
    if name not in registry:
        raise KeyError(
            f"no shipped encoder named {name!r}; shipped: {', '.join(registry) or '(none)'} "
            "(python -m ssl_waveform.zoo lists them)"
        )
    return registry[name]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _verified(name: str) -> Path:
    info = pretrained_info(name)
    for file, expected in info.sha256.items():
        path = info.folder / file
        if not path.is_file():
            raise FileNotFoundError(
                f"shipped encoder {name!r}: {str(path)!r} is missing; reinstall ssl_waveform"
            )
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(
                f"shipped encoder {name!r}: {str(path)!r} has SHA-256 {actual}, the registry records "
                f"{expected}; the install is damaged: reinstall ssl_waveform"
            )
    return info.folder


def pretrained_folder(name: str) -> Path:
    """The encoder folder of a shipped encoder, after checking every file against its recorded SHA-256.

    Raises:
        KeyError: unknown name (the message lists the shipped ones).
        FileNotFoundError / ValueError: a file is missing or does not match its checksum.
    """
    return _verified(name)


def model_card(name: str) -> str:
    """The model card (Markdown) of a shipped encoder."""
    return (pretrained_folder(name) / "MODEL_CARD.md").read_text()


__all__ = [
    "REGISTRY_FILE",
    "SHIPPED_FILES",
    "ZOO_DIR",
    "PretrainedEncoder",
    "is_pretrained_name",
    "list_pretrained",
    "model_card",
    "pretrained_folder",
    "pretrained_info",
    "sha256_file",
]
