"""Masked autoencoder for ConvNeXt encoders (2-D representations or 1-D waveforms).

The mask cell is a setting of its own (default: the largest cell giving at least 64 cells per
sample, :func:`~ssl_waveform.methods.masking.default_mask_cell`), and it decides how the encoder
is kept from seeing hidden cells:

- cell == the encoder's total stride: FCMAE, Woo et al., "ConvNeXt V2: Co-designing and Scaling
  ConvNets with Masked Autoencoders", CVPR 2023, https://arxiv.org/abs/2301.00808 — a
  sparse-emulating forward (:func:`~ssl_waveform.methods.sparse.masked_forward_features`), and a
  light decoder that fills the hidden cells with a learned mask token.
- cell finer than the total stride (a multiple of the patchify stem's stride): SimMIM, Xie et al.,
  CVPR 2022, https://arxiv.org/abs/2111.09886 — hidden cells are replaced by a learned token after
  the stem and the encoder runs densely
  (:func:`~ssl_waveform.methods.sparse.token_masked_forward_features`); the same light decoder
  predicts every pixel from the stride-32 feature map.

In both the loss is the MSE on hidden cells with per-cell target normalisation. On a 64x64 image
the total stride gives only 2x2 cells, a degenerate task (docs/results.md, the mask-grid ablation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from timm.layers import trunc_normal_
from timm.models.convnext import ConvNeXt, ConvNeXtBlock
from torch import Tensor, nn

from ssl_waveform.augment import AugmentationPolicy, create_policy
from ssl_waveform.losses import MaskedReconstructionLoss
from ssl_waveform.methods.masking import (
    MIN_CELLS,
    check_masking,
    default_mask_cell,
    fit_to_cells,
    make_mask,
    patchify,
    unpatchify,
    upsample_mask,
)
from ssl_waveform.methods.sparse import (
    masked_forward_features,
    patchify_stem_stride,
    stem_conv,
    token_masked_forward_features,
)
from ssl_waveform.models import ConvNeXt1d, ConvNeXtBlock1d, Encoder

_CONV: dict[str, type[nn.Conv1d] | type[nn.Conv2d]] = {"1d": nn.Conv1d, "2d": nn.Conv2d}
_NDIM = {"1d": 1, "2d": 2}


def _decoder_block_2d(dim: int) -> nn.Module:
    return ConvNeXtBlock(dim, kernel_size=7, use_grn=True, ls_init_value=None)


def _decoder_block_1d(dim: int) -> nn.Module:
    return ConvNeXtBlock1d(dim, kernel_size=7, use_grn=True, ls_init_value=None)


_DECODER_BLOCK: dict[str, Callable[[int], nn.Module]] = {
    "1d": _decoder_block_1d,
    "2d": _decoder_block_2d,
}


def _check_kind(kind: str) -> None:
    if kind not in _CONV:
        raise ValueError(f"unknown encoder kind {kind!r}; valid kinds: {', '.join(sorted(_CONV))}")


def _check_backbone(encoder: Encoder) -> None:
    # Both masking paths need ConvNeXt's structure: the sparse emulation re-masks after every ConvNeXt
    # block and downsampling layer, and the SimMIM-style token enters after a patchify stem. A backbone with
    # overlapping strided convolutions and batch norm (EfficientNet) has neither, so it is refused here.
    if not isinstance(encoder.backbone, (ConvNeXt, ConvNeXt1d)):
        raise ValueError(
            f"MaskedAutoencoder needs a ConvNeXt backbone (2-D timm convnext*/convnextv2* or 1-D "
            f"convnext1d*), got {encoder.config.architecture.name!r} "
            f"({type(encoder.backbone).__name__}); pretrain it with SimCLR instead "
            "(recipes/pretrain_simclr.py)"
        )


def input_channels(backbone: nn.Module) -> int:
    """Channels of the model input a ConvNeXt backbone expects (read from its stem's first conv)."""
    return stem_conv(backbone).in_channels


class FCMAEDecoder(nn.Module):
    """Light FCMAE decoder: 1x1 projection, mask tokens, one ConvNeXt block, per-cell linear head.

    Args:
        kind: ``"2d"`` for ``[B, D, H, W]`` feature maps, ``"1d"`` for ``[B, D, L]``.
        in_dim: Encoder feature channels ``D``.
        out_chans: Channels ``C`` of the model input to reconstruct.
        cell: Samples per spatial axis predicted from one feature-map position (the encoder's
            total stride).
        dim: Decoder width.
    """

    def __init__(self, kind: str, in_dim: int, out_chans: int, cell: int, dim: int = 256) -> None:
        super().__init__()
        _check_kind(kind)
        conv = _CONV[kind]
        nd = _NDIM[kind]
        self.out_chans = out_chans
        self.cell_values = cell**nd
        self.proj = conv(in_dim, dim, kernel_size=1)
        self.mask_token = nn.Parameter(torch.zeros(1, dim, *(1,) * nd))
        self.block = _DECODER_BLOCK[kind](dim)
        self.pred = conv(dim, out_chans * self.cell_values, kernel_size=1)
        trunc_normal_(self.mask_token, std=0.02)

    def forward(self, latent: Tensor, visible: Tensor) -> Tensor:
        """Predict every cell's values.

        Args:
            latent: Encoder feature map ``[B, D, *G]``.
            visible: ``[B, *G]`` boolean, ``True`` where the encoder saw the cell.

        Returns:
            ``[B, C, N, P]`` predictions (``N = prod(G)`` cells of ``P = cell**ndim`` values).
        """
        x = self.proj(latent)  # [B, dim, *G]
        x = torch.where(visible.unsqueeze(1), x, self.mask_token.to(x.dtype))
        x = self.pred(self.block(x))  # [B, C * P, *G]
        b = x.shape[0]
        return x.reshape(b, self.out_chans, self.cell_values, -1).transpose(2, 3)


class MaskedAutoencoder(nn.Module):
    """Masked-autoencoder pretraining of an encoder; ``forward(batch)`` returns the loss for the engine.

    Args:
        encoder: An ``ssl_waveform.models`` encoder (``transform``, ``backbone``, ``kind``,
            ``num_features``, ``reduction``, ``config.window``).
        mask_ratio: Fraction of units hidden (cells, time columns or channels), default 0.6.
        masking: Masking strategy name: ``random``, ``time`` or ``channel``.
        decoder_dim: Decoder width.
        norm_pix_loss: Normalise each target cell by its mean and standard deviation.
        mask_cell: Cell size in model-input samples per spatial axis; ``None`` picks the largest
            cell with at least 64 cells per sample for the encoder's window. It must divide the
            total stride; a finer cell must be a multiple of the patchify stem's stride.
        augment: Waveform augmentation policy name or module applied in training before the representation;
            the masked input and the reconstruction target come from the same augmented view (MAE's own
            random-resized-crop, He et al. 2022, in the waveform domain: ``invariant`` varies speed, amplitude
            and sensor nuisances). ``none`` (default) leaves the waveform as it is.
    """

    def __init__(
        self,
        encoder: Encoder,
        mask_ratio: float = 0.6,
        masking: str = "random",
        decoder_dim: int = 256,
        norm_pix_loss: bool = True,
        mask_cell: int | None = None,
        augment: str | AugmentationPolicy = "none",
    ) -> None:
        super().__init__()
        check_masking(masking)
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"MaskedAutoencoder: mask_ratio must be in (0, 1), got {mask_ratio}")
        _check_kind(encoder.kind)
        _check_backbone(encoder)
        self.encoder = encoder
        self.mask_ratio = mask_ratio
        self.masking = masking
        self.stride = int(encoder.reduction)
        self.in_chans = input_channels(encoder.backbone)
        self.cell = self._pick_cell(mask_cell)
        self.sparse = self.cell == self.stride
        self.mask_token: nn.Parameter | None = None
        if not self.sparse:
            width = stem_conv(encoder.backbone).out_channels
            self.mask_token = nn.Parameter(torch.zeros(1, width, *(1,) * _NDIM[encoder.kind]))
            trunc_normal_(self.mask_token, std=0.02)
        self.decoder = FCMAEDecoder(
            encoder.kind, encoder.num_features, self.in_chans, self.stride, dim=decoder_dim
        )
        self.criterion = MaskedReconstructionLoss(norm_target=norm_pix_loss)
        self.augment = create_policy(augment) if isinstance(augment, str) else augment

    def _pick_cell(self, mask_cell: int | None) -> int:
        if mask_cell is not None and (mask_cell < 1 or self.stride % mask_cell):
            raise ValueError(
                f"MaskedAutoencoder: mask_cell={mask_cell} must be a positive divisor of the "
                f"encoder's total stride {self.stride}"
            )
        if mask_cell is None:
            probe = torch.zeros(1, self.encoder.in_chans, int(self.encoder.config.window))
            spatial = tuple(self.prepare_input(probe).shape[2:])
            if math.prod(s // self.stride for s in spatial) >= MIN_CELLS:
                return self.stride  # stride cells already give enough: FCMAE needs no stem check
            mask_cell = default_mask_cell(spatial, self.stride, self._stem_stride())
        elif mask_cell < self.stride and mask_cell % self._stem_stride():
            raise ValueError(
                f"MaskedAutoencoder: mask_cell={mask_cell} is finer than the total stride, so it "
                f"must be a multiple of the stem's stride {self._stem_stride()}"
            )
        return mask_cell

    def _stem_stride(self) -> int:
        try:
            return patchify_stem_stride(self.encoder.backbone)
        except ValueError as err:
            raise ValueError(
                f"MaskedAutoencoder: {err}; pass mask_cell={self.stride} (the total stride, FCMAE's "
                "sparse emulation) for this backbone"
            ) from err

    def prepare_input(self, waveform: Tensor) -> Tensor:
        """Waveforms ``[B, C, T]`` -> model input ``[B, C', *S]`` zero-padded to the total stride."""
        return fit_to_cells(self.encoder.transform(waveform), self.stride)

    def forward_encoder(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Encode the visible part of the input.

        Args:
            x: Model input ``[B, C, *S]``.
            mask: ``[B, C, *G]`` boolean, ``True`` on hidden cells.

        Returns:
            ``(latent, visible)``: feature map ``[B, D, *S // stride]`` and the ``[B, *S // stride]``
            positions the decoder treats as encoded. With stride-sized cells these are the cells
            hidden in no channel (the latent is zero elsewhere); with finer cells every position
            is encoded (hidden cells entered as the mask token).
        """
        x = x * ~upsample_mask(mask, tuple(x.shape[2:]))  # hidden channel-cells read as zero
        visible = ~mask.all(dim=1)
        if self.sparse:
            return masked_forward_features(self.encoder.backbone, x, visible), visible
        assert self.mask_token is not None
        latent = token_masked_forward_features(self.encoder.backbone, x, visible, self.mask_token)
        return latent, torch.ones_like(latent[:, 0], dtype=torch.bool)

    def forward_decoder(self, latent: Tensor, visible: Tensor, spatial: tuple[int, ...]) -> Tensor:
        """Feature map ``[B, D, *S // stride]`` -> predictions ``[B, C, N, P]`` per mask cell."""
        pred = self.decoder(latent, visible)  # [B, C, positions, stride ** ndim]
        if self.sparse:
            return pred
        return patchify(unpatchify(pred, self.stride, spatial), self.cell)

    def forward_loss(self, x: Tensor, pred: Tensor, mask: Tensor) -> Tensor:
        """MSE of ``pred`` ``[B, C, N, P]`` against the cells of ``x`` ``[B, C, *S]`` hidden by ``mask``."""
        return self.criterion(pred, patchify(x, self.cell), mask.flatten(2))

    def forward(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """One pretraining step's forward pass.

        Args:
            batch: ``{"x": waveforms [B, C, T] float32, ...}``.

        Returns:
            ``{"loss": scalar, "mask_ratio": scalar}``.
        """
        waveform = self.augment(batch["x"]) if self.training else batch["x"]
        x = self.prepare_input(waveform)
        mask = make_mask(x, self.cell, self.mask_ratio, self.masking)
        latent, visible = self.forward_encoder(x, mask)
        pred = self.forward_decoder(latent, visible, tuple(x.shape[2:]))
        loss = self.forward_loss(x, pred, mask)
        return {"loss": loss, "mask_ratio": mask.float().mean().detach()}

    @torch.no_grad()
    def reconstruct(
        self, waveform: Tensor, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Mask, encode and decode a batch for inspection (e.g. figures).

        Args:
            waveform: ``[B, C, T]`` waveforms.
            generator: Optional generator on the input's device for a reproducible mask.

        Returns:
            ``input`` ``[B, C', *S]``, ``mask`` (``[B, C', *S]`` bool, ``True`` hidden) and
            ``reconstruction`` ``[B, C', *S]`` in input units: hidden cells are predictions
            (de-normalised with the true cell statistics when ``norm_pix_loss`` is on, as in MAE's
            visualisation), visible cells are the input.
        """
        x = self.prepare_input(waveform)
        mask = make_mask(x, self.cell, self.mask_ratio, self.masking, generator)
        latent, visible = self.forward_encoder(x, mask)
        pred = self.forward_decoder(latent, visible, tuple(x.shape[2:])).float()
        if self.criterion.norm_target:
            target = patchify(x, self.cell).float()
            std = torch.sqrt(target.var(dim=-1, keepdim=True, unbiased=False) + self.criterion.eps)
            pred = pred * std + target.mean(dim=-1, keepdim=True)
        spatial = tuple(x.shape[2:])
        dense_mask = upsample_mask(mask, spatial)
        recon = torch.where(dense_mask, unpatchify(pred, self.cell, spatial).to(x.dtype), x)
        return {"input": x, "mask": dense_mask, "reconstruction": recon}

    def extra_repr(self) -> str:
        mode = "fcmae" if self.sparse else "simmim"
        return f"mask_ratio={self.mask_ratio}, masking={self.masking!r}, cell={self.cell} ({mode})"
