"""Waveform representations: batched, weight-free modules turning ``[B, C, T]`` into model inputs."""

from ssl_waveform.transforms.base import (
    ImageRepresentation,
    Representation,
    check_waveform_batch,
    db_unit_scale,
)
from ssl_waveform.transforms.cwt import MorletScalogram
from ssl_waveform.transforms.fold import CycleFold, estimate_fundamental
from ssl_waveform.transforms.gaf import GramianAngularField
from ssl_waveform.transforms.normalization import (
    NORMALIZATION_MODES,
    Normalization,
    WaveformNormalization,
    warn_if_mixed_units,
)
from ssl_waveform.transforms.raw import RawWaveform
from ssl_waveform.transforms.registry import (
    RepresentationName,
    WaveformTransform,
    available_transforms,
    create_pipeline,
    create_transform,
    input_statistics,
    transform_class,
)
from ssl_waveform.transforms.stft import STFTImage

__all__ = [
    "NORMALIZATION_MODES",
    "CycleFold",
    "GramianAngularField",
    "ImageRepresentation",
    "MorletScalogram",
    "Normalization",
    "RawWaveform",
    "Representation",
    "RepresentationName",
    "STFTImage",
    "WaveformNormalization",
    "WaveformTransform",
    "available_transforms",
    "check_waveform_batch",
    "create_pipeline",
    "create_transform",
    "db_unit_scale",
    "estimate_fundamental",
    "input_statistics",
    "transform_class",
    "warn_if_mixed_units",
]
