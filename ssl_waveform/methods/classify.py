"""Supervised classification on top of an encoder: the fine-tuning method and the classifier folder.

A :class:`Classifier` composes an :class:`~ssl_waveform.models.Encoder` (transform + backbone) with a linear head.
``forward(batch)`` returns the label-smoothed cross-entropy for the engine; :meth:`Classifier.predict` runs on
recordings of any length and sampling rate. ``save``/:func:`load_classifier` write and read a classifier folder:
``model.safetensors`` (the whole state dict) plus ``config.json`` (class names, representation, sample rate,
window, channel names, normalisation, the encoder's config and training provenance). No pickles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssl_waveform.models.encoder import CONFIG_FILE, WEIGHTS_FILE, Encoder, save_model_folder

CLASSIFIER_FORMAT = "ssl_waveform.classifier"
CLASSIFIER_VERSION = 1


@dataclass
class Prediction:
    """Result of :meth:`Classifier.predict`.

    Attributes:
        labels: predicted class name per recording ``[N]``.
        indices: predicted class index per recording ``[N]``.
        probabilities: softmax of the window-averaged logits ``[N, K]``.
        class_names: the ``K`` class names.
        windows: number of windows averaged per recording ``[N]``.
    """

    labels: list[str]
    indices: np.ndarray
    probabilities: np.ndarray
    class_names: list[str]
    windows: np.ndarray


class Classifier(nn.Module):
    """Encoder + linear head trained with label-smoothed cross-entropy.

    Args:
        encoder: an :class:`~ssl_waveform.models.Encoder`.
        class_names: the ``K`` class names (index = label).
        label_smoothing: cross-entropy label smoothing in [0, 1).
        head_init_scale: the head's weights start as ``trunc_normal(std=0.02) * head_init_scale`` (small, so
            the pretrained features are not disturbed by a random head early in fine-tuning; ConvNeXt uses 1e-3
            when fine-tuning).
        dropout: dropout before the head.
    """

    def __init__(
        self,
        encoder: Encoder,
        class_names: Sequence[str],
        *,
        label_smoothing: float = 0.1,
        head_init_scale: float = 1e-3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(class_names) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {list(class_names)}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.encoder = encoder
        self.class_names = list(class_names)
        self.label_smoothing = label_smoothing
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.num_features, len(class_names))
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        with torch.no_grad():
            self.head.weight.mul_(head_init_scale)
        nn.init.zeros_(self.head.bias)
        self.head_config = {"dropout": dropout, "head_init_scale": head_init_scale}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Freeze (linear probe) or unfreeze (full fine-tuning) the encoder's parameters."""
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)

    def logits(self, x: Tensor) -> Tensor:
        """Waveforms ``[B, C, T]`` -> logits ``[B, K]``."""
        return self.head(self.dropout(self.encoder(x)))

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"x": [B, C, T], "y": [B]}`` -> ``{"loss", "acc"}`` (scalars)."""
        logits = self.logits(batch["x"])
        y = batch["y"]
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(dim=1) == y).float().mean().detach()
        return {"loss": loss, "acc": acc}

    @torch.no_grad()
    def predict_windows(self, x: np.ndarray | Tensor, batch_size: int = 256) -> np.ndarray:
        """Logits ``[N, K]`` of windows ``[N, C, T]`` already at the model's sample rate and length."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
        try:
            out = [
                self.logits(x[i : i + batch_size].to(device, torch.float32)).float().cpu()
                for i in range(0, len(x), batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros((0, self.num_classes), np.float32)

    def predict(
        self,
        x: np.ndarray | Tensor | Sequence[np.ndarray],
        sample_rate: float,
        *,
        hop: int | None = None,
        batch_size: int = 256,
    ) -> Prediction:
        """Classify recordings: resample, slide windows, average the logits per recording.

        Args:
            x: ``[N, C, T]`` array, or a list of ``[C, T_i]`` recordings of any length (at least one window
                after resampling).
            sample_rate: sampling rate of ``x`` in Hz; resampled (polyphase) to the model's rate when different.
            hop: hop between windows in samples at the model's rate; default half a window.
            batch_size: windows per forward pass.

        Returns:
            A :class:`Prediction`.

        Raises:
            ValueError: wrong rank or channel count, non-finite values, or a recording shorter than a window
                (the message names the recording's index).
        """
        from ssl_waveform.data import resample, window_signal

        cfg = self.encoder.config
        window, rate, channels = (
            int(cfg.window),
            float(cfg.sample_rate),
            self.encoder.in_chans,
        )
        if hop is not None and hop < 1:
            raise ValueError(f"hop must be at least 1 sample, got {hop}")
        hop = hop if hop is not None else max(1, window // 2)
        recordings = list(x) if not (hasattr(x, "ndim") and x.ndim == 3) else list(np.asarray(x))
        windows, owner = [], []
        for i, rec in enumerate(recordings):
            rec = np.asarray(rec.cpu() if torch.is_tensor(rec) else rec, dtype=np.float64)
            if rec.ndim != 2 or rec.shape[0] != channels:
                raise ValueError(
                    f"recording {i}: expected shape [C={channels}, T] (channels {cfg.channel_names}), "
                    f"got {list(rec.shape)}"
                )
            if not np.isfinite(rec).all():
                raise ValueError(f"recording {i}: contains NaN or Inf values")
            if sample_rate != rate:
                rec = resample(rec, sample_rate, rate, axis=-1)
            if rec.shape[-1] < window:
                raise ValueError(
                    f"recording {i}: {rec.shape[-1]} samples at {rate:g} Hz is shorter than one window "
                    f"({window} samples = {window / rate:.4g} s); for shorter recordings fine-tune a classifier "
                    "with a shorter window (finetune --window-seconds S or --window-periods P)"
                )
            w = window_signal(rec.astype(np.float32), window, hop)
            windows.append(w)
            owner.append(np.full(len(w), i))
        if not windows:
            raise ValueError("no recordings given")
        logits = self.predict_windows(np.concatenate(windows), batch_size=batch_size)
        owner_arr = np.concatenate(owner)
        n = len(recordings)
        counts = np.bincount(owner_arr, minlength=n)
        mean_logits = np.zeros((n, self.num_classes), dtype=np.float64)
        np.add.at(mean_logits, owner_arr, logits)
        mean_logits /= counts[:, None]
        probs = torch.softmax(torch.from_numpy(mean_logits), dim=1).numpy()
        idx = probs.argmax(axis=1)
        return Prediction(
            labels=[self.class_names[i] for i in idx],
            indices=idx,
            probabilities=probs.astype(np.float32),
            class_names=list(self.class_names),
            windows=counts,
        )

    def config(self, training: dict[str, Any] | None = None) -> dict[str, Any]:
        """The classifier folder's ``config.json`` content."""
        enc = self.encoder.config.to_dict()
        return {
            "format": CLASSIFIER_FORMAT,
            "format_version": CLASSIFIER_VERSION,
            "class_names": list(self.class_names),
            "num_classes": self.num_classes,
            "representation": enc["representation"],
            "normalization": enc["normalization"],
            "sample_rate": enc["sample_rate"],
            "window": enc["window"],
            "channel_names": enc["channel_names"],
            "label_smoothing": self.label_smoothing,
            "head": self.head_config,
            "encoder": enc,
            "training": training or {},
        }

    def save(self, path: str | Path, training: dict[str, Any] | None = None) -> Path:
        """Write the classifier folder atomically (temporary names, then rename)."""
        return save_model_folder(path, self.state_dict(), self.config(training))


def load_classifier(path: str | Path, map_location: str | torch.device = "cpu") -> Classifier:
    """Load a classifier folder written by :meth:`Classifier.save`.

    Raises:
        FileNotFoundError: the folder lacks ``config.json`` or ``model.safetensors``.
        ValueError: the config is not a classifier config, or the weights do not match it.
    """
    from ssl_waveform.models import encoder_from_config
    from ssl_waveform.models.encoder import load_safetensors

    folder = Path(path)
    cfg_path, w_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"{p} not found: {folder} is not a classifier folder (from finetune)"
            )
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{cfg_path}: not valid JSON ({err})") from err
    if not isinstance(cfg, dict) or cfg.get("format") != CLASSIFIER_FORMAT:
        raise ValueError(
            f"{cfg_path}: format {cfg.get('format') if isinstance(cfg, dict) else None!r} is not "
            f"{CLASSIFIER_FORMAT!r}; for an encoder folder use ssl_waveform.load_encoder"
        )
    if cfg.get("format_version") != CLASSIFIER_VERSION:
        raise ValueError(
            f"{cfg_path}: format_version {cfg.get('format_version')!r}, this ssl_waveform reads "
            f"{CLASSIFIER_VERSION}"
        )
    names = cfg.get("class_names")
    if not (isinstance(names, list) and len(names) >= 2 and all(isinstance(n, str) for n in names)):
        raise ValueError(
            f"{cfg_path}: class_names must be a list of at least 2 strings, got {names!r}"
        )
    if not isinstance(cfg.get("encoder"), dict) or not isinstance(cfg.get("head"), dict):
        raise ValueError(f"{cfg_path}: 'encoder' and 'head' must be objects")
    model = Classifier(
        encoder_from_config(cfg["encoder"]),
        cfg["class_names"],
        label_smoothing=float(cfg.get("label_smoothing", 0.0)),
        dropout=float(cfg["head"].get("dropout", 0.0)),
    )
    state = load_safetensors(w_path, device=str(map_location))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches raise even with strict=False
        raise ValueError(f"{w_path}: weights do not match the config: {err}") from err
    if missing or unexpected:
        raise ValueError(
            f"{w_path}: weights do not match the config (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model.to(map_location).eval()
