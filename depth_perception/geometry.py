"""Camera model, rigid transforms and view warping: the maths every adapter shares.

Conventions:
- Camera frames are optical (REP 103): x right, y down, z forward. `T_a_b` is a 4x4
  matrix mapping points from frame b into frame a (X_a = T_a_b @ X_b).
- `K` is the 3x3 pinhole matrix of the image it is used with; pixel (u, v) addresses the
  centre of column u, row v.
- Functions taking torch tensors are batched ([B, ...]); numpy ones are single-frame.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Rotation from the camera optical frame into the REP 103 body frame (x fwd, y left, z up).
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0],
                           [-1.0, 0.0, 0.0],
                           [0.0, -1.0, 0.0]])


# ---------------------------------------------------------------------------- intrinsics
def scale_intrinsics(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Intrinsics of an image resized by (sx, sy) (pixel-centre convention)."""
    K = np.asarray(K, dtype=np.float64).copy()
    K[0, 0] *= sx
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 1] *= sy
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return K


def intrinsics_from_fov(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """Square-pixel pinhole K for a horizontal field of view, principal point at the centre."""
    f = 0.5 * width / np.tan(np.deg2rad(hfov_deg) / 2)
    return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])


# ------------------------------------------------------------------------- SE(3), numpy
def make_T(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t).reshape(3)
    return T


