"""Boosting end to end for one image: R0, R20 or Final (`run.py` of the reference).

The result is relative (see `BoostResult.kind`): normalised, unknown scale and shift.
`map_onto_base` turns it back into depth on a metric or up-to-scale base's own scale.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .fit import apply_degree1, fit_degree1
from .local import boost_factor, local_boost
from .merge import PIX2PIX_SIZE, double_estimate
from .resolution import processing_resolution

MODES = ('R0', 'R20', 'Final')
WHOLE_SIZE_THRESHOLD = 3000
SCALE_THRESHOLD = 3


@dataclass
class BoostConfig:
    mode: str = 'Final'
    max_res: float = math.inf          # cap on the local-boosting target's long side (px)
    output_resolution: bool = True     # True: result at the input size (reference default)
    pix2pixsize: int = PIX2PIX_SIZE
    batch_size: int = 1                # patches per network call in Final (exact; >1 is faster)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f'mode must be one of {", ".join(MODES)}, got {self.mode!r}')
        if not self.max_res > 0:
            raise ValueError(f'max_res must be a positive number of pixels, got {self.max_res}')


@dataclass
class BoostResult:
    depth: np.ndarray                 # float32 relative map at the output resolution
    kind: str                         # what the values are (from the base)
    whole: np.ndarray                 # the whole-image double estimate [S,S]
    resolution: int                   # R_x (R0 or R20), unclamped
    patch_scale: float
    search: list                      # (p, uncovered fraction) tried by the search
    factor: float | None = None
    target_hw: tuple[int, int] | None = None
    merge_scale: float | None = None
    patches: list = field(default_factory=list)
    patches_skipped: int = 0          # selected but left out by the budget (Final)
    singles: dict = field(default_factory=dict)   # whole-image single estimates
    timings_s: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-able description of the stages (for --dump)."""
        return {'kind': self.kind, 'resolution_px': self.resolution,
                'patch_scale': self.patch_scale, 'search': [list(t) for t in self.search],
                'factor': self.factor, 'target_hw': list(self.target_hw) if self.target_hw else None,
                'merge_scale': self.merge_scale, 'output_hw': list(self.depth.shape),
                'patches_in_processing_order': self.patches, 'timings_s': self.timings_s}


def to_float_rgb(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float64 RGB in [0, 1] (the reference's read_image)."""
    if rgb_u8.dtype != np.uint8 or rgb_u8.ndim != 3 or rgb_u8.shape[2] != 3:
        raise ValueError(f'expected an HxWx3 uint8 RGB image, got {rgb_u8.dtype} {rgb_u8.shape}')
    return rgb_u8 / 255.0


def boost(rgb_u8: np.ndarray, base, net, config: BoostConfig | None = None,
          on_patch=None, budget=None) -> BoostResult:
    """Boosted relative depth of one uint8 RGB image with `base` and merge net `net`.

    budget: a `budget.PatchBudget` bounding the patches of Final (None: all of them).
    """
    cfg = config or BoostConfig()
    rgb = to_float_rgb(rgb_u8)
    h, w = rgb.shape[:2]
    t0 = time.perf_counter()
    confidence = 0.0 if cfg.mode == 'R0' else 0.2
    search = processing_resolution(rgb, base.receptive_field, confidence, SCALE_THRESHOLD,
                                   WHOLE_SIZE_THRESHOLD)
    t1 = time.perf_counter()
    singles: dict = {}
    whole = double_estimate(rgb, base, net, base.receptive_field, search.resolution,
                            cfg.pix2pixsize, singles)
    t2 = time.perf_counter()
    result = BoostResult(depth=whole, kind=base.kind, whole=whole, resolution=search.resolution,
                         patch_scale=search.patch_scale, search=search.tried, singles=singles)
    result.timings_s = {'resolution_search': t1 - t0, 'whole_double_estimate': t2 - t1}
    estimate = whole
    if cfg.mode == 'Final':
        result.factor = boost_factor(search.patch_scale, search.resolution, WHOLE_SIZE_THRESHOLD)
        if cfg.max_res >= search.resolution:   # else: no local boosting (max_res < R20)
            local = local_boost(rgb, whole, base, net, search.resolution, result.factor,
                                cfg.max_res, cfg.output_resolution, cfg.pix2pixsize, on_patch,
                                cfg.batch_size, budget)
            estimate = local.estimate
            result.target_hw, result.merge_scale = local.target_hw, local.merge_scale
            result.patches, result.patches_skipped = local.patches, local.skipped
        result.timings_s['local_boosting'] = time.perf_counter() - t2
    if cfg.output_resolution:
        estimate = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_CUBIC)
    result.depth = estimate
    return result


def map_onto_base(relative_disp: np.ndarray, base_depth: np.ndarray) -> np.ndarray:
    """Boosted relative disparity -> depth on the base's scale.

    Scale and shift are fitted (least squares, in disparity) from the boosted map to the
    base's own disparity 1/depth over its valid pixels; depth = 1 / fitted disparity, NaN
    where that is not positive. A metric base stays metric, an up-to-scale base up to scale.
    """
    rel = cv2.resize(relative_disp.astype(np.float32), (base_depth.shape[1], base_depth.shape[0]),
                     interpolation=cv2.INTER_CUBIC) if relative_disp.shape != base_depth.shape \
        else relative_disp
    valid = np.isfinite(base_depth) & (base_depth > 0)
    if valid.sum() < 2:
        raise ValueError('the base estimate has fewer than 2 valid pixels to fit a scale to')
    coef = fit_degree1(rel[valid], 1.0 / base_depth[valid])
    disp = apply_degree1(rel, coef)
    with np.errstate(divide='ignore'):
        depth = np.where(disp > 0, 1.0 / np.where(disp > 0, disp, 1.0), np.nan)
    return depth.astype(np.float32)
