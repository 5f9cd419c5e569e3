"""Boosting's Final written straight, as the reference computes it: the baseline of bench/boost.py.

One image, one patch at a time, every double estimate running both single estimates (even when
the clamped sizes are equal), the 3000x3000 blend mask built with cv2.GaussianBlur once per image
and resized for every patch, np.polyfit for the degree-1 fit. The stage functions that cost
nothing (resolution search, patch selection, target size) and the merge net's call for one pair
(`merge`) are the package's, so the comparison times exactly what the package does differently:
batching, estimate reuse, the separable mask. Same inputs, same networks, same output within float32 rounding.
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np

from depth_perception.boosting.local import boost_factor, target_size
from depth_perception.boosting.merge import GPU_THRESHOLD, PIX2PIX_SIZE, merge
from depth_perception.boosting.patches import select_patches
from depth_perception.boosting.pipeline import SCALE_THRESHOLD, WHOLE_SIZE_THRESHOLD
from depth_perception.boosting.resolution import processing_resolution


def reference_mask(size: int = 3000) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    lo = int(0.15 * size)
    mask[lo:size - lo, lo:size - lo] = 1
    sigma = int(size / 16)
    k = int(2 * np.ceil(2 * sigma) + 1)
    mask = cv2.GaussianBlur(mask, (k, k), sigma)
    return (mask - mask.min()) / (mask.max() - mask.min())


def _unit(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _double_estimate(rgb, base, net, size1: int, size2: int) -> np.ndarray:
    s = (PIX2PIX_SIZE, PIX2PIX_SIZE)
    low = base.estimate(rgb, min(size1, GPU_THRESHOLD))
    high = base.estimate(rgb, min(size2, GPU_THRESHOLD))
    return _unit(merge(net, cv2.resize(low, s, interpolation=cv2.INTER_CUBIC),
                       cv2.resize(high, s, interpolation=cv2.INTER_CUBIC), base.device))


def straight_final(rgb_u8: np.ndarray, base, net) -> np.ndarray:
    """Final-mode boosted map at the input size (default output resolution)."""
    rgb = rgb_u8 / 255.0
    h, w = rgb.shape[:2]
    rf = base.receptive_field
    search = processing_resolution(rgb, rf, 0.2, SCALE_THRESHOLD, WHOLE_SIZE_THRESHOLD)
    whole = _double_estimate(rgb, base, net, rf, search.resolution)
    factor = boost_factor(search.patch_scale, search.resolution, WHOLE_SIZE_THRESHOLD)
    th, tw = target_size(h, w, search.resolution, factor, np.inf)
    target = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_CUBIC)
    mask_3000 = reference_mask()
    scale = h / th
    size = (round(tw * scale), round(th * scale))
    work_rgb = cv2.resize(target, size, interpolation=cv2.INTER_CUBIC)
    base_est = cv2.resize(whole, size, interpolation=cv2.INTER_CUBIC)
    updated = base_est.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', np.exceptions.RankWarning)   # as the reference (flat patches)
        for patch in select_patches(target, rf, factor):
            x, y, pw, ph = (int(v) for v in np.round(np.array(patch.rect) * scale).astype(int))
            crop_base = base_est[y:y + ph, x:x + pw]
            if not crop_base.size:
                continue
            ph, pw = crop_base.shape
            estimate = _double_estimate(work_rgb[y:y + ph, x:x + pw], base, net, rf, 2 * rf)
            base_1024 = cv2.resize(crop_base, (PIX2PIX_SIZE, PIX2PIX_SIZE), interpolation=cv2.INTER_CUBIC)
            mapped = merge(net, base_1024, estimate, base.device)   # one pair per call
            p = np.polyfit(mapped.ravel(), base_1024.ravel(), 1)   # on float32, as the reference
            merged = cv2.resize(np.polyval(p, mapped), (pw, ph), interpolation=cv2.INTER_CUBIC)
            m = cv2.resize(mask_3000, (pw, ph), interpolation=cv2.INTER_LINEAR).astype(np.float64)
            updated[y:y + ph, x:x + pw] = updated[y:y + ph, x:x + pw] * (1 - m) + merged * m
    return cv2.resize(updated, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
