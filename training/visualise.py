"""Small image helpers for TensorBoard: undo normalisation, colour depth maps."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from .data.sequences import NORM_MEAN, NORM_STD


def denormalise(img: torch.Tensor) -> np.ndarray:
    """Normalised [3,H,W] -> uint8 RGB [H,W,3]."""
    x = (img.detach().float().cpu() * NORM_STD + NORM_MEAN).clamp(0, 1)
    return (x.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def depth_to_colour(depth: torch.Tensor) -> np.ndarray:
    """Depth [H,W] -> uint8 RGB [H,W,3]: inverse depth min-max normalised, magma colour map."""
    inv = 1.0 / depth.detach().float().cpu().clamp(min=1e-6).numpy()
    lo, hi = np.percentile(inv, 1), np.percentile(inv, 99)
    scaled = np.clip((inv - lo) / max(hi - lo, 1e-9), 0, 1)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_MAGMA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
