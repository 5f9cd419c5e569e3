"""Depth -> rgb8 false-colour image for humans (rviz, demos); never used for maths.

Near is red/warm and far is blue (turbo colormap on inverse-normalised depth). The range
is robust: the `percentiles` of the finite depths, so a few outliers do not wash the image
out. Invalid depth (NaN, inf, <= 0) is black.
"""
from __future__ import annotations

import cv2
import numpy as np


def robust_range_m(depth_m: np.ndarray, percentiles=(2.0, 98.0)) -> tuple[float, float] | None:
    """(near, far) metres from the finite positive depths, or None if there are none."""
    d = np.asarray(depth_m, dtype=np.float32)
    valid = d[np.isfinite(d) & (d > 0)]
    if valid.size == 0:
        return None
    lo, hi = np.percentile(valid, percentiles)
    if not hi > lo:  # constant depth: widen so the division below stays finite
        hi = lo + max(1e-6, abs(lo) * 1e-6)
    return float(lo), float(hi)


def colorize_depth(depth_m: np.ndarray, near_m: float | None = None, far_m: float | None = None,
                   percentiles=(2.0, 98.0), colormap: int = cv2.COLORMAP_TURBO) -> np.ndarray:
    """[H,W] metres -> [H,W,3] uint8 in RGB order (OpenCV colormaps return BGR)."""
    d = np.asarray(depth_m, dtype=np.float32)
    if d.ndim != 2:
        raise ValueError(f'depth must be HxW, got shape {d.shape}')
    invalid = ~(np.isfinite(d) & (d > 0))
    if near_m is None or far_m is None:
        rng = robust_range_m(d, percentiles)
        if rng is None:
            return np.zeros(d.shape + (3,), np.uint8)
        near_m = rng[0] if near_m is None else near_m
        far_m = rng[1] if far_m is None else far_m
    span = max(float(far_m) - float(near_m), 1e-6)
    with np.errstate(invalid='ignore'):
        closeness = 1.0 - np.clip((d - near_m) / span, 0.0, 1.0)  # 1 = near -> red end of turbo
    gray = np.nan_to_num(closeness * 255.0, nan=0.0).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(gray, colormap), cv2.COLOR_BGR2RGB)
    rgb[invalid] = 0
    return rgb
