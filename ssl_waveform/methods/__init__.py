"""Self-supervised pretraining methods: FCMAE-style masked autoencoding and SimCLR."""

from ssl_waveform.methods.mae import FCMAEDecoder, MaskedAutoencoder
from ssl_waveform.methods.masking import (
    fit_to_cells,
    list_masking,
    make_mask,
    patchify,
    unpatchify,
    upsample_mask,
)
from ssl_waveform.methods.simclr import SimCLR
from ssl_waveform.methods.sparse import masked_forward_features, masked_grn

__all__ = [
    "FCMAEDecoder",
    "MaskedAutoencoder",
    "SimCLR",
    "fit_to_cells",
    "list_masking",
    "make_mask",
    "masked_forward_features",
    "masked_grn",
    "patchify",
    "unpatchify",
    "upsample_mask",
]
