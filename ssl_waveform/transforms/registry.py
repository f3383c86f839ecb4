"""Name -> representation registry and the factory that builds representations and pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ssl_waveform.transforms.base import ImageRepresentation, Representation, check_waveform_batch
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


# the registry's names as a type, for configs and command lines (tests check it matches the registry)
RepresentationName = Literal["cwt", "fold", "gaf", "raw", "stft"]


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

    ``input_mean`` / ``input_std`` standardise the representation after it was computed: one value per channel
    (e.g. ImageNet's, for 3-channel images fed to an ImageNet initialised backbone), or, for images, one per
    channel and pixel (``[C, H, W]``, or ``[C, H, 1]`` per row; see :func:`input_statistics`), which turns every
    input into its deviation from the corpus's average image in units of its spread.

    Args:
        representation: The representation module.
        normalization: The waveform normalisation module.
        input_mean: Mean subtracted from the representation (per channel, or an array whose first axis is the
            channel axis and that broadcasts against one representation output), or ``None``.
        input_std: Std the representation is divided by (same shape as ``input_mean``), or ``None``.

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
        self.representation = representation
        self.normalization = normalization
        self.input_mean: Any = None
        self.input_std: Any = None
        if input_mean is not None and input_std is not None:
            self.set_input_norm(input_mean, input_std)

    def set_input_norm(self, mean: Any, std: Any) -> None:
        """Standardise the representation with ``mean`` / ``std`` (see the class docstring for shapes).

        Raises:
            ValueError: shapes differ, the first axis is not the channel axis, an extra axis does not
                broadcast against the representation's output, or a std is not positive and finite.
        """
        m, sd = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        chans = self.representation.in_chans
        out_rank = 3 if self.kind == "2d" else 2
        ok = m.shape == sd.shape and m.ndim >= 1 and m.shape[0] == chans and m.ndim in (1, out_rank)
        if ok and m.ndim == out_rank:
            ok = all(a in (1, b) for a, b in zip(m.shape[1:], self._output_size(), strict=True))
        if not ok or not np.all(np.isfinite(m)) or not np.all(np.isfinite(sd)) or sd.min() <= 0:
            raise ValueError(
                f"input_mean/input_std need one entry per channel ({chans}) or shape [C, ...] broadcasting "
                f"against one representation output, same shapes, finite values and std > 0; got shapes "
                f"{m.shape} / {sd.shape}"
            )
        self.input_mean, self.input_std = m.tolist(), sd.tolist()
        self._norm_arrays = (m.astype(np.float32), sd.astype(np.float32))

    def _output_size(self) -> tuple[int, ...]:
        """Sizes of a standardisation array's axes after the channel axis: an image's ``(H, W)``; a sequence's
        length is not fixed, so its one extra axis may only have size 1."""
        if isinstance(self.representation, ImageRepresentation):
            return (self.representation.image_size,) * 2
        return (1,)

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
        # sums and the CWT's folding matmul lose too much precision in half precision); float64 stays
        # float64 (the exactness tests of the methods run in float64).
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = self.representation(
                self.normalization(x.to(torch.promote_types(x.dtype, torch.float32)))
            )
        if self.input_mean is not None:
            m, sd = self._norm_arrays
            shape = (1, *m.shape) + (1,) * (out.ndim - 1 - m.ndim)
            mean = torch.as_tensor(m, device=out.device, dtype=out.dtype).view(shape)
            std = torch.as_tensor(sd, device=out.device, dtype=out.dtype).view(shape)
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


@torch.no_grad()
def input_statistics(
    transform: WaveformTransform, windows: torch.Tensor, batch_size: int = 256
) -> tuple:
    """Mean and std of ``transform``'s representation over ``windows`` ``[N, C, T]``, before any input scaling.

    Images get one value per channel and pixel (``[C, H, W]``): the classical analogue is standardising every
    feature over the training set, which makes a class signal that is a small deviation from a shape shared by
    every window (e.g. a few-percent change of one harmonic) as large as any other input. Sequences get one
    value per channel (``[C]``). Stds are floored at 1e-3 of their mean so constant pixels stay finite.

    Returns:
        ``(mean, std)`` float64 arrays.
    """
    if windows.ndim != 3 or windows.shape[0] < 2:
        raise ValueError(
            f"input_statistics needs windows [N >= 2, C, T], got {tuple(windows.shape)}"
        )
    dims = (0,) if transform.kind == "2d" else (0, 2)  # images: per pixel; sequences: per channel
    total = total_sq = torch.zeros(())
    count = 0
    for start in range(0, windows.shape[0], batch_size):
        batch = windows[start : start + batch_size].float()
        out = transform.representation(transform.normalization(batch)).double()
        total = total + out.sum(dims)
        total_sq = total_sq + out.square().sum(dims)
        count += out.shape[0] * (1 if transform.kind == "2d" else out.shape[-1])
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
    floor = 1e-3 * float(std.mean()) + 1e-12
    return mean.numpy(), std.clamp_min(floor).numpy()


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
