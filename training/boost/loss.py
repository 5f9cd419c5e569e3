"""pix2pix losses with Boosting's weights: G = GAN + lambda_L1 * L1 (lambda 1000), D = GAN / 2.

Vanilla GAN: binary cross-entropy on the discriminator's logits against all-ones (real) or
all-zeros (fake), averaged over the patch map. L1 is the mean absolute difference between
the generated and the target map (both in [-1, 1]).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def generator_loss(d_fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor,
                   lambda_l1: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, gan, l1): the generator wants D to call its output real, and to match the target."""
    gan = gan_loss(d_fake_logits, True)
    l1 = (fake - target).abs().mean()
    return gan + lambda_l1 * l1, gan, l1


def discriminator_loss(d_real_logits: torch.Tensor, d_fake_logits: torch.Tensor) -> torch.Tensor:
    """Half the sum of real-as-real and fake-as-fake (pix2pix slows D relative to G this way)."""
    return 0.5 * (gan_loss(d_real_logits, True) + gan_loss(d_fake_logits, False))
