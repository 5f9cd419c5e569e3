"""Depth metrics exactly as the SC-Depth evaluation (`compute_errors`, `eval_depth.py`) defines them.

Per image:
1. the prediction is resized bilinearly to the ground-truth size;
2. valid = min_depth < gt < max_depth, inside the preset crop, both finite (and pred > 0);
3. scaling: 'median' multiplies pred by median(gt)/median(pred) over the valid pixels,
   'sequence' by one ratio for the whole run (the median of the per-image ratios), 'none'
   leaves metric predictions as they are; then pred is clamped to [min_depth, max_depth];
4. abs_diff, abs_rel, sq_rel, log10, rmse, rmse_log (natural log), a1/a2/a3
   (max(g/p, p/g) < 1.25, 1.25^2, 1.25^3) over the valid pixels.
Sequence results are the mean over images (not over pixels), as in SC-Depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

METRIC_NAMES = ('abs_diff', 'abs_rel', 'sq_rel', 'log10', 'rmse', 'rmse_log', 'a1', 'a2', 'a3')
SCALINGS = ('median', 'sequence', 'none')


@dataclass(frozen=True)
class DepthPreset:
    """Depth caps (metres) and crop as fractions of the image: rows [r0, r1), cols [c0, c1)."""

    name: str
    min_depth_m: float
    max_depth_m: float
    crop_frac: tuple[float, float, float, float] | None = None   # r0, r1, c0, c1
    crop_px_480x640: tuple[int, int, int, int] | None = None      # exact pixels for 480x640 GT

    def crop_mask(self, height: int, width: int) -> np.ndarray:
        mask = np.zeros((height, width), dtype=bool)
        if self.crop_px_480x640 is not None and (height, width) == (480, 640):
            r0, r1, c0, c1 = self.crop_px_480x640
        elif self.crop_frac is not None:
            f = self.crop_frac
            r0, r1 = int(f[0] * height), int(f[1] * height)
            c0, c1 = int(f[2] * width), int(f[3] * width)
        else:
            r0, r1, c0, c1 = 0, height, 0, width
        mask[r0:r1, c0:c1] = True
        return mask


# SC-Depth eval caps/crops (reference-systems.md §1.8). KITTI: Garg crop as fractions;
# NYU: pixel crop 45:471, 41:601 on 480x640 GT, as fractions of 480x640 for other sizes.
PRESETS = {
    'kitti': DepthPreset('kitti', 0.1, 80.0, (0.40810811, 0.99189189, 0.03594771, 0.96405229)),
    'nyu': DepthPreset('nyu', 0.1, 10.0, (45 / 480, 471 / 480, 41 / 640, 601 / 640),
                       (45, 471, 41, 601)),
    'ddad': DepthPreset('ddad', 0.1, 200.0),
    'tum': DepthPreset('tum', 0.1, 10.0),
    'bonn': DepthPreset('bonn', 0.1, 10.0),
    # No dataset convention: SC-Depth's minimum and a cap that keeps outdoor ranges.
    'generic': DepthPreset('generic', 0.1, 100.0),
}


def get_preset(name: str, min_depth_m: float | None = None, max_depth_m: float | None = None) -> DepthPreset:
    if name not in PRESETS:
        raise ValueError(f'unknown depth preset {name!r}; choose one of {sorted(PRESETS)}')
    p = PRESETS[name]
    if min_depth_m is None and max_depth_m is None:
        return p
    lo = p.min_depth_m if min_depth_m is None else float(min_depth_m)
    hi = p.max_depth_m if max_depth_m is None else float(max_depth_m)
    if not 0 <= lo < hi:
        raise ValueError(f'depth caps must satisfy 0 <= min < max, got [{lo}, {hi}]')
    return DepthPreset(p.name, lo, hi, p.crop_frac, p.crop_px_480x640)


def compute_errors(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The nine metrics over matching 1-D arrays of valid, positive depths (float64 maths)."""
    g = np.asarray(gt, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if g.shape != p.shape or g.size == 0:
        raise ValueError(f'compute_errors needs equal, non-empty arrays, got {g.shape} and {p.shape}')
    thresh = np.maximum(g / p, p / g)
    diff = g - p
    return {
        'abs_diff': float(np.mean(np.abs(diff))),
        'abs_rel': float(np.mean(np.abs(diff) / g)),
        'sq_rel': float(np.mean(diff ** 2 / g)),
        'log10': float(np.mean(np.abs(np.log10(g) - np.log10(p)))),
        'rmse': float(np.sqrt(np.mean(diff ** 2))),
        'rmse_log': float(np.sqrt(np.mean((np.log(g) - np.log(p)) ** 2))),
        'a1': float(np.mean(thresh < 1.25)),
        'a2': float(np.mean(thresh < 1.25 ** 2)),
        'a3': float(np.mean(thresh < 1.25 ** 3)),
    }


def resize_to(pred_m: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a prediction to the GT size (NaN-safe: NaN pixels stay invalid)."""
    pred = np.asarray(pred_m, dtype=np.float32)
    if pred.shape == tuple(hw):
        return pred
    return cv2.resize(pred, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)


@dataclass
class FramePixels:
    """Valid GT/prediction pixel pairs of one image (prediction not yet scaled)."""

    gt_m: np.ndarray
    pred_m: np.ndarray
    dynamic: np.ndarray | None      # bool per valid pixel, None when no mask was given
    n_gt_valid: int                 # GT pixels valid by caps and crop (before pred checks)
    n_pred_invalid: int             # of those, dropped because the prediction was not usable

    @property
    def median_ratio(self) -> float:
        return float(np.median(self.gt_m) / np.median(self.pred_m))


def valid_pixels(gt_m: np.ndarray, pred_m: np.ndarray, preset: DepthPreset,
                 dynamic_mask: np.ndarray | None = None) -> FramePixels:
    """Select evaluated pixels. gt_m: [H,W] metres, NaN invalid; pred_m any size (resized)."""
    gt = np.asarray(gt_m, dtype=np.float32)
    if gt.ndim != 2:
        raise ValueError(f'GT depth must be [H,W], got {gt.shape}')
    pred = resize_to(pred_m, gt.shape)
    with np.errstate(invalid='ignore'):
        gt_ok = np.isfinite(gt) & (gt > preset.min_depth_m) & (gt < preset.max_depth_m)
        gt_ok &= preset.crop_mask(*gt.shape)
        pred_ok = np.isfinite(pred) & (pred > 0)
    valid = gt_ok & pred_ok
    dyn = None
    if dynamic_mask is not None:
        m = np.asarray(dynamic_mask, dtype=bool)
        if m.shape != gt.shape:
            m = cv2.resize(m.astype(np.uint8), (gt.shape[1], gt.shape[0]),
                           interpolation=cv2.INTER_NEAREST).astype(bool)
        dyn = m[valid]
    return FramePixels(gt[valid], pred[valid], dyn, int(gt_ok.sum()), int((gt_ok & ~pred_ok).sum()))


def scale_and_clamp(pix: FramePixels, ratio: float, preset: DepthPreset) -> np.ndarray:
    return np.clip(pix.pred_m.astype(np.float64) * ratio, preset.min_depth_m, preset.max_depth_m)


def frame_errors(pix: FramePixels, ratio: float, preset: DepthPreset) -> dict[str, dict[str, float] | None]:
    """Metrics of one image for the 'all', 'static' and 'dynamic' regions (None when empty)."""
    pred = scale_and_clamp(pix, ratio, preset)
    gt = pix.gt_m.astype(np.float64)
    out: dict[str, dict[str, float] | None] = {'all': compute_errors(gt, pred)}
    if pix.dynamic is not None:
        for name, sel in (('static', ~pix.dynamic), ('dynamic', pix.dynamic)):
            out[name] = compute_errors(gt[sel], pred[sel]) if sel.any() else None
    return out


def mean_errors(per_frame: list[dict[str, float]]) -> dict[str, float] | None:
    """Per-image average of metric dicts (SC-Depth averages images, not pixels)."""
    if not per_frame:
        return None
    return {k: float(np.mean([f[k] for f in per_frame])) for k in METRIC_NAMES}
