"""Edge-aware smoothness on depth normalised by its mean (sc_depth_pl `compute_smooth_loss`)."""
from __future__ import annotations

import torch


def edge_aware_smoothness(depth: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """mean(|dx d| exp(-mean_c|dx I|)) + mean(|dy d| exp(-mean_c|dy I|)), d = depth / mean(depth).

    Dividing by the per-image mean makes the term scale-invariant, so it cannot be lowered by
    shrinking the depth (which the photometric loss would not resist).
    """
    d = depth / (depth.mean(dim=(2, 3), keepdim=True) + 1e-7)
    grad_d_x = (d[:, :, :, :-1] - d[:, :, :, 1:]).abs()
    grad_d_y = (d[:, :, :-1, :] - d[:, :, 1:, :]).abs()
    grad_i_x = (image[:, :, :, :-1] - image[:, :, :, 1:]).abs().mean(1, keepdim=True)
    grad_i_y = (image[:, :, :-1, :] - image[:, :, 1:, :]).abs().mean(1, keepdim=True)
    return (grad_d_x * torch.exp(-grad_i_x)).mean() + (grad_d_y * torch.exp(-grad_i_y)).mean()
