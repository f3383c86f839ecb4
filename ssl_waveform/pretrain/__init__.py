"""Self-supervised pretraining (MAE and SimCLR): typed configs and the functions the recipes call.

``recipes/pretrain_mae.py`` and ``recipes/pretrain_simclr.py`` are thin scripts over :func:`pretrain_mae` and
:func:`pretrain_simclr`; the quickstart and the benchmark call the same functions. Every run folder ends with an
``encoder/`` folder (``model.safetensors`` + ``config.json``) that ``ssl_waveform.load_encoder`` and
``python -m ssl_waveform.finetune --init`` read directly.
"""

from ssl_waveform.pretrain.config import EncoderSpec, MAEConfig, PretrainRun, SimCLRConfig
from ssl_waveform.pretrain.run import (
    build_encoder,
    corpus_root,
    pretrain_mae,
    pretrain_simclr,
)

__all__ = [
    "EncoderSpec",
    "MAEConfig",
    "PretrainRun",
    "SimCLRConfig",
    "build_encoder",
    "corpus_root",
    "pretrain_mae",
    "pretrain_simclr",
]
