"""Encoders = waveform transform + ConvNeXt backbone; factory, save and load."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors.torch
import timm
import torch
from torch import nn

from ssl_waveform._atomic import atomic_path, atomic_write_text
from ssl_waveform.identity import Init
from ssl_waveform.models.config import (
    ArchitectureConfig,
    EncoderConfig,
    InputNorm,
)

if TYPE_CHECKING:
    from ssl_waveform.data import Corpus
from ssl_waveform.models.convnext1d import available_convnext1d, create_convnext1d
from ssl_waveform.models.imagenet import (
    PACKAGED_IMAGENET,
    create_imagenet_convnext1d,
    create_imagenet_timm,
    create_packaged_imagenet_timm,
    imagenet_mean_std,
)
from ssl_waveform.transforms import (
    WaveformTransform,
    create_pipeline,
    input_statistics,
    transform_class,
    warn_if_mixed_units,
)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
DEFAULT_IMAGE_SIZE = 64


# User-facing names resolved to the timm architecture that is built and recorded in config.json.
# "efficientnet_lite0" is the TF port, the architecture its packaged ImageNet weights were trained with.
ENCODER_ALIASES = {"efficientnet_lite0": "tf_efficientnet_lite0"}


def available_encoders() -> dict[str, list[str]]:
    """Valid backbone names: ``{"2d": timm ConvNeXt / EfficientNet-Lite names, "1d": 1-D ConvNeXt names}``."""
    names_2d = timm.list_models(
        ["convnext_*", "convnextv2_*", "test_convnext*", "tf_efficientnet_lite*"]
    )
    return {"2d": sorted([*names_2d, *ENCODER_ALIASES]), "1d": available_convnext1d()}


def resolve_encoder_name(name: str) -> str:
    """The timm architecture a backbone name builds (``efficientnet_lite0`` -> ``tf_efficientnet_lite0``)."""
    return ENCODER_ALIASES.get(name, name)


def backbone_kind(name: str) -> str:
    """``"2d"`` or ``"1d"`` for a valid backbone name; ``KeyError`` listing valid names otherwise."""
    valid = available_encoders()
    for kind in ("1d", "2d"):
        if name in valid[kind]:
            return kind
    raise KeyError(
        f"unknown encoder {name!r}; valid 2-D (timm) names: {', '.join(valid['2d'])}; "
        f"valid 1-D names: {', '.join(valid['1d'])}"
    )


class Encoder(nn.Module):
    """Waveform encoder: transform (normalisation + representation, no weights) then a backbone.

    Attributes:
        transform: :class:`~ssl_waveform.transforms.WaveformTransform`, ``[B, C, T] -> model input``.
        backbone: timm ``ConvNeXt`` or ``EfficientNet`` (2-D) or :class:`ConvNeXt1d`, built with
            ``num_classes=0``.
        kind: ``"2d"`` or ``"1d"``.
        num_features: Embedding size ``D``.
        reduction: Total stride of the backbone (32).
        config: Its :class:`~ssl_waveform.models.config.EncoderConfig` (written as ``config.json``).
    """

    reduction = 32
    backbone: Any  # timm ConvNeXt or ConvNeXt1d: forward_features / forward_head / num_features

    def __init__(self, transform: WaveformTransform, backbone: Any, config: EncoderConfig) -> None:
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.kind = transform.kind
        self.num_features = int(backbone.num_features)
        self.config = config

    @property
    def sample_rate(self) -> float:
        """Sampling rate in Hz the encoder expects."""
        return float(self.config.sample_rate)

    @property
    def in_chans(self) -> int:
        return self.transform.in_chans

    def forward_features_input(self, model_input: torch.Tensor) -> torch.Tensor:
        """Backbone feature map of a model input: ``[B, D, H/32, W/32]`` or ``[B, D, T/32]``."""
        return self.backbone.forward_features(model_input)

    def forward_input(self, model_input: torch.Tensor) -> torch.Tensor:
        """Pooled, normalised embedding ``[B, D]`` of a model input (skips the transform)."""
        return self.backbone.forward_head(self.forward_features_input(model_input), pre_logits=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map of waveforms ``x`` ``[B, C, T]``."""
        return self.forward_features_input(self.transform(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding ``[B, D]`` of waveforms ``x`` ``[B, C, T]``."""
        return self.forward_input(self.transform(x))

    def standardize_inputs(self, windows: np.ndarray | torch.Tensor, replace: bool = False) -> None:
        """Standardise the model input with statistics of ``windows`` ``[N, C, T]`` (labels unused): per channel
        and pixel for images, per channel for sequences (:func:`~ssl_waveform.transforms.input_statistics`).

        The statistics become part of the encoder (``config.input_norm``): saved, reloaded, exported and
        kept by fine-tuning unless it recomputes them.

        Args:
            windows: waveforms in the corpus units.
            replace: replace an existing standardisation (e.g. ImageNet's mean/std, or a pretraining corpus's
                statistics when fine-tuning on another domain) instead of refusing.

        Raises:
            ValueError: the encoder already standardises its input and ``replace`` is False.
        """
        if self.transform.input_mean is not None and not replace:
            raise ValueError(
                "this encoder already standardises its input (config input_norm, e.g. ImageNet's mean/std); "
                "standardize_inputs applies to encoders without one"
            )
        x = torch.as_tensor(np.asarray(windows, dtype=np.float32))
        mean, std = input_statistics(self.transform, x)  # before any input scaling
        self.transform.set_input_norm(mean, std)
        self.config.input_norm = InputNorm(
            mean=list(self.transform.input_mean or []), std=list(self.transform.input_std or [])
        )

    @torch.no_grad()
    def embed(
        self, x: np.ndarray | torch.Tensor, sample_rate: float, batch_size: int = 256
    ) -> np.ndarray:
        """Embed waveforms, resampling them to the encoder's sample rate first when needed.

        Args:
            x: Waveforms ``[N, C, T]`` in any units (normalisation is part of the encoder).
            sample_rate: Their sampling rate in Hz.
            batch_size: Windows per forward pass.

        Returns:
            float32 embeddings ``[N, D]``. Runs in eval mode on the encoder's device.
        """
        if x.ndim != 3:
            raise ValueError(
                f"embed: expected waveforms [N, C, T] (rank 3), got shape {tuple(x.shape)}; "
                "add a batch axis with x[None] for a single window"
            )
        if x.shape[1] != self.in_chans:
            names = self.config.channel_names
            raise ValueError(
                f"embed: the encoder takes {self.in_chans} channels ({names}), got {x.shape[1]} "
                f"(shape {tuple(x.shape)})"
            )
        if batch_size < 1:
            raise ValueError(f"embed: batch_size must be >= 1, got {batch_size}")
        if sample_rate != self.sample_rate:
            from ssl_waveform.data import resample

            array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            x = resample(array.astype(np.float32), sample_rate, self.sample_rate, axis=-1)
        waves = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            out = [
                self(waves[i : i + batch_size].to(device=device, dtype=torch.float32)).float().cpu()
                for i in range(0, waves.shape[0], batch_size)
            ]
        finally:
            self.train(was_training)
        if not out:
            return np.zeros((0, self.num_features), dtype=np.float32)
        return torch.cat(out).numpy()

    def save(self, path: str | Path, provenance: dict[str, Any] | None = None) -> Path:
        """Write ``model.safetensors`` (backbone state dict) and ``config.json`` into folder ``path``.

        For 2-D encoders the weights file is a timm state dict that
        ``timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=...),
        num_classes=0, in_chans=C)`` loads. Files are written under temporary names and renamed.

        Args:
            path: Output folder (created if needed; existing encoder files are replaced).
            provenance: Extra entries merged into ``config.provenance`` (e.g. method, run, step).

        Returns:
            The folder path.
        """
        if provenance:
            self.config.provenance = {**self.config.provenance, **provenance}
        return save_model_folder(path, self.backbone.state_dict(), self.config.to_dict())


def _build_transform(config: EncoderConfig) -> WaveformTransform:
    rep = dict(config.representation)
    norm = dict(config.normalization)
    input_norm = config.input_norm
    return create_pipeline(
        rep.pop("name"),
        config.architecture.in_chans,
        sample_rate=config.sample_rate,
        normalization=norm.pop("mode"),
        norm_mean=norm.pop("mean", None),
        norm_std=norm.pop("std", None),
        norm_eps=norm.pop("eps"),
        input_mean=None if input_norm is None else input_norm.mean,
        input_std=None if input_norm is None else input_norm.std,
        **rep,
    )


def _build_backbone(config: EncoderConfig) -> Any:
    arch = config.architecture
    if arch.kind == "1d":
        return create_convnext1d(arch.name, arch.in_chans, drop_path_rate=arch.drop_path_rate)
    return timm.create_model(
        arch.name,
        pretrained=False,
        num_classes=0,
        in_chans=arch.in_chans,
        drop_path_rate=arch.drop_path_rate,
    )


def _versions() -> dict[str, str]:
    import ssl_waveform

    return {
        "ssl_waveform": ssl_waveform.__version__,
        "torch": torch.__version__,
        "timm": timm.__version__,
    }


def create_encoder(
    name: str,
    representation: str,
    in_chans: int,
    init: Init | str | Path = "scratch",
    *,
    imagenet_weights: str | Path | None = None,
    inflate: str = "sum",
    sample_rate: float = 20_000.0,
    window: int = 2048,
    image_size: int | None = None,
    channel_names: Sequence[str] | None = None,
    normalization: str = "shared_scale",
    norm_mean: Sequence[float] | None = None,
    norm_std: Sequence[float] | None = None,
    drop_path_rate: float = 0.0,
    transform_kwargs: dict[str, Any] | None = None,
) -> Encoder:
    """Build an encoder from a backbone name and a representation name.

    Args:
        name: Backbone: a timm ConvNeXt (``convnext_atto`` ... ``convnext_base``, ``convnextv2_*``,
            ``test_convnext*``) or EfficientNet-Lite (``efficientnet_lite0``, built as timm's
            ``tf_efficientnet_lite0``; ``tf_efficientnet_lite1..4``) for 2-D representations, or a 1-D
            ConvNeXt (``convnext1d_*``, ``convnext1dv2_*``) for ``raw``. See :func:`available_encoders`.
        representation: ``stft``, ``cwt``, ``fold``, ``gaf`` (2-D) or ``raw`` (1-D).
        in_chans: Waveform channels ``C``.
        init: An :class:`~ssl_waveform.identity.Init`, or its text (``Init.parse``): ``scratch`` (random),
            ``imagenet`` (ImageNet weights; inflated for 1-D), a shipped encoder's name or the path of a saved
            encoder folder (or its ``model.safetensors``) to start from.
        imagenet_weights: Local timm checkpoint for ``init="imagenet"``; ``None`` uses the weights a
            package ships (``efficientnet_lite0``, extra ``ssl_waveform[imagenet]``), else the hub/cache.
        inflate: 2-D -> 1-D inflation rule (``"sum"`` or ``"centre"``), 1-D ImageNet init only.
        sample_rate: Sampling rate in Hz the encoder expects.
        window: Window length in samples it is trained on (recorded in the config).
        image_size: Side of 2-D representations (multiple of 32, default 64).
        channel_names: Names of the ``C`` channels (recorded), default ``ch0 ...``.
        normalization: ``shared_scale`` (default: one RMS scale per window, offsets and phase ratios
            kept; for channels that share a unit), ``per_sample``, ``per_sample_shared``, ``corpus`` or
            ``none`` (docs/representations.md).
        norm_mean: Per-channel corpus mean for ``normalization="corpus"``.
        norm_std: Per-channel corpus std for ``normalization="corpus"``.
        drop_path_rate: Stochastic depth rate.
        transform_kwargs: Representation-specific settings (e.g. ``{"n_fft": 512}``).

    Returns:
        The :class:`Encoder`. With ``init="imagenet"`` and ``C == 3``, 2-D inputs are standardised
        with the checkpoint's ImageNet mean/std after the representation (stored in the config).

    Raises:
        KeyError: unknown backbone or representation name (lists the valid ones).
        ValueError: representation kind does not fit the backbone, or bad settings.
        ImageNetWeightsError: ImageNet weights unavailable (says how to provide them).
    """
    start = Init.parse(init)
    kind = backbone_kind(name)
    name = resolve_encoder_name(name)
    _check_fit(name, kind, representation, in_chans, channel_names)
    if kind == "2d" and image_size is None:
        image_size = DEFAULT_IMAGE_SIZE
    rep_settings = dict(transform_kwargs or {})
    if image_size is not None:
        rep_settings["image_size"] = image_size
    probe = create_pipeline(representation, in_chans, sample_rate=sample_rate, **rep_settings)
    config = _encoder_config(
        name, kind, in_chans, start, {"name": representation, **probe.representation.config()},
        normalization=_normalization_config(normalization, norm_mean, norm_std),
        sample_rate=sample_rate, window=window, channel_names=channel_names,
        drop_path_rate=drop_path_rate,
    )  # fmt: skip
    if start.kind == "scratch":
        backbone = _build_backbone(config)
    elif start.kind == "imagenet":
        backbone = _imagenet_backbone(config, imagenet_weights, inflate)
    elif start.pretrained:
        backbone = _backbone_from_folder(config, start.weights_path())
    else:
        raise ValueError(f"init={start}: resolve it first (FinetuneConfig's auto search)")
    config.architecture.num_features = int(backbone.num_features)
    return Encoder(_build_transform(config), backbone, config)


def create_encoder_for_corpus(
    corpus: Corpus,
    name: str,
    representation: str,
    *,
    init: Init | str | Path = "scratch",
    imagenet_weights: str | Path | None = None,
    image_size: int = 64,
    normalization: str = "shared_scale",
    drop_path_rate: float = 0.0,
) -> Encoder:
    """:func:`create_encoder` fitted to a corpus: its channels, names, sample rate and window; its statistics
    for ``normalization="corpus"``; a warning when one scale would span channels of different units.

    Args:
        corpus: An open ``ssl_waveform.data.Corpus``.
        name, representation, init, imagenet_weights, normalization, drop_path_rate: as in
            :func:`create_encoder`.
        image_size: Side of 2-D representations (ignored for ``raw``).
    """
    warn_if_mixed_units(normalization, corpus.channel_names, corpus.units)
    stats: dict[str, Any] = {}
    if normalization == "corpus":
        stats = {"norm_mean": corpus.stats["mean"], "norm_std": corpus.stats["std"]}
    return create_encoder(
        name,
        representation,
        corpus.num_channels,
        init=init,
        imagenet_weights=imagenet_weights,
        sample_rate=corpus.sample_rate,
        window=corpus.window_length,
        image_size=image_size if representation != "raw" else None,
        channel_names=corpus.channel_names,
        normalization=normalization,
        drop_path_rate=drop_path_rate,
        **stats,
    )


def _check_fit(
    name: str, kind: str, representation: str, in_chans: int,
    channel_names: Sequence[str] | None,
) -> None:  # fmt: skip
    """Raise unless the representation suits the backbone and there is one name per channel."""
    rep_kind = transform_class(representation).kind
    if rep_kind != kind:
        raise ValueError(
            f"representation {representation!r} produces {rep_kind} inputs but backbone {name!r} is "
            f"{kind}; use 'raw' with convnext1d_* backbones and stft/cwt/fold/gaf with 2-D ones"
        )
    if channel_names is not None and len(channel_names) != in_chans:
        raise ValueError(f"channel_names has {len(channel_names)} entries, in_chans is {in_chans}")


def _normalization_config(
    mode: str, norm_mean: Sequence[float] | None, norm_std: Sequence[float] | None
) -> dict[str, Any]:
    """The ``normalization`` config entry; corpus statistics only go with ``mode="corpus"``."""
    config: dict[str, Any] = {"mode": mode, "eps": 1e-6}
    if mode == "corpus":
        config.update(
            mean=None if norm_mean is None else [float(v) for v in norm_mean],
            std=None if norm_std is None else [float(v) for v in norm_std],
        )
    elif norm_mean is not None or norm_std is not None:
        raise ValueError(
            f"norm_mean/norm_std are only used with normalization='corpus', not {mode!r}"
        )
    return config


def _encoder_config(
    name: str, kind: str, in_chans: int, init: Init, representation: dict[str, Any], *,
    normalization: dict[str, Any], sample_rate: float, window: int,
    channel_names: Sequence[str] | None, drop_path_rate: float,
) -> EncoderConfig:  # fmt: skip
    """The encoder config (``num_features`` is added once the backbone is built)."""
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return EncoderConfig(
        architecture=ArchitectureConfig(
            name=name,
            kind="1d" if kind == "1d" else "2d",
            in_chans=int(in_chans),
            drop_path_rate=float(drop_path_rate),
            reduction=Encoder.reduction,
        ),
        representation=representation,
        normalization=normalization,
        sample_rate=float(sample_rate),
        window=int(window),
        channel_names=list(channel_names) if channel_names else [f"ch{i}" for i in range(in_chans)],
        provenance={"init": str(init), "created_utc": created, "versions": _versions()},
    )


def _imagenet_backbone(config: EncoderConfig, weights: str | Path | None, inflate: str) -> Any:
    arch, prov = config.architecture, config.provenance
    prov["imagenet_weights"] = None if weights is None else str(weights)
    if arch.kind == "1d":
        backbone_1d, source = create_imagenet_convnext1d(
            arch.name, arch.in_chans, weights, inflate, drop_path_rate=arch.drop_path_rate
        )
        prov["imagenet_source"] = source.pretrained_cfg.get("architecture")
        prov["inflate"] = inflate
        return backbone_1d
    backbone: Any
    if weights is None and arch.name in PACKAGED_IMAGENET:
        backbone = create_packaged_imagenet_timm(
            arch.name, arch.in_chans, drop_path_rate=arch.drop_path_rate
        )
        prov["imagenet_weights"] = PACKAGED_IMAGENET[arch.name].distribution
    else:
        backbone = create_imagenet_timm(
            arch.name, arch.in_chans, weights, drop_path_rate=arch.drop_path_rate
        )
    prov["imagenet_source"] = backbone.pretrained_cfg.get("architecture")
    if arch.in_chans == 3:
        mean, std = imagenet_mean_std(backbone)
        config.input_norm = InputNorm([float(v) for v in mean], [float(v) for v in std])
    return backbone


def _backbone_from_folder(config: EncoderConfig, path: Path) -> Any:
    """Backbone of ``config`` initialised from a saved encoder folder (or its weights file)."""
    folder = path if path.is_dir() else path.parent
    weights = folder / WEIGHTS_FILE if path.is_dir() else path
    if not weights.is_file():
        raise FileNotFoundError(
            f"init={str(path)!r} is neither 'scratch', 'imagenet' nor an encoder folder with "
            f"{WEIGHTS_FILE}; pass one of those"
        )
    if (folder / CONFIG_FILE).is_file():
        source = _read_config(folder)
        for field in ("name", "in_chans"):
            theirs, ours = getattr(source.architecture, field), getattr(config.architecture, field)
            if theirs != ours:
                raise ValueError(
                    f"init encoder {str(folder)!r} has architecture.{field}={theirs!r}, this encoder "
                    f"needs {ours!r}"
                )
        config.input_norm = source.input_norm
        config.provenance["init_from"] = source.provenance
    backbone = _build_backbone(config)
    _load_weights(backbone, weights)
    return backbone


def save_model_folder(
    path: str | Path, state: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> Path:
    """Write a model folder: ``model.safetensors`` (``state``) and ``config.json`` (``config``).

    The writer of encoder and classifier folders. The config is serialised before anything is written;
    each file is written under a temporary name and renamed, weights first.

    Args:
        path: Output folder (created if needed; existing files of the same names are replaced).
        state: A state dict; tensors are saved detached, on the CPU and contiguous.
        config: JSON-serialisable config, written with sorted keys.

    Returns:
        The folder path.
    """
    folder = Path(path)
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata={"format": "pt"})
    atomic_write_text(folder / CONFIG_FILE, text)
    return folder


def load_safetensors(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file; a corrupt, truncated or non-safetensors file is a ValueError naming it."""
    try:
        return safetensors.torch.load_file(str(path), device=device)
    except Exception as err:  # SafetensorError, OSError, ...: say which file and what it should be
        raise ValueError(
            f"{str(path)!r} is not a readable safetensors file ({type(err).__name__}: {err}); it may be "
            "truncated, corrupt or in another format: re-export it (weights are never read from pickles)"
        ) from err


