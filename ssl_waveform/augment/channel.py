"""Channel permutation (not part of any default policy, see ``docs/augmentations.md``)."""

from __future__ import annotations

import torch
from torch import Tensor

from ssl_waveform.augment.base import WaveformAugmentation, uniform


class ChannelPermutation(WaveformAugmentation):
    """Randomly permute the channels of each sample.

    Off by default: in a three-phase converter, swapping phase a and phase b changes which switch
    is faulty, so a view pair with different permutations would teach the encoder that different
    faults are the same. Use it only for labels that are symmetric under phase exchange.

    Args:
        p: Probability per sample.
    """

    def augment(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, c, t = x.shape
        order = uniform((b, c), 0.0, 1.0, x, generator).argsort(
            dim=1
        )  # a random permutation per row
        return x.gather(1, order.unsqueeze(-1).expand(b, c, t))
