"""Waveform-domain augmentations for contrastive views (batched, per-sample, generator-driven)."""

from ssl_waveform.augment.amplitude import AdditiveNoise, AmplitudeScale, ChannelGainOffset
from ssl_waveform.augment.base import WaveformAugmentation
from ssl_waveform.augment.channel import ChannelPermutation
from ssl_waveform.augment.policy import (
    AugmentationPolicy,
    PolicyName,
    create_policy,
    list_policies,
)
from ssl_waveform.augment.spectral import LowPass
from ssl_waveform.augment.time import RandomCrop, SpanMask, TimeShift, TimeWarp

__all__ = [
    "AdditiveNoise",
    "AmplitudeScale",
    "AugmentationPolicy",
    "ChannelGainOffset",
    "ChannelPermutation",
    "LowPass",
    "PolicyName",
    "RandomCrop",
    "SpanMask",
    "TimeShift",
    "TimeWarp",
    "WaveformAugmentation",
    "create_policy",
    "list_policies",
]