def _load_weights(backbone: nn.Module, weights: Path) -> None:
    state = load_safetensors(weights)
    try:
        backbone.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"weights in {str(weights)!r} do not fit the backbone: {err}") from err


def _read_config(folder: Path) -> EncoderConfig:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} not found: an encoder folder holds {CONFIG_FILE} and {WEIGHTS_FILE} "
            "(written by Encoder.save)"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(path)!r} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r}: expected a JSON object, got {type(data).__name__}")
    return EncoderConfig.from_dict(data, source=repr(str(path)))


def resolve_encoder_folder(path: str | Path) -> Path:
    """An encoder folder from a path or a shipped encoder's name (checked against its recorded checksums)."""
    init = Init.parse(path)
    return init.weights_path() if init.pretrained else Path(path)


def load_encoder(path: str | Path, map_location: str | torch.device = "cpu") -> Encoder:
    """Load an encoder folder written by :meth:`Encoder.save`, or a shipped encoder by name (no pickles).

    Args:
        path: The folder holding ``config.json`` and ``model.safetensors``, or the name of a shipped encoder
            (``python -m ssl_waveform.zoo`` lists them; an encoder folder of that name wins).
        map_location: Device to place the encoder on.

    Returns:
        The encoder in eval mode, with its representation, normalisation and weights.
    """
    folder = resolve_encoder_folder(path)
    config = _read_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{str(weights)!r} not found; the encoder folder is incomplete")
    return encoder_from_config(config, weights).to(map_location).eval()


def read_encoder_config(path: str | Path) -> EncoderConfig:
    """The validated ``config.json`` of an encoder folder.

    Raises:
        FileNotFoundError: no ``config.json`` in the folder. ValueError: not an encoder config.
    """
    return _read_config(Path(path))


def encoder_from_config(
    config: EncoderConfig | Mapping[str, Any], weights: str | Path | None = None
) -> Encoder:
    """Build the encoder a config (or its JSON form, as in ``config.json``) describes.

    Args:
        config: an encoder config, e.g. from :func:`read_encoder_config` or a classifier folder (edit
            ``architecture.drop_path_rate`` and the like before building).
        weights: optional ``model.safetensors`` of the backbone; random initialisation when None.

    Returns:
        The encoder (train mode, on the CPU).
    """
    config = EncoderConfig.from_dict(config)  # a copy: the encoder owns its config
    backbone = _build_backbone(config)
    if weights is not None:
        _load_weights(backbone, Path(weights))
    return Encoder(_build_transform(config), backbone, config)
