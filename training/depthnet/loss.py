"""DepthNet's supervised loss and metric (reference-systems.md §2).

Targets are area-downsampled (average pooling) to every prediction scale; the loss is
sum_k w_k * mean |d_k - target_k| over d2..d6, the metric mean |d2 - target_2| in metres.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSS_WEIGHTS = (0.32, 0.08, 0.02, 0.01, 0.005)


def area_downsample(target: torch.Tensor, hw) -> torch.Tensor:
    """[B,H,W] -> [B,h,w] by area averaging."""
    return F.adaptive_avg_pool2d(target[:, None], tuple(hw))[:, 0]


def multiscale_l1(outputs: list[torch.Tensor], target: torch.Tensor, weights=LOSS_WEIGHTS) -> torch.Tensor:
    if len(outputs) != len(weights):
        raise ValueError(f'{len(outputs)} outputs but {len(weights)} weights')
    total = outputs[0].new_zeros(())
    for depth, w in zip(outputs, weights):
        total = total + w * (depth - area_downsample(target, depth.shape[-2:])).abs().mean()
    return total


def depth_error_m(depth2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |d2 - target| in metres, target area-downsampled to d2's size (per batch mean)."""
    return (depth2 - area_downsample(target, depth2.shape[-2:])).abs().mean()
