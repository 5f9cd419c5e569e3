"""Photometric comparison of two images, as SC-Depth defines it (shared by training and evaluation).

All functions take batched images [B,C,H,W]. SC-Depth applies them to *normalised* images,
(x/255 - 0.45)/0.225, so the SSIM constants C1 = 0.01^2 and C2 = 0.03^2 are in those units.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_WINDOW = 7                 # sc_depth_pl; SC-SfMLearner used 3
SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2
SSIM_WEIGHT = 0.85              # diff = 0.15 * L1 + 0.85 * SSIM dissimilarity
L1_WEIGHT = 1.0 - SSIM_WEIGHT


def ssim_dissimilarity(x: torch.Tensor, y: torch.Tensor, window: int = SSIM_WINDOW) -> torch.Tensor:
    """Per-pixel, per-channel (1 - SSIM)/2 clamped to [0, 1], shape [B,C,H,W].

    Local statistics come from a `window`x`window` box filter over reflection-padded images,
    so the output has the input size and border pixels use mirrored neighbours.
    """
    pad = window // 2
    x = F.pad(x, (pad, pad, pad, pad), mode='reflect')
    y = F.pad(y, (pad, pad, pad, pad), mode='reflect')
    mu_x = F.avg_pool2d(x, window, 1)
    mu_y = F.avg_pool2d(y, window, 1)
    sigma_x = F.avg_pool2d(x * x, window, 1) - mu_x ** 2
    sigma_y = F.avg_pool2d(y * y, window, 1) - mu_y ** 2
    sigma_xy = F.avg_pool2d(x * y, window, 1) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * sigma_xy + SSIM_C2)
    denominator = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (sigma_x + sigma_y + SSIM_C2)
    return torch.clamp((1 - numerator / denominator) / 2, 0, 1)


def photometric_error(target: torch.Tensor, synthesised: torch.Tensor, use_ssim: bool = True) -> torch.Tensor:
    """SC-Depth's per-pixel photometric error [B,1,H,W]: mean over channels of
    0.15 * clamp(|t - s|, 0, 1) + 0.85 * SSIM dissimilarity (plain clamped L1 without SSIM)."""
    diff = (target - synthesised).abs().clamp(0, 1)
    if use_ssim:
        diff = L1_WEIGHT * diff + SSIM_WEIGHT * ssim_dissimilarity(target, synthesised)
    return diff.mean(dim=1, keepdim=True)


def mean_abs_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over channels of |a - b|, [B,1,H,W] (SC-Depth's `diff_color`, used for auto-mask and argmin)."""
    return (a - b).abs().mean(dim=1, keepdim=True)
