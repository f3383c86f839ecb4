"""Encoders: timm 2-D ConvNeXts and a native 1-D ConvNeXt behind a waveform transform."""

from ssl_waveform.models.convnext1d import (
    CONVNEXT1D_VARIANTS,
    ConvNeXt1d,
    ConvNeXt1dSpec,
    ConvNeXtBlock1d,
    ConvNeXtStage1d,
    GlobalResponseNorm1d,
    GlobalResponseNormMlp1d,
    LayerNormChannelsFirst1d,
    Mlp1d,
    available_convnext1d,
    create_convnext1d,
)
from ssl_waveform.models.encoder import (
    Encoder,
    available_encoders,
    backbone_kind,
    create_encoder,
    encoder_from_config,
    load_encoder,
    read_encoder_config,
)
from ssl_waveform.models.imagenet import (
    INFLATE_MODES,
    ImageNetWeightsError,
    create_imagenet_convnext1d,
    create_imagenet_timm,
    imagenet_mean_std,
    inflate_state_dict,
)

__all__ = [
    "CONVNEXT1D_VARIANTS",
    "INFLATE_MODES",
    "ConvNeXt1d",
    "ConvNeXt1dSpec",
    "ConvNeXtBlock1d",
    "ConvNeXtStage1d",
    "Encoder",
    "GlobalResponseNorm1d",
    "GlobalResponseNormMlp1d",
    "ImageNetWeightsError",
    "LayerNormChannelsFirst1d",
    "Mlp1d",
    "available_convnext1d",
    "available_encoders",
    "backbone_kind",
    "create_convnext1d",
    "create_encoder",
    "create_imagenet_convnext1d",
    "create_imagenet_timm",
    "encoder_from_config",
    "imagenet_mean_std",
    "inflate_state_dict",
    "load_encoder",
    "read_encoder_config",
]
