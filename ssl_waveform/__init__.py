"""ssl_waveform: self-supervised pretraining of ConvNeXt encoders on converter waveforms.

The public entry points are imported lazily so that ``import ssl_waveform`` stays cheap
(the data layer and the simulator do not need torch models to be built).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (explicit table, no globals() look-ups)
_LAZY: dict[str, str] = {
    "create_encoder": "ssl_waveform.models",
    "load_encoder": "ssl_waveform.models",
    "list_pretrained": "ssl_waveform.zoo",
    "load_classifier": "ssl_waveform.methods.classify",
    "Corpus": "ssl_waveform.data",
    "CorpusWriter": "ssl_waveform.data",
    # the simulator's function is ssl_waveform.sim.simulate: ssl_waveform.simulate is the CLI module
    # (python -m ssl_waveform.simulate), and a lazy attribute of that name became the module once imported
    "OperatingPoint": "ssl_waveform.sim",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ssl_waveform' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
