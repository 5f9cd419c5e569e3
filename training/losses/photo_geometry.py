"""Photometric and geometry-consistency losses of SC-Depth (sc_depth_pl `photo_and_geometry_loss`).

For every reference view the pair is evaluated both ways (target <- reference with
T_ref_tgt, reference <- target with T_tgt_ref). Per pair:
- diff_depth = |D_computed - D_projected| / (D_computed + D_projected) (geometry consistency);
- valid = (mean_c |warped| > 1e-3) * (mean_c |target| > 1e-3) on normalised images, which
  removes pixels that fell outside the reference view (zero padding);
- auto-mask (Monodepth2): keep pixels where warping beats the un-warped reference;
- diff_img = mean_c(0.15 L1 + 0.85 SSIM), times (1 - diff_depth).detach() (self-discovered mask).
The 2 x n_ref candidates are reduced per pixel with an argmin over the colour error
(`min_optimize`), then averaged over the valid pixels (0 when 100 pixels or fewer are valid).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from depth_perception.geometry import inverse_warp, pose_vec_to_T
from depth_perception.photometric import mean_abs_difference, photometric_error

VALID_PIXEL_THRESHOLD = 1e-3     # on normalised images: exactly-zero pixels come from padding
MIN_VALID_PIXELS = 100


@dataclass(frozen=True)
class LossOptions:
    """The reference's ablation switches, expressed positively."""

    use_ssim: bool = True               # not no_ssim
    auto_mask: bool = True              # not no_auto_mask
    self_discovered_mask: bool = True   # not no_dynamic_mask
    min_optimize: bool = True           # not no_min_optimize

    @classmethod
    def from_config(cls, cfg) -> 'LossOptions':
        return cls(use_ssim=not cfg.no_ssim, auto_mask=not cfg.no_auto_mask,
                   self_discovered_mask=not cfg.no_dynamic_mask, min_optimize=not cfg.no_min_optimize)


@dataclass
class PairTerms:
    diff_img: torch.Tensor      # [B,1,H,W] photometric error (masked by the self-discovered mask)
    diff_color: torch.Tensor    # [B,1,H,W] mean |target - warped|
    diff_depth: torch.Tensor    # [B,1,H,W] normalised depth inconsistency in [0, 1]
    valid: torch.Tensor         # [B,1,H,W] 0/1


@dataclass
class PhotoGeometryLoss:
    photo: torch.Tensor
    geometry: torch.Tensor
    dynamic_mask: torch.Tensor  # [B,1,H,W] V3 weight: mean over refs of (1 - diff_depth), 0 diff where invalid


def mean_on_mask(value: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of `value` over valid pixels; 0 when too few are valid (reference behaviour)."""
    mask = valid.expand_as(value)
    count = mask.sum()
    if count > MIN_VALID_PIXELS:
        return (value * mask).sum() / count
    return value.new_zeros(())


def pairwise_terms(tgt_img, ref_img, tgt_depth, ref_depth, T_ref_tgt, K, opts: LossOptions) -> PairTerms:
    """Terms of one direction: synthesise `tgt_img` from `ref_img` (images normalised)."""
    warped, projected_depth, computed_depth, _ = inverse_warp(ref_img, tgt_depth, ref_depth, T_ref_tgt, K)
    diff_depth = (computed_depth - projected_depth).abs() / (computed_depth + projected_depth)
    valid = ((warped.abs().mean(1, keepdim=True) > VALID_PIXEL_THRESHOLD)
             & (tgt_img.abs().mean(1, keepdim=True) > VALID_PIXEL_THRESHOLD)).to(tgt_img.dtype)
    diff_color = mean_abs_difference(tgt_img, warped)
    if opts.auto_mask:
        identity_error = mean_abs_difference(tgt_img, ref_img)
        valid = valid * (diff_color < identity_error).to(tgt_img.dtype)
    diff_img = photometric_error(tgt_img, warped, use_ssim=opts.use_ssim)
    if opts.self_discovered_mask:
        diff_img = diff_img * (1 - diff_depth).detach()
    return PairTerms(diff_img, diff_color, diff_depth, valid)


def photo_and_geometry_loss(tgt_img, ref_imgs, tgt_depth, ref_depths, poses, poses_inv, K,
                            opts: LossOptions = LossOptions()) -> PhotoGeometryLoss:
    """SC-Depth photometric + geometry loss.

    Args:
        tgt_img [B,3,H,W], ref_imgs list of [B,3,H,W]: normalised images.
        tgt_depth, ref_depths: [B,1,H,W] predicted depths.
        poses: list of [B,6] pose vectors T_ref_tgt (pose_net(tgt, ref));
        poses_inv: list of [B,6] T_tgt_ref (pose_net(ref, tgt)).
        K: [B,3,3] intrinsics of the (augmented, resized) images.
    """
    terms: list[PairTerms] = []
    for ref_img, ref_depth, pose, pose_inv in zip(ref_imgs, ref_depths, poses, poses_inv):
        terms.append(pairwise_terms(tgt_img, ref_img, tgt_depth, ref_depth, pose_vec_to_T(pose), K, opts))
        terms.append(pairwise_terms(ref_img, tgt_img, ref_depth, tgt_depth, pose_vec_to_T(pose_inv), K, opts))
    diff_img = torch.cat([t.diff_img for t in terms], 1)
    diff_color = torch.cat([t.diff_color for t in terms], 1)
    diff_depth = torch.cat([t.diff_depth for t in terms], 1)
    valid = torch.cat([t.valid for t in terms], 1)
    if opts.min_optimize:
        best = diff_color.argmin(dim=1, keepdim=True)
        diff_img, diff_depth, valid = (x.gather(1, best) for x in (diff_img, diff_depth, valid))
    photo = mean_on_mask(diff_img, valid)
    geometry = mean_on_mask(diff_depth, valid)
    # V3 dynamic mask from the forward (target <- reference) pairs only.
    forward = [1 - t.diff_depth * t.valid for t in terms[0::2]]
    dynamic_mask = torch.cat(forward, 1).mean(1, keepdim=True)
    return PhotoGeometryLoss(photo, geometry, dynamic_mask)
