"""Triangle meshes of the primitives scenes are made of, as plain numpy arrays.

Each function returns (vertices [V,3] float32, triangles [F,3] uint32) in the primitive's own
frame (centred at the origin); scenes place them with `transform`.
"""
from __future__ import annotations

import numpy as np
import open3d as o3d

Mesh = tuple[np.ndarray, np.ndarray]

_BOX_TRIANGLES = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6],   # -x, +x
                           [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7],   # -y, +y
                           [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]],  # -z, +z
                          dtype=np.uint32)


def box(size_m) -> Mesh:
    """Axis-aligned box of extents (sx, sy, sz) centred at the origin, 12 triangles."""
    half = np.asarray(size_m, np.float64) / 2
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64)
    return (corners * half).astype(np.float32), _BOX_TRIANGLES.copy()


def sphere(radius_m: float, resolution: int = 16) -> Mesh:
    m = o3d.geometry.TriangleMesh.create_sphere(radius=float(radius_m), resolution=resolution)
    return np.asarray(m.vertices, np.float32), np.asarray(m.triangles, np.uint32)


def cylinder(radius_m: float, height_m: float, resolution: int = 20) -> Mesh:
    """Cylinder along z, centred at the origin."""
    m = o3d.geometry.TriangleMesh.create_cylinder(radius=float(radius_m), height=float(height_m),
                                                  resolution=resolution, split=1)
    return np.asarray(m.vertices, np.float32), np.asarray(m.triangles, np.uint32)


def rot_z(yaw_rad: float) -> np.ndarray:
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.standard_normal(4)
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def transform(vertices: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to [V,3] vertices (float32 out)."""
    T = np.asarray(T, np.float64)
    return (vertices.astype(np.float64) @ T[:3, :3].T + T[:3, 3]).astype(np.float32)
