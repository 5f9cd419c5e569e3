"""Writing results as the reference does (`midas.utils.write_depth(path, depth, bits=2)`).

uint16 PNG: 65535 (d - min) / (max - min) computed in the array's own dtype and truncated by
astype (not rounded). With colour: 8-bit 255 (d - min) / (max - min), truncated, through
cv2.COLORMAP_INFERNO. A flat map is written as zeros (the reference fails on it). The values
are normalised relative depth, not metres.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _scaled(depth: np.ndarray, max_val: int) -> np.ndarray:
    lo, hi = depth.min(), depth.max()
    if hi - lo > np.finfo('float').eps:
        return max_val * (depth - lo) / (hi - lo)
    return np.zeros(depth.shape, depth.dtype)


def depth_to_uint16(depth: np.ndarray) -> np.ndarray:
    return _scaled(depth, 65535).astype('uint16')


def depth_to_inferno(depth: np.ndarray) -> np.ndarray:
    """[H,W,3] uint8 in OpenCV's BGR order (as written to disk)."""
    return cv2.applyColorMap(_scaled(depth, 255).astype('uint8'), cv2.COLORMAP_INFERNO)


def write_depth_png(path_without_suffix: str | Path, depth: np.ndarray, colorize: bool = False) -> Path:
    path = Path(str(path_without_suffix) + '.png')
    path.parent.mkdir(parents=True, exist_ok=True)
    image = depth_to_inferno(depth) if colorize else depth_to_uint16(depth)
    if not cv2.imwrite(str(path), image):
        raise OSError(f'{path}: could not write the image')
    return path
