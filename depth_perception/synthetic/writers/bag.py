"""rosbag2 (MCAP or sqlite3) of a synthetic sequence with ground truth.

Per frame, all with the frame's stamp (header stamp == bag receive time):
  /camera/color/image_raw     sensor_msgs/Image rgb8, frame camera_color_optical_frame
  /camera/color/camera_info   sensor_msgs/CameraInfo (K, P = [K|0], D zeros, plumb_bob)
  /camera/depth/image_raw     sensor_msgs/Image 32FC1, GT depth in metres (z), NaN = no hit
  /ground_truth/pose          geometry_msgs/PoseStamped, T_world_cam in frame `world`
  /tf                         tf2_msgs/TFMessage world -> camera_color_optical_frame
  /ground_truth/dynamic_mask  sensor_msgs/Image mono8 (255 = moving object), only with
                              moving objects in the scene (or when forced)
The depth image shares the colour camera's frame and intrinsics (perfectly registered).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...bags.messages import (camera_info_msg, image_msg, pose_stamped_msg, tf_message,
                              transform_stamped_msg)
from ...bags.writer import BagWriter
from ..sequence import SyntheticSequence
from .summary import WriteSummary


@dataclass(frozen=True)
class BagTopics:
    image: str = '/camera/color/image_raw'
    camera_info: str = '/camera/color/camera_info'
    depth: str = '/camera/depth/image_raw'
    pose: str = '/ground_truth/pose'
    tf: str = '/tf'
    dynamic_mask: str = '/ground_truth/dynamic_mask'
    world_frame: str = 'world'
    camera_frame: str = 'camera_color_optical_frame'


def write_bag(seq: SyntheticSequence, path: str | Path, storage: str = 'mcap',
              topics: BagTopics = BagTopics(), dynamic_mask: bool | None = None,
              progress: bool = True) -> WriteSummary:
    """Write `seq` to a new rosbag2 folder at `path` (refuses to overwrite)."""
    started = time.perf_counter()
    with_mask = bool(seq.scene.moving) if dynamic_mask is None else dynamic_mask
    cam, world = topics.camera_frame, topics.world_frame
    w, h = seq.config.width, seq.config.height
    with BagWriter(path, storage=storage) as bag:
        for frame in tqdm(seq, total=len(seq), desc=f'bag-{storage}', unit='frame', disable=not progress):
            t = frame.stamp_ns
            bag.write(topics.image, image_msg(frame.rgb, t, cam, 'rgb8'), t)
            bag.write(topics.camera_info, camera_info_msg(seq.K, w, h, t, cam), t)
            bag.write(topics.depth, image_msg(frame.depth_m, t, cam, '32FC1'), t)
            bag.write(topics.pose, pose_stamped_msg(frame.T_world_cam, t, world), t)
            bag.write(topics.tf, tf_message([transform_stamped_msg(frame.T_world_cam, t, world, cam)]), t)
            if with_mask:
                mask = np.where(frame.dynamic_mask, 255, 0).astype(np.uint8)
                bag.write(topics.dynamic_mask, image_msg(mask, t, cam, 'mono8'), t)
    return WriteSummary.of(f'bag-{storage}', Path(path), len(seq), started)
