"""Supervised depth and pose losses, for a warm start on data with exact depth and poses.

Used only where ground truth exists (the synthetic engine's depth and camera poses). Both
losses put metres into model units with ONE factor, `metres_per_unit`, so depth and pose learn
the same scale: that is what lets one `depth_scale` make both depth and odometry metric.

- depth: log errors d = log(pred) - log(gt / metres_per_unit) over pixels with gt > 0, split
  into shape (|d - mean d|) and overall scale (|mean d|, weighted). A log error is relative, so
  near and far pixels count alike (abs_rel is what depth is judged on).
- pose: per pair, |t_pred - t_gt / metres_per_unit| (Euclidean, model units) plus
  `rotation_weight` x the rotation angle between R_pred and R_gt (radians).
"""
from __future__ import annotations

import math

import torch

from depth_perception.geometry import pose_vec_to_T

# sqrt guard: the Euclidean and angle terms are norms, whose gradient is undefined at exactly 0.
_EPS = 1e-12


def depth_supervision_loss(pred_depth: torch.Tensor, gt_depth_m: torch.Tensor, metres_per_unit: float = 1.0,
                           scale_weight: float = 1.0) -> torch.Tensor:
    """pred_depth [B,1,H,W] (model units), gt_depth_m [B,1,H,W] (metres, <= 0 or NaN = invalid).

    With d = log(pred) - log(gt / metres_per_unit) per valid pixel, each image scores
    mean|d - mean(d)| (the shape, blind to the image's overall scale) + scale_weight x |mean(d)|
    (the overall scale). A single image says little about absolute scale; a small scale_weight
    keeps the scale anchored (so depth and pose keep one scale) without letting its noise drown
    the shape. Images without valid GT are skipped; the mean is over the others.
    """
    if pred_depth.shape != gt_depth_m.shape:
        raise ValueError(f'depth supervision: prediction {tuple(pred_depth.shape)} and ground truth '
                         f'{tuple(gt_depth_m.shape)} differ in shape')
    valid = torch.isfinite(gt_depth_m) & (gt_depth_m > 0)
    per_image = []
    for b in range(pred_depth.shape[0]):
        m = valid[b]
        if not bool(m.any()):
            continue
        d = pred_depth[b][m].log() - (gt_depth_m[b][m] / metres_per_unit).log()
        mean = d.mean()
        per_image.append((d - mean).abs().mean() + scale_weight * mean.abs())
    if not per_image:
        return pred_depth.sum() * 0.0     # keeps the graph; nothing to learn from this batch
    return torch.stack(per_image).mean()


def rotation_angle(R_a: torch.Tensor, R_b: torch.Tensor) -> torch.Tensor:
    """[B] angle (rad) of R_a^T R_b from the Frobenius distance: |R_a - R_b|_F = 2 sqrt(2) sin(angle/2)."""
    fro = ((R_a - R_b) ** 2).sum(dim=(-2, -1))
    half_sin = (fro + _EPS).sqrt() / (2.0 * math.sqrt(2.0))
    return 2.0 * torch.asin(half_sin.clamp(max=1.0))


def pose_supervision_loss(pose_vec: torch.Tensor, T_gt: torch.Tensor, metres_per_unit: float = 1.0,
                          rotation_weight: float = 1.0) -> torch.Tensor:
    """pose_vec [B,6] (the pose network's [t, euler]), T_gt [B,4,4] the same motion with t in metres."""
    T_pred = pose_vec_to_T(pose_vec)
    t_err = ((T_pred[:, :3, 3] - T_gt[:, :3, 3] / metres_per_unit) ** 2).sum(-1)
    trans = (t_err + _EPS).sqrt()
    rot = rotation_angle(T_pred[:, :3, :3], T_gt[:, :3, :3].to(T_pred.dtype))
    return (trans + rotation_weight * rot).mean()
