"""Add an encoder folder to the shipped registry: fp16 weights, its config, a model card and checksums."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import safetensors.numpy

from ssl_waveform._atomic import atomic_path, atomic_write_text
from ssl_waveform.zoo import REGISTRY_FILE, SHIPPED_FILES, ZOO_DIR, sha256_file

# names that already mean something to --init or to the benchmark's grid
RESERVED_NAMES = frozenset({"auto", "scratch", "imagenet", "mae", "simclr", "mae-real", "mae-sim"})


def ship_encoder(
    source: str | Path, name: str, summary: str, card: str, zoo_dir: Path = ZOO_DIR
) -> Path:
    """Copy the encoder folder ``source`` into the zoo as ``name`` and record its checksums.

    Floating-point weights are stored as fp16 (half the size; the encoder loads them into fp32 parameters).

    Args:
        source: An encoder folder written by ``Encoder.save`` (``model.safetensors`` + ``config.json``).
        name: Registry name (letters, digits, ``_``).
        summary: One line for the listing.
        card: The model card (Markdown).
        zoo_dir: The zoo folder (the package's own by default; tests pass a temporary one).

    Returns:
        The shipped folder.
    """
    if not re.fullmatch(r"[a-z0-9_]+", name) or name in RESERVED_NAMES:
        raise ValueError(
            f"ship_encoder: name {name!r} must be lower-case ASCII letters, digits and '_', and not one of "
            f"{sorted(RESERVED_NAMES)} (init keywords and the benchmark's own inits)"
        )
    src = Path(source)
    tensors = safetensors.numpy.load_file(str(src / "model.safetensors"))
    half = {
        k: (v.astype(np.float16) if v.dtype in (np.float32, np.float64) else v)
        for k, v in tensors.items()
    }
    config = json.loads((src / "config.json").read_text())
    folder = zoo_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.safetensors") as tmp:
        safetensors.numpy.save_file(half, str(tmp), metadata={"format": "pt"})
    atomic_write_text(folder / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    atomic_write_text(folder / "MODEL_CARD.md", card)
    for f in SHIPPED_FILES:  # readable by everyone, like any installed package file
        (folder / f).chmod(0o644)
    registry_file = zoo_dir / REGISTRY_FILE.name
    registry = json.loads(registry_file.read_text()) if registry_file.is_file() else {}
    registry[name] = {
        "summary": summary,
        "sha256": {f: sha256_file(folder / f) for f in SHIPPED_FILES},
    }
    atomic_write_text(registry_file, json.dumps(registry, indent=2, sort_keys=True) + "\n")
    return folder
