"""Training augmentation of SC-Depth (custom_transforms): flip, scale+crop, resize; intrinsics follow.

All image arrays of one sample receive the same random transform. Randomness comes from the
`numpy.random.Generator` passed in, so a sample's augmentation is a pure function of its
seed (that is what makes mid-epoch resume exact).

Pixel-centre convention (as `depth_perception.geometry`): a horizontal flip maps column u to
W-1-u, so cx <- W-1-cx. The reference writes cx <- W-cx, which shifts the principal
point by one pixel in its own (also pixel-centre) warping; we keep it exact.
"""
from __future__ import annotations

import cv2
import numpy as np

from depth_perception.geometry import scale_intrinsics

MAX_SCALE = 1.15


def resize(arrays: list[np.ndarray], K: np.ndarray, size_hw: tuple[int, int]):
    """Resize every array (INTER_LINEAR) to size_hw and scale K accordingly."""
    h, w = arrays[0].shape[:2]
    th, tw = size_hw
    if (h, w) == (th, tw):
        return arrays, K
    out = [cv2.resize(a, (tw, th), interpolation=cv2.INTER_LINEAR) for a in arrays]
    return out, scale_intrinsics(K, tw / w, th / h)


def random_flip(arrays: list[np.ndarray], K: np.ndarray, rng: np.random.Generator):
    if rng.random() < 0.5:
        w = arrays[0].shape[1]
        K = K.copy()
        K[0, 2] = (w - 1) - K[0, 2]
        arrays = [np.ascontiguousarray(a[:, ::-1]) for a in arrays]
    return arrays, K


def random_scale_crop(arrays: list[np.ndarray], K: np.ndarray, rng: np.random.Generator):
    """Zoom in by a random factor in [1, 1.15) per axis, then crop a random window of the input size."""
    h, w = arrays[0].shape[:2]
    sx, sy = rng.uniform(1.0, MAX_SCALE, 2)
    sh, sw = int(h * sy), int(w * sx)
    scaled, K = resize(arrays, K, (sh, sw))
    oy = int(rng.integers(0, sh - h + 1))
    ox = int(rng.integers(0, sw - w + 1))
    K = K.copy()
    K[0, 2] -= ox
    K[1, 2] -= oy
    return [a[oy:oy + h, ox:ox + w] for a in scaled], K


def augment_train(arrays: list[np.ndarray], K: np.ndarray, size_hw: tuple[int, int],
                  rng: np.random.Generator):
    """Reference training transform: random flip, random scale+crop, resize to the training size."""
    arrays, K = random_flip(arrays, K, rng)
    arrays, K = random_scale_crop(arrays, K, rng)
    return resize(arrays, K, size_hw)
