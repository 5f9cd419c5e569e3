"""Resolution search of Boosting (`calculateprocessingres`): R_x and the patch scale K.

R_x is the largest input size at which at most a fraction x of the pixels is farther than
half a receptive field from an edge. Reference behaviour reproduced exactly:
- the two resizes pass INTER_AREA / INTER_NEAREST positionally into cv2's `dst` slot, so
  both are bilinear in effect (a true INTER_AREA moves R20 from 2112 to 1728 on 1936x1216);
- the edge map thresholds at min + 0.4 (max - min), assigning 0 first and then 1 (so a
  flat gradient map becomes all edges);
- max-pooling pads with zeros at the end (skimage block_reduce), block = floor(dim / p).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SPEED_SCALE = 32
GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """[H,W,3] RGB float -> [H,W] float64 grey with the reference's weights."""
    return np.dot(rgb[..., :3], GRAY_WEIGHTS)


def sobel_magnitude(gray: np.ndarray) -> np.ndarray:
    """|d/dy| + |d/dx| (3x3 Sobel, float64, reflect-101 borders)."""
    return (np.abs(cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3))
            + np.abs(cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3)))


def edge_map(rgb: np.ndarray) -> np.ndarray:
    """Square [d,d] (d = min(H, W)) binary edge map of the float RGB image (values 0/1)."""
    dim = int(min(rgb.shape[:2]))
    grad = cv2.resize(sobel_magnitude(rgb_to_gray(rgb)), (dim, dim),
                      interpolation=cv2.INTER_LINEAR)
    lo, hi = grad.min(), grad.max()
    middle = lo + 0.4 * (hi - lo)
    grad[grad < middle] = 0
    grad[grad >= middle] = 1
    return grad


def max_pool(a: np.ndarray, n: int) -> np.ndarray:
    """Block max with n x n blocks, zero-padded at the end to a multiple of n."""
    h, w = a.shape
    ph, pw = -h % n, -w % n
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw)), constant_values=0)
    return a.reshape(a.shape[0] // n, n, a.shape[1] // n, n).max(axis=(1, 3))


@dataclass
class ResolutionSearch:
    resolution: int                  # R_x in pixels (not clamped to the GPU threshold)
    patch_scale: float               # K: fraction of the last map near edges (RF/128 kernel)
    tried: list = field(default_factory=list)   # (p, fraction of pixels without context)


def processing_resolution(rgb: np.ndarray, receptive_field: int, confidence: float,
                          scale_threshold: float = 3, whole_size_threshold: int = 3000
                          ) -> ResolutionSearch:
    """R_x for `confidence` = x (0 for R0, 0.2 for R20) on a float RGB image in [0, 1]."""
    threshold = min(whole_size_threshold, scale_threshold * max(rgb.shape[:2]))
    try:
        return search_edges(edge_map(rgb), receptive_field, confidence, threshold)
    except ValueError as exc:
        raise ValueError(f'image of {rgb.shape[1]}x{rgb.shape[0]} px: {exc}') from None


def search_edges(edges: np.ndarray, receptive_field: int, confidence: float,
                 threshold: float) -> ResolutionSearch:
    """The search loop on a square 0/1 edge map; threshold = the largest size allowed (px)."""
    k1 = int(receptive_field / SPEED_SCALE)
    k2 = int(receptive_field / (4 * SPEED_SCALE))
    if k1 < 1 or k2 < 1:
        raise ValueError(f'receptive field {receptive_field} px is below the minimum of 128 px')
    kernel, kernel2 = np.ones((k1, k1)), np.ones((k2, k2))
    sizes = range(int(receptive_field / SPEED_SCALE), int(threshold / SPEED_SCALE),
                  int(receptive_field / (2 * SPEED_SCALE)))
    if len(sizes) == 0:
        # The reference fails here (its loop never defines the pooled map).
        raise ValueError(f'too small for a {receptive_field} px receptive field (3 x the long '
                         f'side must exceed {receptive_field + SPEED_SCALE} px)')
    out_scale = receptive_field / SPEED_SCALE
    search = ResolutionSearch(0, 0.0)
    for p in sizes:
        # floor(dim / p) >= 1 in all but extreme aspect ratios, where the reference fails.
        pooled = max_pool(edges, max(1, int(np.floor(edges.shape[0] / p))))
        pooled = cv2.resize(pooled, (p, p), interpolation=cv2.INTER_LINEAR)
        pooled[pooled >= 0.5] = 1
        pooled[pooled < 0.5] = 0
        uncovered = float((1 - cv2.dilate(pooled, kernel, iterations=1)).mean())
        search.tried.append((int(p), uncovered))
        if uncovered > confidence:
            break
        out_scale = p
    search.patch_scale = float(cv2.dilate(pooled, kernel2, iterations=1).mean())
    search.resolution = int(out_scale * SPEED_SCALE)
    return search
