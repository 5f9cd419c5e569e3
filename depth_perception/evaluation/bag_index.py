"""Pass 1 over the input bag: stamps of every image, all intrinsics and ground-truth poses.

Knowing every stamp up front lets pass 2 (`frames.py`) pair each camera image with its GT
depth and mask by header stamp (within a tolerance, one-to-one) while holding only the few
messages that are in flight, so long bags do not fill memory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..bags.reader import BagError, BagReader, camera_info_to_K, pose_from_message
from ..bags.messages import stamp_to_ns
from ..odometry import T_BASE_OPTICAL
from .association import Association, associate
from .config import EvalConfig
from .topics import Topics

log = logging.getLogger(__name__)


@dataclass
class BagIndex:
    image_stamps_ns: list[int] = field(default_factory=list)
    image_frame_ids: list[str] = field(default_factory=list)
    gt_depth_stamps_ns: list[int] = field(default_factory=list)
    mask_stamps_ns: list[int] = field(default_factory=list)
    K_stamps_ns: list[int] = field(default_factory=list)
    K_list: list[np.ndarray] = field(default_factory=list)
    K_sizes_hw: list[tuple[int, int]] = field(default_factory=list)
    gt_pose_stamps_ns: list[int] = field(default_factory=list)
    gt_T_world_cam: list[np.ndarray] = field(default_factory=list)
    gt_pose_frames: tuple[str, str] = ('', '')
    depth_assoc: Association | None = None
    mask_assoc: Association | None = None
    zero_stamps: int = 0

    def K_for(self, stamp: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Intrinsics of the camera_info nearest in time (they rarely change)."""
        i = int(np.argmin(np.abs(np.asarray(self.K_stamps_ns, dtype=np.int64) - stamp)))
        return self.K_list[i], self.K_sizes_hw[i]


def build_index(bag: BagReader, topics: Topics, cfg: EvalConfig) -> BagIndex:
    idx = BagIndex()
    wanted = [t for t in (topics.image, topics.camera_info, topics.gt_depth, topics.mask, topics.gt_pose) if t]
    for topic, t_bag, msg in bag.messages(sorted(set(wanted))):
        if topic in (topics.image, topics.gt_depth, topics.mask) and hasattr(msg, 'header'):
            s = stamp_to_ns(msg.header.stamp)
            if s == 0:   # unstamped publisher: fall back to the recording time, and say so
                idx.zero_stamps += 1
                s = t_bag
            if topic == topics.image:
                idx.image_stamps_ns.append(s)
                idx.image_frame_ids.append(msg.header.frame_id)
            if topic == topics.gt_depth:
                idx.gt_depth_stamps_ns.append(s)
            if topic == topics.mask:
                idx.mask_stamps_ns.append(s)
        if topic == topics.camera_info:
            K, hw = camera_info_to_K(msg, topic)
            idx.K_stamps_ns.append(stamp_to_ns(msg.header.stamp) or t_bag)
            idx.K_list.append(K)
            idx.K_sizes_hw.append(hw)
        if topic == topics.gt_pose:
            msgtype = bag.topics[topic].msgtype
            for p in pose_from_message(msg, msgtype, topic):
                if topics.gt_tf and (p.parent, p.child) != topics.gt_tf:
                    continue
                T = p.T @ T_BASE_OPTICAL if cfg.gt_pose_frame == 'body' else p.T
                idx.gt_pose_stamps_ns.append(p.stamp_ns or t_bag)
                idx.gt_T_world_cam.append(T)
                idx.gt_pose_frames = (p.parent, p.child)
    if idx.zero_stamps:
        log.warning('%d image messages have a zero header stamp; their bag receive time is used', idx.zero_stamps)
    if not idx.image_stamps_ns:
        raise BagError(f'no images on {topics.image}')
    if not idx.K_list:
        raise BagError(f'no camera_info messages on {topics.camera_info}')
    if np.any(np.diff(np.asarray(idx.image_stamps_ns, dtype=np.int64)) <= 0):
        log.warning('image stamps on %s are not strictly increasing: frames are evaluated in bag '
                    'order; the ego-motion of out-of-order frames is meaningless', topics.image)
    if len({tuple(np.round(K, 6).ravel()) for K in idx.K_list}) > 1:
        log.info('intrinsics change over the bag; each frame uses the camera_info nearest in time')
    if topics.gt_depth:
        idx.depth_assoc = associate(idx.image_stamps_ns, idx.gt_depth_stamps_ns, cfg.tolerance_ns)
        log.info('GT depth: %s', idx.depth_assoc.describe('images', 'GT depth images'))
        if not idx.depth_assoc.pairs:
            raise BagError(f'no GT depth on {topics.gt_depth} is within {cfg.max_time_diff_ms} ms of an image '
                           f'on {topics.image}: {idx.depth_assoc.describe("images", "GT depth images")}; '
                           f'images span {_span(idx.image_stamps_ns)}, GT depth {_span(idx.gt_depth_stamps_ns)}. '
                           f'Raise --max-time-diff-ms or check the topics.')
    if topics.mask:
        idx.mask_assoc = associate(idx.image_stamps_ns, idx.mask_stamps_ns, cfg.tolerance_ns)
        log.info('dynamic masks: %s', idx.mask_assoc.describe('images', 'masks'))
    if topics.gt_pose:
        log.info('GT poses: %d from %s (%s -> %s, treated as the %s frame)', len(idx.gt_T_world_cam),
                 topics.gt_pose, idx.gt_pose_frames[0] or '?', idx.gt_pose_frames[1] or '(pose)',
                 cfg.gt_pose_frame)
        child = idx.gt_pose_frames[1]
        if cfg.gt_pose_frame == 'optical' and child and 'optical' not in child:
            log.warning("GT child frame %r does not look like an optical frame; if it is a body frame "
                        "(x forward, z up) pass --gt-pose-frame body", child)
    return idx


def _span(stamps) -> str:
    return f'[{min(stamps) / 1e9:.3f}, {max(stamps) / 1e9:.3f}] s' if stamps else 'nothing'
