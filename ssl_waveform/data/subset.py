"""Write a subset of a corpus's windows as a new corpus (e.g. every recording outside a test split, unlabeled,
for self-supervised pretraining on a real dataset without touching its held-out recordings)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._atomic import publish_dir
from .corpus import Corpus
from .errors import CorpusError
from .writer import CorpusWriter


def _labels(
    src: Corpus,
    idx: np.ndarray,
    labeled: bool,
    relabel: tuple[Sequence[str], np.ndarray] | None,
) -> tuple[list[str] | None, np.ndarray | None]:
    """The subset's class names and per-source-window labels: the source's, ``relabel``'s or none."""
    if relabel is None:
        labels = src.labels() if labeled and src.class_names is not None else None
        return src.class_names, labels
    class_names, labels = list(relabel[0]), np.asarray(relabel[1], dtype=np.int64)
    outside = idx[(labels[idx] < 0) | (labels[idx] >= len(class_names))]
    if outside.size:
        first = int(outside[0])
        raise CorpusError(
            f"{src.root}: relabel gives window {first} the label {int(labels[first])}, outside "
            f"0..{len(class_names) - 1}"
        )
    return class_names, labels


def write_subset(
    source: str | Path | Corpus,
    out: str | Path,
    indices: Sequence[int] | np.ndarray,
    *,
    labeled: bool = True,
    relabel: tuple[Sequence[str], np.ndarray] | None = None,
    description: dict | None = None,
    windows_per_shard: int = 4096,
) -> Path:
    """Copy windows ``indices`` of ``source`` (with their labels and every metadata field) into a new corpus.

    The corpus is written in a hidden sibling folder and renamed to ``out`` at the end, so an interrupted call
    leaves nothing at ``out``.

    Args:
        source: corpus folder or open corpus.
        out: new corpus folder; must not exist.
        indices: window indices into ``source`` (any order; written sorted, without repeats).
        labeled: keep labels and class names; False writes an unlabeled corpus (e.g. for pretraining).
        relabel: ``(class_names, labels)`` replacing the source's: one class index per *source* window (only the
            selected ones are read), e.g. labels taken from a simulated corpus's metadata.
        description: extra manifest metadata (the source folder and window count are always recorded).
        windows_per_shard: windows per shard of the new corpus.

    Returns:
        ``out``.

    Raises:
        CorpusError: ``out`` exists, no index given, or an index outside the corpus.
    """
    src = source if isinstance(source, Corpus) else Corpus(source)
    out = Path(out)
    idx = np.unique(np.asarray(indices, dtype=np.int64))
    if out.exists():
        raise CorpusError(f"{out} already exists; choose a new folder or delete it")
    if idx.size == 0:
        raise CorpusError(f"{src.root}: no window selected for {out}")
    if idx[0] < 0 or idx[-1] >= src.num_windows:
        bad = int(idx[0] if idx[0] < 0 else idx[-1])
        raise CorpusError(f"{src.root}: window index {bad} outside 0..{src.num_windows - 1}")
    class_names, labels = _labels(src, idx, labeled, relabel)
    meta = {name: src.meta(name) for name in src.meta_fields}
    tmp = out.parent / f".{out.name}.subset-{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        writer = CorpusWriter(
            tmp,
            sample_rate=src.sample_rate,
            channel_names=src.channel_names,
            units=src.units,
            class_names=class_names if labels is not None else None,
            windows_per_shard=windows_per_shard,
            description={
                **(description or {}),
                "derived_from": str(src.root),
                "windows": int(idx.size),
            },
        )
        for shard, start in enumerate(range(0, idx.size, windows_per_shard)):
            part = idx[start : start + windows_per_shard]
            writer.write_shard(
                shard,
                src.read(part),
                None if labels is None else labels[part],
                {name: values[part] for name, values in meta.items()},
            )
        writer.finalize()
        out.parent.mkdir(parents=True, exist_ok=True)
        publish_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
