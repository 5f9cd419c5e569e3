"""Integrate SC-Depth frame-to-frame motion into REP 105 odometry (odom -> base frame).

Frames:
- optical: the camera optical frame of the images (REP 103 `*_optical`: x right, y down,
  z forward). The estimator returns `T_prev_curr` in it (maps current-optical points into
  the previous optical frame).
- base: a REP 103 body frame (x forward, y left, z up) rigidly attached to the camera at the
  same origin: T_base_optical = [R_BODY_OPTICAL | 0]. This is the usual `camera_link ->
  camera_optical_frame` relation; the node publishes it as a static transform.
- odom: the base frame at the first integrated frame (identity start), fixed in the world.

Uncertainty: monocular motion is known only up to the scale given by `depth_scale`, so the
covariance grows with the distance from the origin (a scale error stretches the whole
trajectory) and with the path length (frame-to-frame drift). Values are 1-sigma fractions.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import R_BODY_OPTICAL, invert_T, make_T

T_BASE_OPTICAL = make_T(R_BODY_OPTICAL, np.zeros(3))
T_OPTICAL_BASE = invert_T(T_BASE_OPTICAL)

# Floors keep covariance matrices positive definite at the origin (m^2, rad^2).
MIN_POSITION_VAR_M2 = 1e-6
MIN_ROTATION_VAR_RAD2 = 1e-6


@dataclass
class OdometryNoise:
    scale_rel_sigma: float = 0.5     # unknown monocular scale: 50 % of the distance from origin
    drift_rel_sigma: float = 0.05    # translation drift per metre travelled
    rotation_drift_sigma: float = 0.05  # rad of heading error per rad turned


@dataclass
class OdometryState:
    """One integrated step: pose of base in odom, twist of base in base (child) frame."""

    T_odom_base: np.ndarray
    linear_velocity_mps: np.ndarray      # in the base frame
    angular_velocity_radps: np.ndarray   # in the base frame
    pose_covariance: np.ndarray          # 6x6, order x y z roll pitch yaw
    twist_covariance: np.ndarray         # 6x6


def rotation_angle_rad(R: np.ndarray) -> float:
    return float(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)))


def body_motion_from_optical(T_prev_curr_optical: np.ndarray) -> np.ndarray:
    """Optical-frame motion T_prev_curr -> the same motion between base frames."""
    return T_BASE_OPTICAL @ np.asarray(T_prev_curr_optical, dtype=np.float64) @ T_OPTICAL_BASE


class OdometryIntegrator:
    """Chains relative motions: T_odom_base_k = T_odom_base_{k-1} @ T_base(k-1)_base(k)."""

    def __init__(self, noise: OdometryNoise | None = None):
        self.noise = noise or OdometryNoise()
        self.reset()

    def reset(self) -> None:
        self.T_odom_base = np.eye(4)
        self.path_length_m = 0.0
        self.path_rotation_rad = 0.0
        self._last_stamp_ns: int | None = None

    def update(self, T_prev_curr_optical: np.ndarray | None, stamp_ns: int) -> OdometryState:
        """Apply one relative motion (None = no motion known, e.g. the first frame)."""
        v = np.zeros(3)
        w = np.zeros(3)
        if T_prev_curr_optical is not None:
            T = np.asarray(T_prev_curr_optical, dtype=np.float64)
            if T.shape != (4, 4) or not np.all(np.isfinite(T)):
                raise ValueError('relative motion must be a finite 4x4 matrix')
            T_prev_curr = body_motion_from_optical(T)
            self.T_odom_base = self.T_odom_base @ T_prev_curr
            # Re-orthonormalise so thousands of products stay a rotation.
            u, _, vt = np.linalg.svd(self.T_odom_base[:3, :3])
            self.T_odom_base[:3, :3] = u @ vt
            step_m = float(np.linalg.norm(T_prev_curr[:3, 3]))
            step_rad = rotation_angle_rad(T_prev_curr[:3, :3])
            self.path_length_m += step_m
            self.path_rotation_rad += step_rad
            if self._last_stamp_ns is not None and stamp_ns > self._last_stamp_ns:
                dt_s = (stamp_ns - self._last_stamp_ns) * 1e-9
                # Twist is expressed in the child (current base) frame: motion of the current
                # frame relative to the previous one, seen from the current frame.
                T_curr_prev = invert_T(T_prev_curr)
                v = -T_curr_prev[:3, 3] / dt_s
                rvec, _ = cv2.Rodrigues(T_prev_curr[:3, :3])
                w = T_curr_prev[:3, :3] @ rvec.reshape(3) / dt_s
        self._last_stamp_ns = stamp_ns
        return OdometryState(self.T_odom_base.copy(), v, w, self.pose_covariance(),
                             self.twist_covariance(v, w))

    def pose_covariance(self) -> np.ndarray:
        n = self.noise
        dist_m = float(np.linalg.norm(self.T_odom_base[:3, 3]))
        pos_var = ((n.scale_rel_sigma * dist_m) ** 2 + (n.drift_rel_sigma * self.path_length_m) ** 2
                   + MIN_POSITION_VAR_M2)
        rot_var = (n.rotation_drift_sigma * self.path_rotation_rad) ** 2 + MIN_ROTATION_VAR_RAD2
        return np.diag([pos_var] * 3 + [rot_var] * 3)

    def twist_covariance(self, v_mps: np.ndarray, w_radps: np.ndarray) -> np.ndarray:
        n = self.noise
        lin_var = (n.scale_rel_sigma * float(np.linalg.norm(v_mps))) ** 2 + MIN_POSITION_VAR_M2
        ang_var = (n.rotation_drift_sigma * float(np.linalg.norm(w_radps))) ** 2 + MIN_ROTATION_VAR_RAD2
        return np.diag([lin_var] * 3 + [ang_var] * 3)
