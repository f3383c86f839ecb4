"""Named augmentation policies: an ordered chain of augmentations and the registry that builds them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import torch
from torch import Tensor, nn

from ssl_waveform.augment.amplitude import AdditiveNoise, AmplitudeScale, ChannelGainOffset
from ssl_waveform.augment.base import WaveformAugmentation, check_waveform
from ssl_waveform.augment.spectral import LowPass
from ssl_waveform.augment.time import RandomCrop, SpanMask, TimeShift, TimeWarp


class AugmentationPolicy(nn.Module):
    """Apply a sequence of waveform augmentations in order, all sharing one generator.

    Args:
        augmentations: The augmentations, applied first to last.
    """

    def __init__(self, augmentations: Iterable[WaveformAugmentation] = ()) -> None:
        super().__init__()
        self.augmentations = nn.ModuleList(augmentations)
        for i, aug in enumerate(self.augmentations):
            if not isinstance(aug, WaveformAugmentation):
                raise TypeError(
                    f"AugmentationPolicy: item {i} is a {type(aug).__name__}, "
                    "expected a WaveformAugmentation"
                )

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Produce one random view of each waveform.

        Args:
            x: Waveforms ``[B, C, T]``.
            generator: Optional generator on ``x.device``; the same generator state gives the same
                view.

        Returns:
            ``[B, C, T]`` augmented waveforms (``x`` itself for an empty policy).
        """
        check_waveform(x, "AugmentationPolicy")
        for aug in self.augmentations:
            x = aug(x, generator)
        return x


def _default() -> AugmentationPolicy:
    return AugmentationPolicy(
        [
            TimeShift(max_fraction=0.25, p=0.8),
            RandomCrop(min_scale=0.8, p=0.5),
            TimeWarp(max_displacement=0.01, p=0.3),
            AmplitudeScale(low=0.7, high=1.4, p=0.8),
            ChannelGainOffset(max_gain=0.05, max_offset=0.02, p=0.5),
            LowPass(cutoff=(0.3, 0.9), p=0.3),
            AdditiveNoise(snr_db=(20.0, 40.0), p=0.8),
            SpanMask(n_spans=1, max_fraction=0.05, p=0.3),
        ]
    )


def _light() -> AugmentationPolicy:
    return AugmentationPolicy(
        [
            TimeShift(max_fraction=0.1, p=0.5),
            AmplitudeScale(low=0.8, high=1.25, p=0.5),
            AdditiveNoise(snr_db=(30.0, 50.0), p=0.5),
        ]
    )


def _speed() -> AugmentationPolicy:
    # Fine-tuning policy for labels from a narrow operating range: a random speed-up of up to 1/0.6 (crop and
    # resample: fundamental and switching frequency rise together, as when the drive runs faster), sensor
    # gain/offset error and mild noise. A window cannot be slowed down (that needs samples it does not hold).
    return AugmentationPolicy(
        [
            RandomCrop(min_scale=0.6, p=0.8),
            ChannelGainOffset(max_gain=0.03, max_offset=0.02, p=0.5),
            AdditiveNoise(snr_db=(30.0, 50.0), p=0.5),
        ]
    )


def _invariant() -> AugmentationPolicy:
    # Pretraining policy whose two views differ in exactly the nuisances a fault classifier must ignore, so the
    # contrastive (or masked) objective cannot use them: speed (crop 45-100 % and resample: fundamental and
    # switching frequency move together; two views differ by up to 2.2x either way), amplitude and load level
    # (0.5-2x), sensor gain/offset error, sensor bandwidth (low-pass) and noise. Control mode is not a waveform
    # transform: the broad corpus supplies both modes. Encoders with ``shared_scale`` (or any per-window)
    # normalisation divide the amplitude step out again; it matters for ``normalization=none``. Fault signatures (which half-wave is missing, DC offset
    # of a phase, phase imbalance) are kept: no channel permutation, offsets stay small.
    return AugmentationPolicy(
        [
            TimeShift(max_fraction=0.5, p=0.8),
            RandomCrop(min_scale=0.45, p=0.9),
            AmplitudeScale(low=0.5, high=2.0, p=0.9),
            ChannelGainOffset(max_gain=0.05, max_offset=0.02, p=0.7),
            LowPass(cutoff=(0.3, 0.9), p=0.5),
            AdditiveNoise(snr_db=(15.0, 45.0), p=0.8),
        ]
    )


def _none() -> AugmentationPolicy:
    return AugmentationPolicy([])


_POLICIES: dict[str, Callable[[], AugmentationPolicy]] = {
    "default": _default,
    "invariant": _invariant,
    "light": _light,
    "none": _none,
    "speed": _speed,
}


# the policies' names as a type, for configs and command lines (tests check it matches the registry)
PolicyName = Literal["default", "invariant", "light", "none", "speed"]


def list_policies() -> list[str]:
    """Names accepted by :func:`create_policy`, sorted."""
    return sorted(_POLICIES)


def create_policy(name: str) -> AugmentationPolicy:
    """Build a named augmentation policy.

    Args:
        name: One of :func:`list_policies` (``default``, ``invariant``, ``light``, ``none``, ``speed``).

    Returns:
        A fresh :class:`AugmentationPolicy`.

    Raises:
        KeyError: If ``name`` is not registered; the message lists the valid names.
    """
    if name not in _POLICIES:
        raise KeyError(
            f"unknown augmentation policy {name!r}; valid names: {', '.join(list_policies())}"
        )
    return _POLICIES[name]()
