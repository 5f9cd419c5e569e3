"""SC-Depth V2 auto-rectify network (ARN) losses (reference-systems.md §1.6).

The ARN predicts the rotation between target and reference; the reference is pre-warped by
that rotation so the pose network mostly sees translation. Rotation warping is the
infinite-homography K R K^-1, done with the shared `geometry.inverse_warp` on unit depth and
zero translation (pixel-centre convention, align_corners=False; the reference normalises
with align_corners=True, the same homography under its own convention).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from depth_perception.geometry import inverse_warp, pose_vec_to_T

TRIPLET_MARGIN_RAD = 0.05
TRUST_RANGE_RAD = (0.02, 0.1)   # mean |rot1| inside this range: use the ARN's own output as label
RANDOM_ROT_RAD = 0.05           # otherwise: random rotations in [-0.05, 0.05] rad


def rotation_warp(img: torch.Tensor, rot: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Warp `img` [B,C,H,W] by the pure rotation `rot` [B,3] (Euler xyz, T_ref_tgt convention)."""
    b, _, h, w = img.shape
    pose = torch.cat([torch.zeros_like(rot), rot], 1)
    ones = img.new_ones(b, 1, h, w)
    warped, _, _, _ = inverse_warp(img, ones, ones, pose_vec_to_T(pose), K)
    return warped


@dataclass
class RectifyLosses:
    warped_refs: list[torch.Tensor]
    triplet: torch.Tensor
    consistency: torch.Tensor
    rot_before: torch.Tensor    # mean |rot1| (logged)
    rot_after: torch.Tensor     # mean |rot2|


def rectify_references(rectify_net, tgt_img, ref_imgs, K, generator: torch.Generator | None = None) -> RectifyLosses:
    """Pre-warp each reference with the ARN rotation and compute the triplet and consistency losses.

    `generator` drives the random rotations so that training is reproducible per step.
    """
    warped_refs, triplets, consistencies, before, after = [], [], [], [], []
    for ref_img in ref_imgs:
        rot1 = rectify_net(tgt_img, ref_img)
        warped = rotation_warp(ref_img, rot1, K)
        rot2 = rectify_net(tgt_img, warped)
        # After rectification the remaining rotation must be smaller by a margin.
        triplets.append((rot2.abs() - rot1.abs() + TRIPLET_MARGIN_RAD).clamp(min=0).mean())
        mean_rot1 = rot1.abs().mean()
        if TRUST_RANGE_RAD[0] < mean_rot1 < TRUST_RANGE_RAD[1]:
            rot3_gt, rot3_input = rot1.detach(), warped
        else:
            u = torch.rand(rot1.shape, generator=generator, dtype=rot1.dtype,
                           device='cpu' if generator is None else generator.device)
            rot3_gt = ((2 * u - 1) * RANDOM_ROT_RAD).to(rot1.device)
            rot3_input = rotation_warp(ref_img, rot3_gt, K)
        rot3 = rectify_net(rot3_input, ref_img)
        consistencies.append((rot3 - rot3_gt).abs().mean())
        warped_refs.append(warped)
        before.append(mean_rot1.detach())
        after.append(rot2.abs().mean().detach())
    n = len(ref_imgs)
    return RectifyLosses(warped_refs, sum(triplets) / n, sum(consistencies) / n,
                         sum(before) / n, sum(after) / n)
