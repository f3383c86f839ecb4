"""Standalone loss modules used by the pretraining methods."""

from ssl_waveform.losses.masked_reconstruction import MaskedReconstructionLoss

__all__ = ["MaskedReconstructionLoss"]