def invert_T(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    return make_T(R.T, -R.T @ t)


def quaternion_xyzw_from_matrix(R: np.ndarray) -> np.ndarray:
    """ROS-ordered unit quaternion [x, y, z, w] (w >= 0) of a rotation matrix."""
    m = np.asarray(R, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def matrix_from_quaternion_xyzw(q) -> np.ndarray:
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def euler_xyz_to_matrix_np(rx: float, ry: float, rz: float) -> np.ndarray:
    """R = Rx(rx) @ Ry(ry) @ Rz(rz), the SC-Depth pose-vector convention."""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rx @ Ry @ Rz


def pose_vec_to_T_np(vec) -> np.ndarray:
    """[tx,ty,tz,rx,ry,rz] -> 4x4."""
    vec = np.asarray(vec, dtype=np.float64).reshape(6)
    return make_T(euler_xyz_to_matrix_np(*vec[3:]), vec[:3])


def T_body_from_optical(T_optical: np.ndarray) -> np.ndarray:
    """Re-express a motion between optical frames as one between REP 103 body frames."""
    B = make_T(R_BODY_OPTICAL, np.zeros(3))
    return B @ T_optical @ invert_T(B)


# ------------------------------------------------------------------------- SE(3), torch
def euler_xyz_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """[B,3] Euler angles (rad) -> [B,3,3] rotation R = Rx @ Ry @ Rz."""
    rx, ry, rz = angles[:, 0], angles[:, 1], angles[:, 2]
    zeros, ones = torch.zeros_like(rx), torch.ones_like(rx)
    cx, sx, cy, sy, cz, sz = rx.cos(), rx.sin(), ry.cos(), ry.sin(), rz.cos(), rz.sin()
    Rx = torch.stack([ones, zeros, zeros, zeros, cx, -sx, zeros, sx, cx], 1).view(-1, 3, 3)
    Ry = torch.stack([cy, zeros, sy, zeros, ones, zeros, -sy, zeros, cy], 1).view(-1, 3, 3)
    Rz = torch.stack([cz, -sz, zeros, sz, cz, zeros, zeros, zeros, ones], 1).view(-1, 3, 3)
    return Rx @ Ry @ Rz


def pose_vec_to_T(pose: torch.Tensor) -> torch.Tensor:
    """[B,6] pose vectors [t, euler] -> [B,4,4] transforms."""
    T = torch.eye(4, dtype=pose.dtype, device=pose.device).repeat(pose.shape[0], 1, 1)
    T[:, :3, :3] = euler_xyz_to_matrix(pose[:, 3:])
    T[:, :3, 3] = pose[:, :3]
    return T


# --------------------------------------------------------------- back-projection, torch
def pixel_grid(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Homogeneous pixel coordinates [3, H*W] (u along columns, v along rows)."""
    v, u = torch.meshgrid(torch.arange(height, dtype=like.dtype, device=like.device),
                          torch.arange(width, dtype=like.dtype, device=like.device), indexing='ij')
    return torch.stack([u, v, torch.ones_like(u)], 0).view(3, -1)


def backproject(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Depth [B,1,H,W] along z and K [B,3,3] -> camera points [B,3,H,W]."""
    b, _, h, w = depth.shape
    rays = torch.linalg.inv(K) @ pixel_grid(h, w, depth)
    return (rays * depth.view(b, 1, -1)).view(b, 3, h, w)


def project(points: torch.Tensor, K: torch.Tensor, eps: float = 1e-7):
    """Camera points [B,3,H,W] -> (pixel coords [B,H,W,2], depth z [B,1,H,W])."""
    b, _, h, w = points.shape
    p = K @ points.view(b, 3, -1)
    z = p[:, 2:3]
    uv = p[:, :2] / z.clamp(min=eps)
    return uv.view(b, 2, h, w).permute(0, 2, 3, 1), z.view(b, 1, h, w)


def pixels_to_grid(uv: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coords -> grid_sample's [-1, 1] coordinates for align_corners=False."""
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=uv.dtype, device=uv.device)
    return (uv + 0.5) * scale - 1.0


def inverse_warp(ref_img: torch.Tensor, tgt_depth: torch.Tensor, ref_depth: torch.Tensor,
                 T_ref_tgt: torch.Tensor, K: torch.Tensor, padding_mode: str = 'zeros'):
    """Synthesise the target view from the reference view (SC-Depth's `inverse_warp`).

    Args:
        ref_img: [B,C,H,W] reference image.
        tgt_depth, ref_depth: [B,1,H,W] depths of the target and reference views.
        T_ref_tgt: [B,4,4] (or [B,3,4]) maps target-camera points into the reference camera.
        K: [B,3,3] intrinsics shared by both views.
    Returns:
        warped_img [B,C,H,W]: reference colours seen from the target camera;
        projected_depth [B,1,H,W]: reference depth sampled at the projected pixels;
        computed_depth [B,1,H,W]: z of the target points expressed in the reference camera;
        in_view [B,1,H,W]: 1 where the projection lands inside the reference image.
    """
    b, _, h, w = tgt_depth.shape
    pts_tgt = backproject(tgt_depth, K).view(b, 3, -1)
    pts_ref = (T_ref_tgt[:, :3, :3] @ pts_tgt + T_ref_tgt[:, :3, 3:4]).view(b, 3, h, w)
    uv, computed_depth = project(pts_ref, K)
    grid = pixels_to_grid(uv, h, w)
    warped = F.grid_sample(ref_img, grid, mode='bilinear', padding_mode=padding_mode,
                           align_corners=False)
    projected_depth = F.grid_sample(ref_depth, grid, mode='bilinear', padding_mode=padding_mode,
                                    align_corners=False)
    in_view = ((grid.abs() <= 1).all(dim=-1, keepdim=True).permute(0, 3, 1, 2)
               & (computed_depth > 0)).to(ref_img.dtype)
    return warped, projected_depth, computed_depth, in_view


# -------------------------------------------------------------- back-projection, numpy
def depth_to_points_np(depth_m: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Depth [H,W] (metres along z, NaN/<=0 invalid) -> points [H,W,3] in the camera frame.

    Invalid pixels give NaN points.
    """
    h, w = depth_m.shape
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u = (np.arange(w, dtype=np.float32) - np.float32(cx)) / np.float32(fx)
    v = (np.arange(h, dtype=np.float32) - np.float32(cy)) / np.float32(fy)
    z = np.where(depth_m > 0, depth_m, np.nan).astype(np.float32)
    pts = np.empty((h, w, 3), np.float32)
    pts[..., 0] = z * u[None, :]
    pts[..., 1] = z * v[:, None]
    pts[..., 2] = z
    return pts
