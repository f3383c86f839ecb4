"""``python -m ssl_waveform.predict``: classify recordings with a fine-tuned classifier folder.

Inputs may be NPZ, NPY, MATLAB or HDF5 files holding one recording ``[C, T]`` or a window array ``[N, C, T]`` of
N recordings (the signal variable and optional labels ``y``/``labels`` as class indices or names, for scoring,
are found as ``ingest`` finds them, docs/ingest.md), CSV (one column per channel, one recording), or corpus
folders. Recordings longer than the model's window are cut into overlapping windows whose logits are
averaged; recordings at another sampling rate are resampled (polyphase) first. Channel order comes from the
checkpoint's ``channel_names``: name the input's channels with ``--channels`` when they differ in order.
"""

# No `from __future__ import annotations`: ssl_waveform.config resolves string annotations in
# sys.modules[cls.__module__], which is not this file when runpy runs it as __main__ (the tests).
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_waveform._atomic import atomic_path
from ssl_waveform.evaluation import classification_metrics
from ssl_waveform.methods.classify import Classifier


@dataclass
class Batch:
    """Recordings read from one input: ``x`` list of ``[C, T]``, optional labels, sampling rate, names."""

    source: Path
    x: list[np.ndarray]
    y: list[str] | None
    sample_rate: float | None
    channel_names: list[str] | None


# beyond it an input's rate is almost surely wrong (Hz vs kHz), not a real recording
MAX_RESAMPLE_RATIO = 100


def read_input(path: str | Path, class_names: list[str]) -> Batch:
    """Read one input file or corpus folder into recordings.

    Raises:
        ValueError / ssl_waveform.data.CorpusError: unreadable input, with the file named.
    """
    from ssl_waveform.data import Corpus, WindowArray, load_input
    from ssl_waveform.data.ingest import label_names

    p = Path(path)
    if p.is_dir():
        corpus = Corpus(p)
        x = corpus.read(np.arange(corpus.num_windows))
        y = None
        if corpus.class_names is not None:
            y = [corpus.class_names[i] for i in corpus.labels()]
        return Batch(p, list(x), y, corpus.sample_rate, corpus.channel_names)
    if not p.is_file():
        raise FileNotFoundError(f"input {p} does not exist")
    item = load_input(p)
    if isinstance(item, WindowArray):  # [N, C, T]: N recordings, labels from y/labels when present
        # integer labels index the file's class_names, else the classifier's
        names = label_names(item, class_names)
        y = None if names is None else [str(v) for v in names]
        return Batch(p, list(item.data), y, item.sample_rate, None)
    return Batch(p, [item.data], None, item.sample_rate, None)


def _reorder(batch: Batch, wanted: list[str], given: list[str] | None) -> list[np.ndarray]:
    names = batch.channel_names or given
    if names is None:
        return batch.x
    if sorted(names) != sorted(wanted):
        raise ValueError(
            f"{batch.source}: input channels {names} do not match the classifier's channels {wanted}"
        )
    order = [names.index(n) for n in wanted]
    return [np.asarray(r)[order] for r in batch.x]


def predict_files(
    model: Classifier,
    inputs: Sequence[str | Path],
    sample_rate: float | None,
    channels: list[str] | None = None,
    hop: int | None = None,
) -> tuple[list[dict], dict | None]:
    """Predict every input; returns CSV rows and metrics over the labeled ones (None when unlabeled)."""
    rows: list[dict] = []
    y_true: list[int] = []
    y_pred: list[int] = []
    wanted = list(model.encoder.config.channel_names)
    for path in inputs:
        batch = read_input(path, model.class_names)
        rate = batch.sample_rate or sample_rate
        if rate is None:
            raise ValueError(
                f"{batch.source}: the file carries no sample rate; pass --sample-rate HZ"
            )
        x = _reorder(batch, wanted, channels)
        model_rate = float(model.encoder.config.sample_rate)
        if not MAX_RESAMPLE_RATIO**-1 <= rate / model_rate <= MAX_RESAMPLE_RATIO:
            raise ValueError(
                f"{batch.source}: sampled at {rate:g} Hz, the classifier at {model_rate:g} Hz: resampling by "
                f"{model_rate / rate:.3g}x is outside [1/{MAX_RESAMPLE_RATIO}, {MAX_RESAMPLE_RATIO}]; check "
                "--sample-rate (Hz) or the file's stored rate"
            )
        try:
            pred = model.predict(x, rate, hop=hop)
        except (
            ValueError
        ) as err:  # name the input: "recording 0" alone is ambiguous over several files
            raise ValueError(f"{batch.source}: {err}") from err
        for i in range(len(x)):
            row = {
                "input": str(batch.source),
                "index": i,
                "prediction": pred.labels[i],
                "confidence": float(pred.probabilities[i].max()),
                "windows": int(pred.windows[i]),
            }
            if batch.y is not None:
                row["label"] = batch.y[i]
                if batch.y[i] not in model.class_names:
                    raise ValueError(
                        f"{batch.source}[{i}]: label {batch.y[i]!r} is not a class of this classifier "
                        f"({model.class_names})"
                    )
                y_true.append(model.class_names.index(batch.y[i]))
                y_pred.append(int(pred.indices[i]))
            row.update(
                {f"p[{c}]": float(v) for c, v in zip(model.class_names, pred.probabilities[i])}
            )
            rows.append(row)
    metrics = None
    if y_true:
        metrics = classification_metrics(np.array(y_true), np.array(y_pred), model.class_names)
    return rows, metrics


def write_csv(rows: list[dict], path: str | Path) -> None:
    """Write prediction rows (the union of their keys as columns) to ``path`` atomically."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    with atomic_path(out) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":  # python -m ssl_waveform.predict: an alias of ssl-waveform predict
    from ssl_waveform.cli.predict import main

    sys.exit(main())
