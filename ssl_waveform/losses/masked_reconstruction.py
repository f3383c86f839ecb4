"""Masked-reconstruction loss of masked autoencoders (MSE on hidden cells only)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MaskedReconstructionLoss(nn.Module):
    """Mean squared error over the hidden cells only, with optional per-cell target normalisation.

    Each cell's target values are first normalised to zero mean and unit variance over the cell
    (``norm_target``, the ``norm_pix_loss`` of MAE), the squared error is averaged over a cell's
    values, and the per-cell errors are averaged over hidden cells. Visible cells contribute
    nothing, not even through the normaliser.

    - He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022,
      https://arxiv.org/abs/2111.06377
    - Woo et al., "ConvNeXt V2: Co-designing and Scaling ConvNets with Masked Autoencoders",
      CVPR 2023, https://arxiv.org/abs/2301.00808

    Args:
        norm_target: Normalise each target cell by its own mean and standard deviation.
        eps: Added to the cell variance before the square root (in squared input units).

    Example:
        >>> loss_fn = MaskedReconstructionLoss()
        >>> pred, target = torch.randn(2, 3, 8, 32), torch.randn(2, 3, 8, 32)
        >>> mask = torch.rand(2, 3, 8) < 0.6
        >>> loss = loss_fn(pred, target, mask)
    """

    def __init__(self, norm_target: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        if eps <= 0.0:
            raise ValueError(f"MaskedReconstructionLoss: eps must be > 0, got {eps}")
        self.norm_target = norm_target
        self.eps = eps

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred: Predicted cells ``[..., N, P]`` (``N`` cells of ``P`` values each).
            target: Target cells, same shape as ``pred``.
            mask: ``[..., N]`` boolean, ``True`` where a cell was hidden from the encoder.

        Returns:
            Scalar loss (mean over hidden cells of the mean squared error per cell).

        Raises:
            ValueError: On mismatched shapes or when no cell is hidden.
        """
        if pred.shape != target.shape:
            raise ValueError(
                f"MaskedReconstructionLoss: pred {tuple(pred.shape)} and target "
                f"{tuple(target.shape)} must have the same shape [..., N, P]"
            )
        if mask.shape != pred.shape[:-1] or mask.dtype != torch.bool:
            raise ValueError(
                f"MaskedReconstructionLoss: mask must be bool of shape {tuple(pred.shape[:-1])}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        n_hidden = mask.sum()
        if n_hidden.item() == 0:
            raise ValueError(
                "MaskedReconstructionLoss: the mask hides no cell; raise the mask ratio"
            )
        target = target.float()
        if self.norm_target:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True, unbiased=False)
            target = (target - mean) / torch.sqrt(var + self.eps)
        per_cell = (pred.float() - target).pow(2).mean(dim=-1)  # [..., N]
        # where() rather than a product, so a non-finite prediction on a visible cell cannot leak in
        return torch.where(mask, per_cell, 0.0).sum() / n_hidden

    def extra_repr(self) -> str:
        return f"norm_target={self.norm_target}, eps={self.eps}"
