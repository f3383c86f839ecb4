"""Name -> representation registry and the factory that builds representations and pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ssl_waveform.transforms.base import Representation, check_waveform_batch
from ssl_waveform.transforms.cwt import MorletScalogram
from ssl_waveform.transforms.fold import CycleFold
from ssl_waveform.transforms.gaf import GramianAngularField
from ssl_waveform.transforms.normalization import WaveformNormalization
from ssl_waveform.transforms.raw import RawWaveform
from ssl_waveform.transforms.stft import STFTImage

_REGISTRY: dict[str, type[Representation]] = {
    cls.name: cls
    for cls in (STFTImage, MorletScalogram, CycleFold, GramianAngularField, RawWaveform)
}


def available_transforms() -> list[str]:
    """Names accepted by :func:`create_transform`, sorted."""
    return sorted(_REGISTRY)


def transform_class(name: str) -> type[Representation]:
    """The representation class registered as ``name``; raises ``KeyError`` listing valid names."""
    if name not in _REGISTRY:
        raise KeyError(
            f"unknown representation {name!r}; valid representations: {', '.join(available_transforms())}"
        )
    return _REGISTRY[name]


def create_transform(
    name: str,
    in_chans: int,
    sample_rate: float = 20_000.0,
    image_size: int | None = None,
    **kwargs: Any,
) -> Representation:
    """Build the representation registered as ``name``.

    Args:
        name: One of :func:`available_transforms` (``stft``, ``cwt``, ``fold``, ``gaf``, ``raw``).
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz.
        image_size: Output image side for 2-D representations (multiple of 32; default 64); must be
            ``None`` for ``raw``.
        **kwargs: Representation-specific settings (see each class).

    Returns:
        The representation module (no learnable parameters).
    """
    cls = transform_class(name)
    if image_size is not None:
        if cls.kind != "2d":
            raise ValueError(f"representation {name!r} is 1-D and takes no image_size")
        kwargs["image_size"] = image_size
    try:
        return cls(in_chans, sample_rate=sample_rate, **kwargs)
    except TypeError as err:
        raise TypeError(f"bad arguments for representation {name!r}: {err}") from err


class WaveformTransform(nn.Module):
    """The full input pipeline of an encoder: normalisation -> representation -> input scaling.

    ``input_mean`` / ``input_std`` (e.g. ImageNet's, for 3-channel images fed to an ImageNet
    initialised backbone) standardise the representation's channels after it was computed.

    Args:
        representation: The representation module.
        normalization: The waveform normalisation module.
        input_mean: Per-channel mean subtracted from the representation, or ``None``.
        input_std: Per-channel std the representation is divided by, or ``None``.

    Shapes:
        ``[B, C, T] -> representation.output_shape(C, T)`` with the batch axis in front.
    """

    def __init__(
        self,
        representation: Representation,
        normalization: WaveformNormalization,
        input_mean: Sequence[float] | None = None,
        input_std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if (input_mean is None) != (input_std is None):
            raise ValueError("input_mean and input_std must be given together")
        if input_mean is not None and input_std is not None:
            chans = representation.in_chans
            if len(input_mean) != chans or len(input_std) != chans or min(input_std) <= 0:
                raise ValueError(
                    f"input_mean/input_std need {chans} entries (one per channel) and std > 0, got "
                    f"{list(input_mean)} / {list(input_std)}"
                )
        self.representation = representation
        self.normalization = normalization
        self.input_mean = None if input_mean is None else [float(v) for v in input_mean]
        self.input_std = None if input_std is None else [float(v) for v in input_std]

    @property
    def kind(self) -> str:
        """``"2d"`` (images) or ``"1d"`` (sequences)."""
        return self.representation.kind

    @property
    def in_chans(self) -> int:
        return self.representation.in_chans

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Turn waveforms ``[B, C, T]`` into the backbone's input."""
        check_waveform_batch(x, self.in_chans, where="encoder input")
        # Representations are computed in float32 even under bf16/fp16 autocast (FFTs, cumulative
        # sums and the CWT's folding matmul lose too much precision in half precision).
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = self.representation(self.normalization(x.float()))
        if self.input_mean is not None and self.input_std is not None:
            shape = (1, -1) + (1,) * (out.ndim - 2)
            mean = torch.tensor(self.input_mean, device=out.device, dtype=out.dtype).view(shape)
            std = torch.tensor(self.input_std, device=out.device, dtype=out.dtype).view(shape)
            out = (out - mean) / std
        return out

    def output_shape(self, channels: int, length: int) -> tuple[int, ...]:
        """Shape of one transformed window (no batch axis) for ``channels x length`` input."""
        return self.representation.output_shape(channels, length)

    def config(self) -> dict[str, Any]:
        """Representation name and settings, normalisation settings and input scaling."""
        return {
            "representation": {"name": self.representation.name, **self.representation.config()},
            "normalization": self.normalization.config(),
            "input_norm": None
            if self.input_mean is None
            else {"mean": self.input_mean, "std": self.input_std},
        }


def create_pipeline(
    representation: str,
    in_chans: int,
    sample_rate: float = 20_000.0,
    image_size: int | None = None,
    normalization: str = "per_sample",
    norm_mean: Sequence[float] | None = None,
    norm_std: Sequence[float] | None = None,
    norm_eps: float = 1e-6,
    input_mean: Sequence[float] | None = None,
    input_std: Sequence[float] | None = None,
    **transform_kwargs: Any,
) -> WaveformTransform:
    """Build a :class:`WaveformTransform` from names and settings (see :func:`create_transform`).

    Args:
        representation: Representation name.
        in_chans: Waveform channels ``C``.
        sample_rate: Input sampling rate in Hz.
        image_size: Image side for 2-D representations.
        normalization: Waveform normalisation mode (see :class:`WaveformNormalization`).
        norm_mean: Per-channel corpus mean (``normalization="corpus"``).
        norm_std: Per-channel corpus std (``normalization="corpus"``).
        norm_eps: Added to the standard deviation (waveform units), see :class:`WaveformNormalization`.
        input_mean: Per-channel mean applied after the representation (e.g. ImageNet), or ``None``.
        input_std: Per-channel std applied after the representation, or ``None``.
        **transform_kwargs: Representation-specific settings.
    """
    rep = create_transform(
        representation, in_chans, sample_rate=sample_rate, image_size=image_size, **transform_kwargs
    )
    norm = WaveformNormalization(
        normalization, in_chans, mean=norm_mean, std=norm_std, eps=norm_eps
    )
    return WaveformTransform(rep, norm, input_mean=input_mean, input_std=input_std)
