"""Camera trajectories: T_world_cam (camera-to-world, optical frame) at a fixed frame rate.

- handheld: smooth 6-DoF loop inside the scene's camera region with real rotation
  (yaw sweeps, pitch and roll wobble), like TUM/NYU hand-held recordings.
- driving: forward along the scene heading with lane wander and small yaw (KITTI-like).
- uav: stabilised flight, pure translation at constant velocity, fixed orientation (DepthNet),
  slowed down where needed to stay inside the camera region.
All paths are centred on the camera region so that they stay inside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import R_BODY_OPTICAL
from .scenes import CameraRegion

TRAJECTORIES = ('handheld', 'driving', 'uav')
EPOCH_NS = 1_700_000_000 * 1_000_000_000  # fixed start stamp: deterministic output files


@dataclass
class Trajectory:
    T_world_cam: np.ndarray  # [N,4,4] float64
    stamps_ns: np.ndarray    # [N] int64
    kind: str

    @property
    def times_s(self) -> np.ndarray:
        return (self.stamps_ns - self.stamps_ns[0]) * 1e-9


def R_world_cam_from_ypr(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Optical-frame orientation from body yaw (about world z), pitch (nose up +), roll."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    Ry = np.array([[cp, 0, -sp], [0, 1, 0], [sp, 0, cp]])  # rotation by -pitch about body y (left)
    Rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return Rz @ Ry @ Rx @ R_BODY_OPTICAL


def _poses(positions: np.ndarray, ypr: np.ndarray) -> np.ndarray:
    T = np.tile(np.eye(4), (len(positions), 1, 1))
    for i, (p, (y, pi, r)) in enumerate(zip(positions, ypr)):
        T[i, :3, :3] = R_world_cam_from_ypr(y, pi, r)
        T[i, :3, 3] = p
    return T


def handheld(region: CameraRegion, t: np.ndarray, speed_mps: float, rng: np.random.Generator) -> np.ndarray:
    a, b, c = np.maximum(region.half_extent_m, 1e-3)
    radius = max(0.5 * (a + b), 0.05)
    omega = speed_mps / radius                      # loop angular rate for the requested speed
    ph = rng.uniform(0, 2 * np.pi, 8)
    s = omega * t + ph[0]
    # 85% ellipse + 15% wobble never leaves the region box.
    x = a * (0.85 * np.cos(s) + 0.15 * np.sin(2.3 * s + ph[1]))
    y = b * (0.85 * np.sin(s) + 0.15 * np.sin(1.7 * s + ph[2]))
    z = c * np.sin(1.3 * s + ph[3])
    pos = region.centre_m + np.stack([x, y, z], 1)
    yaw_rate = rng.uniform(0.15, 0.35) * rng.choice([-1, 1])
    yaw = region.heading_rad + yaw_rate * t + 0.35 * np.sin(0.9 * t + ph[4])
    pitch = -0.08 + 0.12 * np.sin(0.7 * t + ph[5])
    roll = 0.06 * np.sin(1.1 * t + ph[6])
    return _poses(pos, np.stack([yaw, pitch, roll], 1))


def driving(region: CameraRegion, t: np.ndarray, speed_mps: float, rng: np.random.Generator) -> np.ndarray:
    h = region.heading_rad
    fwd, left = np.array([np.cos(h), np.sin(h), 0.0]), np.array([-np.sin(h), np.cos(h), 0.0])
    ph = rng.uniform(0, 2 * np.pi, 3)
    s = speed_mps * (t - t[-1] / 2)                  # centred on the region
    wander_amp = min(0.3, region.half_extent_m[1])
    lat = wander_amp * np.sin(0.25 * t + ph[0])
    dlat = wander_amp * 0.25 * np.cos(0.25 * t + ph[0])
    pos = region.centre_m + s[:, None] * fwd + lat[:, None] * left
    yaw = h + np.arctan2(dlat, max(speed_mps, 1e-3)) + 0.02 * np.sin(0.6 * t + ph[1])
    pitch = 0.01 * np.sin(1.3 * t + ph[2])
    return _poses(pos, np.stack([yaw, pitch, np.zeros_like(t)], 1))


def uav(region: CameraRegion, t: np.ndarray, speed_mps: float, rng: np.random.Generator,
        three_d: bool) -> np.ndarray:
    """Constant velocity, constant orientation; `three_d` picks any flight direction.

    Otherwise the view yaw is near the scene heading and the flight direction is any horizontal
    direction relative to it: sideways flight gives parallax at every pixel, where a forward
    path leaves the image centre (its focus of expansion) without any. The speed is lowered
    where the requested path would leave the camera region (into walls or furniture).
    """
    if three_d:
        d = rng.standard_normal(3)
        yaw, pitch = rng.uniform(-np.pi, np.pi), rng.uniform(-0.3, 0.3)
    else:
        yaw = region.heading_rad + rng.uniform(-0.5, 0.5)
        course = yaw + rng.uniform(-np.pi, np.pi)
        d = np.array([np.cos(course), np.sin(course), rng.uniform(-0.1, 0.1)])
        pitch = rng.uniform(-0.15, 0.05)
    d = d / np.linalg.norm(d)
    half_duration_s = max(t[-1] / 2, 1e-9)
    reach_m = np.min(region.half_extent_m / np.maximum(np.abs(d), 1e-12))
    v = min(speed_mps, reach_m / half_duration_s) * d
    pos = region.centre_m + (t - t[-1] / 2)[:, None] * v
    ypr = np.tile([yaw, pitch, 0.0], (len(t), 1))
    return _poses(pos, ypr)


def make_trajectory(kind: str, region: CameraRegion, frames: int, fps: float, speed_mps: float,
                    seed: int, three_d: bool = False) -> Trajectory:
    if kind not in TRAJECTORIES:
        raise ValueError(f'unknown trajectory {kind!r}; choose one of {TRAJECTORIES}')
    if frames < 1 or fps <= 0:
        raise ValueError('frames must be >= 1 and fps > 0')
    rng = np.random.default_rng([int(seed), 1000 + TRAJECTORIES.index(kind)])
    stamps = EPOCH_NS + np.round(np.arange(frames) * 1e9 / fps).astype(np.int64)
    t = (stamps - EPOCH_NS) * 1e-9
    if kind == 'handheld':
        T = handheld(region, t, speed_mps, rng)
    elif kind == 'driving':
        T = driving(region, t, speed_mps, rng)
    else:
        T = uav(region, t, speed_mps, rng, three_d)
    return Trajectory(T, stamps, kind)
