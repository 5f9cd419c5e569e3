"""Deterministic image encoders shared by the writers (OpenCV, fixed parameters)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

JPEG_QUALITY = 95


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """RGB uint8 -> .jpg (quality 95) or .png, chosen by the suffix."""
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if Path(path).suffix.lower() in ('.jpg', '.jpeg') else []
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]), params):
        raise OSError(f'could not write {path}')


def depth_to_u16(depth_m: np.ndarray, scale: float) -> np.ndarray:
    """Metres -> uint16 `round(depth * scale)`; NaN, <= 0 and out-of-range pixels -> 0 (invalid)."""
    d = np.nan_to_num(depth_m.astype(np.float64) * scale, nan=0.0, posinf=0.0, neginf=0.0)
    d = np.where((d > 0) & (d <= 65535), np.round(d), 0)
    return d.astype(np.uint16)


def write_depth_png(path: Path, depth_m: np.ndarray, scale: float) -> None:
    if not cv2.imwrite(str(path), depth_to_u16(depth_m, scale)):
        raise OSError(f'could not write {path}')


def read_depth_png(path: Path, scale: float) -> np.ndarray:
    """16-bit PNG -> metres float32, 0 -> NaN."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise ValueError(f'{path} is not a 16-bit PNG')
    return np.where(raw > 0, raw.astype(np.float32) / np.float32(scale), np.nan).astype(np.float32)
