"""Refine the relative rotation of a pair from its images, given the direction of translation.

Why: DepthNet reads depth from the parallax of a de-rotated pair, and a rotation error of a
fraction of a degree moves every pixel by as much as centimetres of translation do. Odometry,
IMU and even ground-truth poses are rarely that good between two frames: on the 7-Scenes
fixture the ground-truth rotation leaves 0.3 deg (3 frames apart) to 1.3 deg (15 apart), as
much image motion as the parallax itself (`training/README.md`, DepthNet).

How: de-rotate with the given rotation, measure dense optical flow from the later frame to the
de-rotated earlier one (OpenCV Farneback), and model it as parallax plus a small residual
rotation w:  flow(p) = a(p) / Z(p) + B(p) w.  The depth Z is unknown, but the parallax a(p)/Z
points along a(p), which the known translation direction fixes; the flow component across
a(p) is therefore rotation only, n(p) . flow(p) = n(p) . B(p) w with n(p) perpendicular to
a(p). Least squares over textured pixels (the worst residuals trimmed) gives w, twice, each on
the pair re-warped with the corrected rotation. The parallax along a(p) is never touched, so
the depth the network reads is not biased by the refinement.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import scale_intrinsics
from .stabilization import derotate, rotation_angle_deg

REFINE_WIDTH_PX = 320          # flow resolution: ~0.05 deg at 60 deg FOV (160 px: ~0.1 deg, 3x faster)
MAX_CORRECTION_DEG = 3.0       # a larger correction means the flow failed, not the rotation


@dataclass
class Refinement:
    R_prev_curr: np.ndarray    # the refined rotation (the given one when rejected)
    correction_deg: float      # angle between the given and the refined rotation
    accepted: bool
    reason: str = ''


def _rotvec_to_matrix(w: np.ndarray) -> np.ndarray:
    R, _ = cv2.Rodrigues(np.asarray(w, np.float64).reshape(3, 1))
    return R


def motion_field(K: np.ndarray, shape: tuple[int, int]):
    """Normalised image coordinates x, y [H,W] and the flow bx, by [H,W,3] that a small rotation
    w of the later camera adds, per radian about each axis (first order; far points):
    flow_x = bx . w, flow_y = by . w. A translation t adds (fx (t_x - x t_z), fy (t_y - y t_z)) / Z."""
    h, w = shape
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    x, y = (u - cx) / fx, (v - cy) / fy
    bx = np.stack([-fx * x * y, fx * (1 + x * x), -fx * y], -1)
    by = np.stack([-fy * (1 + y * y), fy * x * y, fy * x], -1)
    return x, y, bx, by


def textured_pixels(grey: np.ndarray) -> np.ndarray:
    """Pixels where dense flow can be trusted: gradient above the image's median, away from the
    border (a margin of 1/32 of the width, at least 4 px)."""
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    textured = grad > np.percentile(grad, 50)
    m = max(4, grey.shape[1] // 32)
    textured[:m], textured[-m:], textured[:, :m], textured[:, -m:] = False, False, False, False
    return textured


def trimmed_lstsq(A: np.ndarray, b: np.ndarray, rounds: int) -> np.ndarray:
    """Least squares refitted `rounds` times on the 70 % of rows with the smallest residuals:
    dense flow fails at occlusions and on plain surfaces."""
    keep = np.ones(len(b), bool)
    for _ in range(rounds):
        sol = np.linalg.lstsq(A[keep], b[keep], rcond=None)[0]
        r = np.abs(A @ sol - b)
        keep = r <= np.percentile(r, 70)
    return sol


def residual_rotation(flow: np.ndarray, K: np.ndarray, t_dir_cam: np.ndarray, used: np.ndarray) -> np.ndarray:
    """The rotation vector w (radians, later camera frame) that explains the flow across the
    parallax directions at the `used` pixels; flow [H,W,2] goes from the later frame to the
    de-rotated earlier one."""
    x, y, bx, by = motion_field(K, flow.shape[:2])
    t = np.asarray(t_dir_cam, np.float64)
    ax, ay = K[0, 0] * (t[0] - x * t[2]), K[1, 1] * (t[1] - y * t[2])   # parallax direction a(p)
    nx, ny = -ay, ax                                                     # n(p), across it
    A = (nx[..., None] * bx + ny[..., None] * by)[used]
    b = (nx * flow[..., 0] + ny * flow[..., 1])[used]
    return trimmed_lstsq(A, b, rounds=3)


def refine_rotation(later_gray: np.ndarray, earlier_gray: np.ndarray, K: np.ndarray,
                    R_prev_curr: np.ndarray, t_dir_cam: np.ndarray, iterations: int = 2,
                    max_correction_deg: float = MAX_CORRECTION_DEG) -> Refinement:
    """Refine R_prev_curr (rotation of the later optical frame into the earlier one) from the
    two grey images (same size and K), given the translation direction in the later frame."""
    t = np.asarray(t_dir_cam, np.float64)
    if not np.all(np.isfinite(t)) or np.linalg.norm(t) < 1e-12:
        return Refinement(R_prev_curr, 0.0, False, 'translation_unknown')
    t = t / np.linalg.norm(t)
    textured = textured_pixels(later_gray)
    R = np.asarray(R_prev_curr, np.float64)
    for _ in range(iterations):
        warped, valid = derotate(earlier_gray, K, R)
        flow = cv2.calcOpticalFlowFarneback(later_gray, warped, None, 0.5, 4, 15, 4, 5, 1.1, 0)
        used = textured & valid & np.all(np.isfinite(flow), -1)
        if used.sum() < 200:
            return Refinement(R_prev_curr, 0.0, False, 'too_little_texture')
        R = R @ _rotvec_to_matrix(residual_rotation(flow, K, t, used))
    correction = rotation_angle_deg(np.asarray(R_prev_curr, np.float64).T @ R)
    if correction > max_correction_deg:
        return Refinement(R_prev_curr, correction, False, 'correction_too_large')
    return Refinement(R, correction, True)


def grey_for_refinement(rgb: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame as grey at most REFINE_WIDTH_PX wide, and its K."""
    h, w = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    s = min(1.0, REFINE_WIDTH_PX / w)
    if s < 1.0:
        grey = cv2.resize(grey, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
    return grey, scale_intrinsics(K, grey.shape[1] / w, grey.shape[0] / h)
