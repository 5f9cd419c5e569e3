"""Direct photometric refinement of a frame-to-frame pose against the predicted depth.

The pose network gives a rough motion; the depth network gives a dense shape. Warping the
previous image through that shape and minimising the brightness difference (Gauss-Newton,
inverse-compositional, coarse to fine, Huber-weighted) turns the two into one motion that
is consistent with the depth: the translation comes out in the depth's own units, so a
single `depth_scale` makes depth and odometry metric together.

Conventions as everywhere in the package: T_prev_curr maps points of the current optical
frame into the previous one; pixel centres at integer coordinates (`geometry.scale_intrinsics`).
Assumes brightness constancy between consecutive frames (fixed exposure); where the refined
alignment explains the images worse than the starting guess, the guess is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from .geometry import scale_intrinsics

HUBER_K = 1.345            # Huber threshold in robust standard deviations (95 % efficiency)
MIN_PIXELS = 200           # fewer usable pixels than this at a level: the level is skipped


@dataclass
class RefinementSettings:
    finest_width_px: int = 320       # width of the finest pyramid level
    levels: int = 4
    iterations: int = 12             # Gauss-Newton steps per level
    min_gradient: float = 0.01       # template pixels flatter than this (per px, [0,1] grey) carry no signal
    converged: float = 1e-5          # stop a level when the update is this small (rad / depth units)
    max_pixels: int = 3000           # per level, evenly spread over the textured pixels (cost ~ linear)


@dataclass
class _Level:
    grey: np.ndarray                 # [h,w] float32 in [0,1]
    grad_x: np.ndarray
    grad_y: np.ndarray
    K: np.ndarray


def grey_pyramid(rgb: np.ndarray, K: np.ndarray, settings: RefinementSettings) -> list[_Level]:
    """Finest level first. K is the intrinsics of `rgb`."""
    h, w = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    levels = []
    width = min(settings.finest_width_px, w)
    for _ in range(settings.levels):
        height = max(int(round(h * width / w)), 8)
        img = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
        # central differences in pixel units (Scharr-free: its smoothing biases sub-pixel shifts)
        gx = np.zeros_like(img)
        gy = np.zeros_like(img)
        gx[:, 1:-1] = 0.5 * (img[:, 2:] - img[:, :-2])
        gy[1:-1, :] = 0.5 * (img[2:, :] - img[:-2, :])
        levels.append(_Level(img, gx, gy, scale_intrinsics(K, width / w, height / h)))
        width = max(width // 2, 8)
    return levels


def _se3_exp(xi: np.ndarray) -> np.ndarray:
    """4x4 transform of a twist (v, w): rotation by Rodrigues, translation with the V matrix."""
    v, w = xi[:3], xi[3:]
    theta = float(np.linalg.norm(w))
    W = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
    if theta < 1e-9:
        R, V = np.eye(3) + W, np.eye(3) + 0.5 * W
    else:
        a = np.sin(theta) / theta
        b = (1 - np.cos(theta)) / theta ** 2
        c = (theta - np.sin(theta)) / theta ** 3
        R = np.eye(3) + a * W + b * W @ W
        V = np.eye(3) + b * W + c * W @ W
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = V @ v
    return T


class _Template:
    """The current frame at one level: its 3-D points and the constant IC Jacobian."""

    def __init__(self, level: _Level, depth: np.ndarray, settings: RefinementSettings):
        h, w = level.grey.shape
        d = cv2.resize(depth.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
        grad_norm = np.hypot(level.grad_x, level.grad_y)
        use = np.isfinite(d) & (d > 0) & (grad_norm > settings.min_gradient)
        use[[0, -1], :] = False
        use[:, [0, -1]] = False
        v, u = np.nonzero(use)
        if len(v) > settings.max_pixels:
            keep = np.linspace(0, len(v) - 1, settings.max_pixels).round().astype(int)
            v, u = v[keep], u[keep]
        K = level.K
        z = d[v, u].astype(np.float64)
        x = (u - K[0, 2]) / K[0, 0] * z
        y = (v - K[1, 2]) / K[1, 1] * z
        self.points = np.stack([x, y, z], 1)
        self.values = level.grey[v, u].astype(np.float64)
        gx = level.grad_x[v, u].astype(np.float64) * K[0, 0]
        gy = level.grad_y[v, u].astype(np.float64) * K[1, 1]
        inv_z = 1.0 / z
        # d(grey)/d(point) through the pinhole projection, then d(point)/d(twist) = [I | -[P]x]
        dX = gx * inv_z
        dY = gy * inv_z
        dZ = -(gx * x + gy * y) * inv_z ** 2
        self.jacobian = np.stack([dX, dY, dZ,
                                  dZ * y - dY * z, dX * z - dZ * x, dY * x - dX * y], 1)


def _residuals(template: _Template, prev: _Level, T: np.ndarray):
    """Previous-image grey at the warped points minus the template's, and which are usable."""
    P = template.points @ T[:3, :3].T + T[:3, 3]
    K = prev.K
    z = P[:, 2]
    ok = z > 1e-6
    z_safe = np.where(ok, z, 1.0)
    u = K[0, 0] * P[:, 0] / z_safe + K[0, 2]
    v = K[1, 1] * P[:, 1] / z_safe + K[1, 2]
    h, w = prev.grey.shape
    ok &= (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    sampled = cv2.remap(prev.grey, u.astype(np.float32)[None], v.astype(np.float32)[None],
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0].astype(np.float64)
    return sampled - template.values, ok


def _huber_weights(r: np.ndarray) -> np.ndarray:
    """IRLS weights of the Huber loss at a MAD-estimated scale."""
    a = np.abs(r)
    k = HUBER_K * (1.4826 * float(np.median(a)) + 1e-6)
    return np.where(a <= k, 1.0, k / np.maximum(a, 1e-12))


def photometric_cost(template: _Template, prev: _Level, T: np.ndarray, sigma: float) -> float:
    """Mean Huber cost at a fixed scale; a pixel that leaves the image costs as much as a
    residual of about 4.5 robust sigmas, so moving texture out of view is no way to win."""
    r, ok = _residuals(template, prev, T)
    k = HUBER_K * sigma
    a = np.abs(r)
    cost = np.where(a <= k, 0.5 * a * a, k * (a - 0.5 * k))
    cost[~ok] = k * (4 * k)
    return float(cost.mean())


def templates_for(curr: list[_Level], depth_curr: np.ndarray,
                  settings: RefinementSettings | None = None) -> list[_Template]:
    """The current frame's templates, one per level: build once when refining from several guesses."""
    s = settings or RefinementSettings()
    return [_Template(level, depth_curr, s) for level in curr]


def refine_pose(T_init: np.ndarray, curr: list[_Level] | list[_Template], prev: list[_Level],
                depth_curr: np.ndarray | None = None,
                settings: RefinementSettings | None = None) -> tuple[np.ndarray, dict]:
    """Refined T_prev_curr, coarse to fine from `T_init`, in the units of `depth_curr`.

    `curr` is the current frame's pyramid with `depth_curr`, or its `templates_for` (no depth).
    Returns the pose and a summary (`cost_init`, `cost_final` on the finest level at one
    robust scale, `accepted`). The starting guess is returned unchanged when refinement
    does not lower that cost.
    """
    s = settings or RefinementSettings()
    if curr and not isinstance(curr[0], _Template):
        curr = templates_for(curr, depth_curr, s)
    T = np.asarray(T_init, dtype=np.float64).copy()
    templates = {}
    for li in reversed(range(min(len(curr), len(prev)))):
        template = curr[li]
        templates[li] = template
        if len(template.values) < MIN_PIXELS:
            continue
        J = template.jacobian
        for _ in range(s.iterations):
            r, ok = _residuals(template, prev[li], T)
            if ok.sum() < MIN_PIXELS:
                break
            wts = _huber_weights(r[ok])
            Jo = J[ok]
            H = Jo.T @ (Jo * wts[:, None])
            g = Jo.T @ (wts * r[ok])
            try:
                xi = np.linalg.solve(H + 1e-9 * np.trace(H) * np.eye(6), g)
            except np.linalg.LinAlgError:
                break
            T = T @ np.linalg.inv(_se3_exp(xi))
            if np.linalg.norm(xi) < s.converged:
                break
    finest = templates.get(0)
    if finest is None or len(finest.values) < MIN_PIXELS:
        return np.asarray(T_init, dtype=np.float64), {'accepted': False, 'reason': 'too little texture'}
    r0, ok0 = _residuals(finest, prev[0], np.asarray(T_init, dtype=np.float64))
    sigma = 1.4826 * float(np.median(np.abs(r0[ok0]))) + 1e-6 if ok0.any() else 0.05
    cost_init = photometric_cost(finest, prev[0], np.asarray(T_init, dtype=np.float64), sigma)
    cost_final = photometric_cost(finest, prev[0], T, sigma)
    accepted = bool(np.all(np.isfinite(T)) and cost_final < cost_init)
    return (T if accepted else np.asarray(T_init, dtype=np.float64)), {
        'accepted': accepted, 'cost_init': cost_init, 'cost_final': cost_final}


def midpoint_motion(T_a: np.ndarray, T_b: np.ndarray) -> np.ndarray:
    """Halfway between two estimates of one motion: mean translation, rotation halfway along
    the geodesic from T_a's to T_b's."""
    R_a = Rotation.from_matrix(T_a[:3, :3])
    half = Rotation.from_rotvec(0.5 * (R_a.inv() * Rotation.from_matrix(T_b[:3, :3])).as_rotvec())
    T = np.eye(4)
    T[:3, :3] = (R_a * half).as_matrix()
    T[:3, 3] = 0.5 * (T_a[:3, 3] + T_b[:3, 3])
    return T
