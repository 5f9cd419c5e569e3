"""Ray-cast renderer: RGB, z-depth, dynamic mask and object ids for a pinhole camera.

One open3d `RaycastingScene` per scene, built once; it is rebuilt per frame only when moving
objects exist (a rebuild of a few thousand triangles costs ~1 ms). All rays of a frame are cast
in one call. The ray directions are K^-1 [u, v, 1] rotated into the world, i.e. their optical
z component is exactly 1, so the hit parameter `t_hit` *is* the depth along the optical axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from .scenes import Scene
from .textures import lambert_shade, surface_colour, to_srgb8

STATIC_GEOMETRY_ID = 0
# Scene texture scales are tuned for this focal length (320 px wide at ~63 deg). Other cameras
# scale the texture by REFERENCE_FOCAL_PX / fx: the same angular texture size at any resolution,
# so it never aliases at low resolution. Fixed per camera, so still view-independent.
REFERENCE_FOCAL_PX = 260.0
# Embree threads for cast_rays (0 = automatic). On the 2-core dev machine 1 and 0 cost the
# same CPU time per frame; automatic scales on bigger machines.
CAST_THREADS = 0


def rotate_rows(points: np.ndarray, R: np.ndarray) -> np.ndarray:
    """points [N,3] @ R.T without BLAS.

    A [N,3]x[3,3] matmul goes to multithreaded OpenBLAS, whose spinning threads tripled the
    CPU time per frame on the 2-core machine; nine elementwise multiply-adds do not.
    """
    R = np.asarray(R, np.float32)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    out = np.empty(points.shape, np.float32)
    for j in range(3):
        out[:, j] = x * R[j, 0] + y * R[j, 1] + z * R[j, 2]
    return out


@dataclass
class Frame:
    rgb: np.ndarray            # [H,W,3] uint8, sRGB
    depth_m: np.ndarray        # [H,W] float32, z along the optical axis; NaN where no hit
    dynamic_mask: np.ndarray   # [H,W] bool, True on moving objects
    object_id: np.ndarray      # [H,W] int16: -1 sky, 0 static scene, k >= 1 moving object k
    T_world_cam: np.ndarray    # [4,4] float64 camera-to-world, optical frame
    stamp_ns: int


class Renderer:
    def __init__(self, scene: Scene, K: np.ndarray, width: int, height: int, shading: bool = True):
        self.scene, self.width, self.height, self.shading = scene, int(width), int(height), shading
        self.K = np.asarray(K, np.float64)
        u, v = np.meshgrid(np.arange(self.width), np.arange(self.height))
        pix = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 0)
        self._dirs_cam = (np.linalg.inv(self.K) @ pix).T.astype(np.float32)  # [N,3], z == 1
        self._static = self._build(0.0) if not scene.moving else None
        self.texture_multiplier = float(np.clip(REFERENCE_FOCAL_PX / self.K[0, 0], 0.5, 8.0))

    def _build(self, t_s: float) -> o3d.t.geometry.RaycastingScene:
        rs = o3d.t.geometry.RaycastingScene()
        gid = rs.add_triangles(self.scene.vertices, self.scene.triangles)
        assert gid == STATIC_GEOMETRY_ID
        for obj in self.scene.moving:
            T = obj.T_world_obj(t_s)
            verts = rotate_rows(obj.vertices, T[:3, :3]) + T[:3, 3].astype(np.float32)
            rs.add_triangles(np.ascontiguousarray(verts, np.float32), obj.triangles)
        return rs

    def render(self, T_world_cam: np.ndarray, t_s: float = 0.0, stamp_ns: int = 0) -> Frame:
        T = np.asarray(T_world_cam, np.float64)
        R = T[:3, :3].astype(np.float32)
        o = T[:3, 3].astype(np.float32)
        n = self._dirs_cam.shape[0]
        dirs = rotate_rows(self._dirs_cam, R)
        rays = np.empty((n, 6), np.float32)
        rays[:, :3] = o
        rays[:, 3:] = dirs
        rs = self._static if self._static is not None else self._build(t_s)
        hit = rs.cast_rays(o3d.core.Tensor.from_numpy(rays), nthreads=CAST_THREADS)
        t_hit = hit['t_hit'].numpy()
        gid = hit['geometry_ids'].numpy()
        valid = np.isfinite(t_hit)
        gid_valid = np.where(valid, gid, 0).astype(np.int64)  # INVALID_ID is huge; keep indices safe
        normals = hit['primitive_normals'].numpy()
        points = o + t_hit[:, None] * dirs
        points[~valid] = 0.0
        prim_ids = np.where(valid & (gid_valid == STATIC_GEOMETRY_ID), hit['primitive_ids'].numpy(), 0)
        material = np.take(self.scene.triangle_material, prim_ids.astype(np.int64))
        object_id = np.where(valid, gid_valid, -1).astype(np.int16)
        # Texture moving objects in their own frame so their pattern moves with them.
        for k, obj in enumerate(self.scene.moving, start=1):
            sel = np.flatnonzero(object_id == k)
            if sel.size == 0:
                continue
            T_wo = obj.T_world_obj(t_s)
            R_wo = T_wo[:3, :3].astype(np.float32)
            points[sel] = rotate_rows(points[sel] - T_wo[:3, 3].astype(np.float32), R_wo.T)
            normals[sel] = rotate_rows(normals[sel], R_wo.T)
            material[sel] = obj.material
        colour = surface_colour(points, normals, material, self.scene.materials, self.texture_multiplier)
        if self.shading:
            # The light is fixed in the world; moving objects use their world-frame normal.
            world_normals = hit['primitive_normals'].numpy()
            colour *= lambert_shade(world_normals, self.scene.light_dir)[:, None]
        if not valid.all():
            colour[~valid] = self._sky(dirs[~valid])
        h, w = self.height, self.width
        depth = np.where(valid, t_hit, np.nan).astype(np.float32).reshape(h, w)
        return Frame(rgb=to_srgb8(colour).reshape(h, w, 3), depth_m=depth,
                     dynamic_mask=(object_id > 0).reshape(h, w),
                     object_id=object_id.reshape(h, w), T_world_cam=T, stamp_ns=int(stamp_ns))

    @staticmethod
    def _sky(dirs_world: np.ndarray) -> np.ndarray:
        """Sky at infinity: a function of the ray direction only (consistent across views)."""
        elevation = dirs_world[:, 2] / np.linalg.norm(dirs_world, axis=1)
        a = np.clip(elevation, 0.0, 1.0)[:, None]
        horizon, zenith = np.array([0.78, 0.82, 0.88], np.float32), np.array([0.30, 0.45, 0.80], np.float32)
        return horizon * (1 - a) + zenith * a
