"""An encoder's typed configuration: what ``config.json`` of an encoder folder holds (``Encoder.config``).

Read with :meth:`EncoderConfig.from_dict` (dacite, through :mod:`ssl_waveform.serialize`: every key and type
checked, an unknown key refused), written with :meth:`EncoderConfig.to_dict`. Format version 1 files, the
shipped encoders' included, are read as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CONFIG_FORMAT = "ssl_waveform.encoder"
CONFIG_VERSION = 1


@dataclass
class ArchitectureConfig:
    """The backbone.

    Attributes:
        name: the architecture built (a timm name, or ``convnext1d_*``).
        kind: ``2d`` (images of a representation) or ``1d`` (raw sequences).
        in_chans: waveform channels ``C``.
        drop_path_rate: stochastic depth rate.
        reduction: total stride of the backbone.
        num_features: embedding size ``D`` (set once the backbone is built).
    """

    name: str
    kind: Literal["1d", "2d"]
    in_chans: int
    drop_path_rate: float = 0.0
    reduction: int = 32
    num_features: int | None = None


@dataclass
class InputNorm:
    """Per-channel (and per-pixel for images) statistics that standardise the model input."""

    mean: list[Any]
    std: list[Any]


@dataclass
class EncoderConfig:
    """Everything needed to rebuild an encoder, saved as its folder's ``config.json``.

    Attributes:
        architecture: the backbone.
        representation: ``name`` plus the representation's own settings (``image_size``, ``n_fft``, ...).
        normalization: ``mode`` and ``eps`` of the waveform normalisation, plus ``mean``/``std`` for ``corpus``.
        sample_rate: sampling rate in Hz the encoder expects.
        window: window length in samples (a classifier's: the stretch it classifies).
        channel_names: names of the ``C`` channels, in order.
        input_norm: the model input's standardisation, if any (ImageNet's, or ``standardize_inputs``).
        provenance: where the weights came from (init, method, run, versions); free-form.
        format: the file format's name.
        format_version: the file format's version.
    """

    architecture: ArchitectureConfig
    representation: dict[str, Any]
    normalization: dict[str, Any]
    sample_rate: float
    window: int
    channel_names: list[str]
    input_norm: InputNorm | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    format: str = CONFIG_FORMAT
    format_version: int = CONFIG_VERSION

    @property
    def representation_name(self) -> str:
        return str(self.representation["name"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``config.json``)."""
        from ssl_waveform.serialize import to_dict

        return to_dict(self)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | EncoderConfig, source: str | Path = ""
    ) -> EncoderConfig:
        """An encoder config from its JSON form (a copy when given one already).

        Raises:
            ValueError: an unknown key, a wrong type or another format; the message starts with ``source``.
        """
        from ssl_waveform.serialize import ConfigError, with_changes

        if isinstance(data, EncoderConfig):
            data = data.to_dict()
        where = str(source) or "encoder config"
        kind = (data.get("format"), data.get("format_version"))
        if kind != (
            CONFIG_FORMAT,
            CONFIG_VERSION,
        ):  # before the keys: another format has other keys
            raise ValueError(
                f"{where}: format {kind[0]!r} version {kind[1]!r}, expected {CONFIG_FORMAT!r} version "
                f"{CONFIG_VERSION}"
            )
        try:
            return with_changes(cls, data, source=where)
        except ConfigError as err:
            raise ValueError(str(err)) from None
