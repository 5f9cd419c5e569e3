"""Patch grid, gradient-density selection, growth and ordering (Boosting `generatepatchs`).

On the image at target resolution: Sobel magnitude; values below the mean of the positive
gradients are zeroed; gf = mean of what is left. Square patches of side 2 RF on a grid with
stride round(0.75 RF) (x outer loop, y inner), kept if their gradient density >= gf, grown by
search_step = int(32 / factor) (x, y -= int(step / 2); w, h += step) while
inside the image and still dense enough, then sorted by size, largest first (stable: equal
sizes keep grid order). Rects are (x, y, w, h) in target pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .resolution import rgb_to_gray, sobel_magnitude


@dataclass
class Patch:
    id: int                          # index among the selected patches, in grid order
    rect: tuple[int, int, int, int]  # x, y, w, h at target resolution

    @property
    def size(self) -> int:
        return self.rect[2]


def gradient_density(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """(integral image of the thresholded gradient [H+1,W+1], gf = its mean density)."""
    grad = sobel_magnitude(rgb_to_gray(rgb))
    positive = grad[grad > 0]
    if positive.size:
        grad[grad < positive.mean()] = 0
    gf = grad.sum() / grad.size
    return cv2.integral(grad), float(gf)


def rect_density(integral: np.ndarray, rect) -> float:
    x, y, w, h = rect
    total = integral[y + h, x + w] - integral[y, x + w] - integral[y + h, x] + integral[y, x]
    return total / (w * h)


def grid(h: int, w: int, blsize: int, stride: int) -> list[tuple[int, int, int, int]]:
    return [(k - blsize, j - blsize, 2 * blsize, 2 * blsize)
            for k in range(blsize, w - blsize, stride) for j in range(blsize, h - blsize, stride)]


def select_patches(rgb: np.ndarray, receptive_field: int, factor: float) -> list[Patch]:
    """Selected, grown and ordered patches for the float RGB image at target resolution."""
    integral, gf = gradient_density(rgb)
    blsize = int(round(2 * receptive_field / 2))
    stride = int(round(blsize * 0.75))          # Python round: half to even
    height, width = integral.shape
    step = int(32 / factor)
    chosen = []
    for rect in grid(rgb.shape[0], rgb.shape[1], blsize, stride):
        if rect_density(integral, rect) < gf:
            continue
        x, y, w, h = rect
        while True:
            tx, ty, tw, th = x - int(step / 2), y - int(step / 2), w + step, h + step
            if tx < 0 or ty < 0 or ty + th >= height or tx + tw >= width:
                break
            if rect_density(integral, (tx, ty, tw, th)) < gf:
                break
            x, y, w, h = tx, ty, tw, th
        chosen.append(Patch(len(chosen), (x, y, w, h)))
    return sorted(chosen, key=lambda p: p.size, reverse=True)
