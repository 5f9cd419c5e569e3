"""A tiny self-made evaluation bag (textured images, plane GT depth, moving GT camera) for
smoke tests and benchmarks when no recorded bag is at hand. Not a substitute for real data:
the images do not depict the depth, so only plumbing (counts, stamps, frames) is meaningful,
plus the GT-as-prediction identities (abs_rel 0, ATE 0)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bags.messages import (camera_info_msg, image_msg, pose_stamped_msg, tf_message,
                             transform_stamped_msg)
from ..bags.writer import BagWriter
from ..geometry import euler_xyz_to_matrix_np, make_T

FRAME_PERIOD_NS = 33_333_333
START_NS = 1_000_000_000


def sample_gt_pose(i: int) -> np.ndarray:
    """T_world_cam of frame i: a gentle 3-D arc (non-collinear, so Umeyama is well posed)."""
    s = 0.05 * i
    return make_T(euler_xyz_to_matrix_np(0.05 * np.sin(s), 0.2 * s, 0.02 * s),
                  [0.3 * np.sin(s), 0.05 * np.cos(3 * s), 0.1 * s])


def write_sample_bag(path: str | Path, n_frames: int = 6, hw: tuple[int, int] = (48, 64),
                     depth_encoding: str = '32FC1', with_mask: bool = False, with_tf: bool = False,
                     storage: str = 'mcap', seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    h, w = hw
    K = np.array([[0.8 * w, 0, (w - 1) / 2], [0, 0.8 * w, (h - 1) / 2], [0, 0, 1]])
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    with BagWriter(path, storage=storage) as bag:
        for i in range(n_frames):
            t = START_NS + i * FRAME_PERIOD_NS
            rgb = np.roll(base, i, axis=1)
            depth_m = (1.0 + 0.02 * xx + 0.01 * yy + 0.05 * i).astype(np.float32)
            depth_m[0, 0] = np.nan
            bag.write('/camera/color/image_raw', image_msg(rgb, t, 'camera_optical_frame'), t)
            bag.write('/camera/color/camera_info', camera_info_msg(K, w, h, t, 'camera_optical_frame'), t)
            if depth_encoding == '16UC1':
                mm = np.nan_to_num(depth_m * 1000.0, nan=0.0).astype(np.uint16)
                bag.write('/camera/depth/image_raw', image_msg(mm, t, 'camera_optical_frame', '16UC1'), t)
            else:
                bag.write('/camera/depth/image_raw', image_msg(depth_m, t, 'camera_optical_frame', '32FC1'), t)
            if with_mask:
                mask = np.zeros((h, w), np.uint8)
                mask[: h // 2, : w // 2] = 255
                bag.write('/camera/dynamic_mask', image_msg(mask, t, 'camera_optical_frame', 'mono8'), t)
            T = sample_gt_pose(i)
            bag.write('/ground_truth/camera_pose', pose_stamped_msg(T, t, 'world'), t)
            if with_tf:
                bag.write('/tf', tf_message([transform_stamped_msg(T, t, 'world', 'camera_optical_frame')]), t)
    return Path(path)
