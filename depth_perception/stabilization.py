"""Software stabilisation: remove the camera rotation between two frames.

DepthNet needs pairs without rotation (a gimballed camera). When the relative rotation is
known, warping the earlier frame with the infinite homography H = K R_prev_curr K^-1 shows
the scene from the earlier *position* but with the later *orientation*: a pure rotation
moves every pixel independently of depth, so this warp is exact for any scene (up to
resampling), and only the translation's parallax remains.
"""
from __future__ import annotations

import cv2
import numpy as np


def rotation_angle_deg(R: np.ndarray) -> float:
    """Angle of a rotation matrix in degrees (0..180)."""
    c = (np.trace(np.asarray(R, np.float64)) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def infinite_homography(K: np.ndarray, R_prev_curr: np.ndarray) -> np.ndarray:
    """H mapping a pixel of the de-rotated view to the earlier image: x_prev ~ H x_virtual.

    R_prev_curr rotates directions of the current (later) optical frame into the earlier
    one (the rotation part of T_prev_curr). Both sides use the same K.
    """
    K = np.asarray(K, np.float64)
    return K @ np.asarray(R_prev_curr, np.float64) @ np.linalg.inv(K)


def derotate(earlier_rgb: np.ndarray, K: np.ndarray, R_prev_curr: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The earlier frame re-oriented like the later one, and a mask of pixels it covers.

    Returns (rgb [H,W,3] uint8, valid [H,W] bool). Pixels whose ray leaves the earlier
    image (or points behind it) are black and False in `valid`.
    """
    h, w = earlier_rgb.shape[:2]
    H = infinite_homography(K, R_prev_curr)
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pts = H @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    in_front = pts[2] > 1e-9
    z = np.where(in_front, pts[2], 1.0)
    map_x = np.where(in_front, pts[0] / z, -1e6).reshape(h, w).astype(np.float32)
    map_y = np.where(in_front, pts[1] / z, -1e6).reshape(h, w).astype(np.float32)
    rgb = cv2.remap(earlier_rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0)
    # Pixel centres sample inside the image when -0.5 <= x <= w - 0.5; stay a half pixel
    # inside so that no valid pixel blends with the black border.
    valid = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return rgb, valid
