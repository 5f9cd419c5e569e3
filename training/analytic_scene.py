"""Exact renders of a textured plane by ray-plane intersection (numpy): ground truth for loss tests.

The texture is a smooth function of the surface point, so every view of the same point has
the same colour (what photometric losses assume) and any camera pose renders exactly:
no meshes, no interpolation beyond the analytic intersection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_perception.geometry import intrinsics_from_fov


@dataclass(frozen=True)
class TexturedPlane:
    """Plane n . X = offset in the world frame, with a multi-frequency sinusoidal texture."""

    normal: tuple = (0.0, 0.0, -1.0)   # facing a camera that looks along +z
    offset_m: float = -3.0             # n . X = offset  ->  z = 3 m for the default normal
    seed: int = 0

    def colour(self, points: np.ndarray) -> np.ndarray:
        """RGB in [0, 255] of world points [..., 3] (the texture lives on the plane)."""
        rng = np.random.default_rng(self.seed)
        n = np.asarray(self.normal, float) / np.linalg.norm(self.normal)
        a = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(n, a)
        s, t = points @ a, points @ b
        out = np.zeros(points.shape[:-1] + (3,))
        for c in range(3):
            for _ in range(6):
                fs, ft = rng.uniform(-9, 9, 2)           # cycles per metre: a few pixels to tens
                phase = rng.uniform(0, 2 * np.pi)
                out[..., c] += np.sin(fs * s + ft * t + phase)
        return np.clip(127.5 + 20.0 * out, 0, 255)


def render(plane: TexturedPlane, T_world_cam: np.ndarray, K: np.ndarray, height: int, width: int):
    """(rgb float [H,W,3] in 0..255, depth_m [H,W] along the optical axis; NaN where missed)."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    rays_cam = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T    # z = 1
    R, t = T_world_cam[:3, :3], T_world_cam[:3, 3]
    rays_world = rays_cam @ R.T
    n = np.asarray(plane.normal, float)
    denom = rays_world @ n
    with np.errstate(divide='ignore', invalid='ignore'):
        depth = (plane.offset_m - n @ t) / denom
    depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    points = t + rays_world * np.nan_to_num(depth)[..., None]
    return plane.colour(points), depth


def default_K(height: int, width: int, hfov_deg: float = 60.0) -> np.ndarray:
    return intrinsics_from_fov(width, height, hfov_deg)


def write_plane_dataset(root, scenes=('a', 'b'), val_scenes=('v',), frames: int = 6, height: int = 64,
                        width: int = 64, step_m: float = 0.05):
    """A tiny SC-Depth-layout dataset of a camera sliding past textured planes (tests, smoke runs).

    Each scene uses its own plane; the camera translates by `step_m` per frame along x with a
    slight yaw. Depth PNGs are uint16 millimetres (dataset_name 'synthetic').
    """
    import cv2
    from pathlib import Path
    root = Path(root) / 'training'
    K = default_K(height, width)
    for split, names in (('train', scenes), ('val', val_scenes)):
        for k, name in enumerate(names):
            scene = root / name
            (scene / 'depth').mkdir(parents=True, exist_ok=True)
            np.savetxt(scene / 'cam.txt', K)
            plane = TexturedPlane(normal=(0.2 * (k - 0.5), -0.2, -1.0), offset_m=-2.5 - k, seed=k + 11 * len(split))
            for i in range(frames):
                yaw = 0.01 * i
                T = make_T_xyz(i * step_m, 0.01 * i, 0.0, yaw)
                rgb, depth = render(plane, T, K, height, width)
                cv2.imwrite(str(scene / f'{i:06d}.png'), cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2BGR))
                cv2.imwrite(str(scene / 'depth' / f'{i:06d}.png'), np.round(np.nan_to_num(depth) * 1000).astype(np.uint16))
        (root / f'{split}.txt').write_text('\n'.join(names) + '\n')
    return root.parent


def make_T_xyz(x: float, y: float, z: float, yaw_rad: float) -> np.ndarray:
    """T_world_cam with a yaw about the camera's y (down) axis."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    T = np.eye(4)
    T[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    T[:3, 3] = [x, y, z]
    return T
