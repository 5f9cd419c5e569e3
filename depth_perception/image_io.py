"""Reading image files into the RGB uint8 arrays the estimators take."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.tif', '.tiff')


def list_images(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder}: no such folder')
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f'{folder}: no images ({", ".join(IMAGE_SUFFIXES)})')
    return images


def read_rgb(path: Path) -> np.ndarray:
    """Any 8/16-bit grey, RGB or RGBA image file -> [H,W,3] uint8 RGB."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f'{path}: not a readable image')
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raise ValueError(f'{path}: unsupported pixel type {raw.dtype}')
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
