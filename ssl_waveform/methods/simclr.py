"""SimCLR with waveform-domain augmentations, lightly's projection head and NT-Xent loss.

Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
https://arxiv.org/abs/2002.05709. Two views of each waveform are drawn by an augmentation policy
(before the representation, so the views stay physically meaningful), encoded, projected and
contrasted; negatives are gathered from every process (``NTXentLoss(gather_distributed=True)``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead
from torch import Tensor, nn

from ssl_waveform.augment import AugmentationPolicy, create_policy
from ssl_waveform.models import Encoder


def _distributed_on_accelerator() -> bool:
    """True under a multi-process group whose backend can run ``SyncBatchNorm`` (not gloo/CPU)."""
    return (
        dist.is_available()
        and dist.is_initialized()
        and dist.get_world_size() > 1
        and dist.get_backend() != "gloo"
    )


class SimCLR(nn.Module):
    """SimCLR pretraining of an encoder; ``forward(batch)`` returns the loss for the engine.

    Args:
        encoder: An ``ssl_waveform.models`` encoder: ``forward(waveform [B, C, T]) -> [B, D]``
            (it applies its own representation) and ``num_features`` = ``D``.
        augment: Policy name (see :func:`ssl_waveform.augment.list_policies`) or a policy module.
        hidden_dim: Projection head hidden width (default: ``D``).
        output_dim: Projection size the loss sees.
        temperature: NT-Xent temperature.
        head_batch_norm: Batch norm in the projection head (SimCLR's choice).
        sync_batchnorm: Convert the head's batch norms to ``SyncBatchNorm``. ``None`` does so when a
            multi-process group with a non-gloo backend is already initialised (build the method
            after ``Accelerator()``); torch has no CPU ``SyncBatchNorm``, so gloo runs keep
            per-process statistics.
    """

    def __init__(
        self,
        encoder: Encoder,
        augment: str | AugmentationPolicy = "default",
        hidden_dim: int | None = None,
        output_dim: int = 128,
        temperature: float = 0.1,
        head_batch_norm: bool = True,
        sync_batchnorm: bool | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.augment = create_policy(augment) if isinstance(augment, str) else augment
        dim = int(encoder.num_features)
        head: nn.Module = SimCLRProjectionHead(
            input_dim=dim,
            hidden_dim=hidden_dim or dim,
            output_dim=output_dim,
            batch_norm=head_batch_norm,
        )
        if sync_batchnorm is None:
            sync_batchnorm = head_batch_norm and _distributed_on_accelerator()
        if sync_batchnorm:
            head = nn.SyncBatchNorm.convert_sync_batchnorm(head)
        self.projection_head = head
        self.criterion = NTXentLoss(temperature=temperature, gather_distributed=True)

    def two_views(
        self, waveform: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Two independent augmentations of each waveform ``[B, C, T]`` (same shape each)."""
        return self.augment(waveform, generator), self.augment(waveform, generator)

    def forward_views(self, view0: Tensor, view1: Tensor) -> dict[str, Tensor]:
        """Loss for given views.

        Args:
            view0: First views ``[B, C, T]``.
            view1: Second views ``[B, C, T]``, row ``i`` the positive of ``view0[i]``.

        Returns:
            ``{"loss": NT-Xent (gathered over processes), "positive_cosine": mean cosine between
            the two projections of a sample (detached)}``.
        """
        if view0.shape != view1.shape:
            raise ValueError(
                f"SimCLR: views differ in shape: {tuple(view0.shape)} vs {tuple(view1.shape)}"
            )
        b = view0.shape[0]
        # one pass over both views: one head batch-norm batch and better device utilisation
        z = self.projection_head(self.encoder(torch.cat([view0, view1])))  # [2B, output_dim]
        z0, z1 = z[:b], z[b:]
        loss = self.criterion(z0, z1)
        positive = F.cosine_similarity(z0.detach(), z1.detach(), dim=1).mean()
        return {"loss": loss, "positive_cosine": positive}

    def forward(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """One pretraining step's forward pass.

        Args:
            batch: ``{"x": waveforms [B, C, T] float32, ...}``; labels, if present, are ignored. With
                ``"x_pos"`` (another window of the same recording per row, ``SourcePairDataset``) the views
                are one augmentation of each; otherwise two augmentations of ``x``.

        Returns:
            See :meth:`forward_views`.
        """
        if "x_pos" in batch:
            return self.forward_views(self.augment(batch["x"]), self.augment(batch["x_pos"]))
        view0, view1 = self.two_views(batch["x"])
        return self.forward_views(view0, view1)
