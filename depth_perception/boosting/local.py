"""Local boosting (`--Final`): target size, the patch loop, and what it produced.

Reference behaviour reproduced:
- factor = clip(4 K R_x / 3000, 0.2, 1) with the unclamped R_x; target long side
  round(2 R_x / factor) (Python rounding, half to even), saturated to max_res;
- patches are selected on the image resized (bicubic) to the target size, but with the
  default output resolution they are cut from that image resized again to the input height
  (scale = H_in / H_target; rects scaled with np.round) and merged into the whole-image
  estimate resized to that size, so the result comes out at input resolution;
- each patch: double estimate at (RF, 2 RF); merge net(base crop, patch estimate) at 1024;
  degree-1 fit onto the base crop; bicubic back to the crop size; Gaussian-mask blend. The
  crop fed to the merge net comes from the whole-image estimate as it was before any patch
  (the reference's `estimation_base_image`; its comment says "updated", its code does not).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .blend import blend_into
from .fit import apply_degree1, fit_degree1
from .merge import PIX2PIX_SIZE, double_estimate_batch, merge_batch
from .patches import Patch, select_patches


def boost_factor(patch_scale: float, resolution: int, whole_size_threshold: int = 3000) -> float:
    return max(min(1, 4 * patch_scale * resolution / whole_size_threshold), 0.2)


def target_size(h: int, w: int, resolution: int, factor: float, max_res: float) -> tuple[int, int]:
    """(height, width) of the local-boosting target image."""
    if h > w:
        a, b = 2 * resolution, round(2 * resolution * w / h)
    else:
        a, b = round(2 * resolution * h / w), 2 * resolution
    b, a = int(round(b / factor)), int(round(a / factor))
    if max(a, b) > max_res:
        if h > w:
            a, b = max_res, round(max_res * w / h)
        else:
            a, b = round(max_res * h / w), max_res
        a, b = int(a), int(b)
    return a, b


@dataclass
class LocalResult:
    estimate: np.ndarray                 # float32 at the merge resolution
    target_hw: tuple[int, int]
    merge_scale: float                   # merge resolution / target resolution
    patches: list = field(default_factory=list)   # dicts in processing order
    skipped: int = 0                     # selected patches left out by the budget


def local_boost(rgb: np.ndarray, whole: np.ndarray, base, net, resolution: int, factor: float,
                max_res: float = np.inf, output_resolution: bool = True,
                pix2pixsize: int = PIX2PIX_SIZE, on_patch=None, batch_size: int = 1,
                budget=None) -> LocalResult:
    """Refine `whole` (the [S,S] double estimate) patch by patch; rgb: float RGB at input size.

    batch_size > 1 runs that many patches through the networks together. This is exact: every
    patch is merged against the estimate as it was before any patch, so patches depend on
    each other only through the blending, which stays sequential in the reference's order.
    on_patch(index, patch_info, patch_estimate) is called after each patch (saving, budgets).
    budget (a `budget.PatchBudget`) stops before the next batch once spent; the patches done
    are the first ones of the unbudgeted run, blended identically.
    """
    rf = base.receptive_field
    th, tw = target_size(rgb.shape[0], rgb.shape[1], resolution, factor, max_res)
    target = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_CUBIC)
    patches: list[Patch] = select_patches(target, rf, factor)
    scale = rgb.shape[0] / target.shape[0] if output_resolution else 1
    size = (round(target.shape[1] * scale), round(target.shape[0] * scale))
    work_rgb = cv2.resize(target, size, interpolation=cv2.INTER_CUBIC)
    base_est = cv2.resize(whole, size, interpolation=cv2.INTER_CUBIC)
    updated = base_est.copy()
    work = []
    for index, patch in enumerate(patches):
        x, y, w, h = (int(v) for v in np.round(np.array(patch.rect) * scale).astype(int))
        crop_base = base_est[y:y + h, x:x + w]
        if crop_base.size:
            work.append((index, patch, (x, y, w, h)))
    infos = []
    step = max(1, int(batch_size))
    start = 0
    while start < len(work):
        room = step if budget is None else min(step, budget.room(len(infos)))
        if room <= 0:
            break
        chunk = work[start:start + room]
        start += room
        crops = [work_rgb[y:y + h, x:x + w] for _, _, (x, y, w, h) in chunk]
        bases_crop = [base_est[y:y + h, x:x + w] for _, _, (x, y, w, h) in chunk]
        estimates = double_estimate_batch(crops, base, net, rf, 2 * rf, pix2pixsize)
        bases_1024 = [cv2.resize(b, (pix2pixsize, pix2pixsize), interpolation=cv2.INTER_CUBIC)
                      for b in bases_crop]
        mapped_all = merge_batch(net, bases_1024, estimates, base.device)
        for (index, patch, (x, y, w, h)), crop_base, estimate, base_1024, mapped in zip(
                chunk, bases_crop, estimates, bases_1024, mapped_all):
            coef = fit_degree1(mapped, base_1024)
            merged = apply_degree1(mapped, coef)
            merged = cv2.resize(merged, (crop_base.shape[1], crop_base.shape[0]),
                                interpolation=cv2.INTER_CUBIC)
            blend_into(updated, merged, (x, y, crop_base.shape[1], crop_base.shape[0]))
            info = {'id': patch.id, 'rect_target': list(patch.rect), 'rect_output': [x, y, w, h],
                    'fit': [coef[0], coef[1]]}
            infos.append(info)
            if on_patch is not None:
                on_patch(index, info, estimate)
    return LocalResult(updated, (th, tw), float(scale), infos, len(work) - len(infos))
