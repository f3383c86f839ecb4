"""Self-supervised pretraining methods: masked autoencoding (FCMAE / SimMIM cells) and SimCLR."""

from ssl_waveform.methods.mae import FCMAEDecoder, MaskedAutoencoder
from ssl_waveform.methods.masking import (
    default_mask_cell,
    fit_to_cells,
    list_masking,
    make_mask,
    patchify,
    unpatchify,
    upsample_mask,
)
from ssl_waveform.methods.simclr import SimCLR
from ssl_waveform.methods.sparse import (
    masked_forward_features,
    masked_grn,
    patchify_stem_stride,
    token_masked_forward_features,
)

__all__ = [
    "FCMAEDecoder",
    "MaskedAutoencoder",
    "SimCLR",
    "default_mask_cell",
    "fit_to_cells",
    "list_masking",
    "make_mask",
    "masked_forward_features",
    "masked_grn",
    "patchify",
    "patchify_stem_stride",
    "token_masked_forward_features",
    "unpatchify",
    "upsample_mask",
]
