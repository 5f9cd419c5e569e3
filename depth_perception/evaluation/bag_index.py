"""Pass 1 over the input bag: stamps of every image, all intrinsics and ground-truth poses.

Knowing every stamp up front lets pass 2 (`frames.py`) pair each camera image with its GT
depth and mask by header stamp (within a tolerance, one-to-one) while holding only the few
messages that are in flight, so long bags do not fill memory.

A message that cannot be decoded or fails validation (image with a wrong step, camera_info
with NaN K, pose with a non-unit quaternion) is skipped and recorded in `bad` (topic, index
on its topic, stamp, problem); the run goes on and its report says it is partial. Images
are indexed by their position on the topic (`image_ordinals`), so pass 2 skips the same ones.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..bags.reader import (IMAGE_ENCODINGS, BagError, BagReader, camera_info_to_K,
                           pose_from_message)
from ..bags.messages import stamp_to_ns
from ..odometry import T_BASE_OPTICAL
from .association import Association, associate
from .bad_messages import BadMessages
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
    # position of each indexed message on its topic (bad ones are left out)
    image_ordinals: list[int] = field(default_factory=list)
    gt_depth_ordinals: list[int] = field(default_factory=list)
    mask_ordinals: list[int] = field(default_factory=list)
    bad: BadMessages = field(default_factory=BadMessages)

    def K_for(self, stamp: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Intrinsics of the camera_info nearest in time (they rarely change)."""
        i = int(np.argmin(np.abs(np.asarray(self.K_stamps_ns, dtype=np.int64) - stamp)))
        return self.K_list[i], self.K_sizes_hw[i]


def build_index(bag: BagReader, topics: Topics, cfg: EvalConfig) -> BagIndex:
    idx = BagIndex()
    wanted = sorted({t for t in (topics.image, topics.camera_info, topics.gt_depth, topics.mask, topics.gt_pose) if t})
    ordinal = {t: 0 for t in wanted}
    for conn, t_bag, raw in bag.raw_messages(wanted):
        topic = conn.topic
        n = ordinal[topic]
        ordinal[topic] += 1
        stamp = None
        try:
            msg = bag.deserialize(raw, conn.msgtype, topic)
            stamp = stamp_to_ns(msg.header.stamp) if hasattr(msg, 'header') else None
            _index_message(idx, bag, topics, cfg, topic, n, t_bag, msg)
        except (BagError, ValueError, AttributeError, TypeError) as exc:
            idx.bad.add(topic, n, stamp if stamp is not None else t_bag, str(exc))
    if idx.zero_stamps:
        log.warning('%d image messages have a zero header stamp; their bag receive time is used', idx.zero_stamps)
    if not idx.image_stamps_ns:
        raise BagError(f'no images on {topics.image}')
    if not idx.K_list:
        bad = [b for b in idx.bad.items if b['topic'] == topics.camera_info]
        raise BagError(f'no camera_info messages on {topics.camera_info}' if not bad else
                       f'no valid camera_info on {topics.camera_info}: all {len(bad)} are bad '
                       f'(first: {bad[0]["problem"]})')
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


def image_problem(msg) -> str | None:
    """Cheap structural check of a sensor_msgs/Image (no pixel copy); None when it looks fine."""
    enc = str(msg.encoding)
    if enc not in IMAGE_ENCODINGS:
        return f'unsupported image encoding {enc!r}'
    dtype, channels = IMAGE_ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row = w * channels * np.dtype(dtype).itemsize
    if h <= 0 or w <= 0:
        return f'image size {w}x{h}'
    if step < row:
        return f'step {step} is smaller than width*pixel size {row} ({enc})'
    if len(msg.data) != h * step:
        return f'data has {len(msg.data)} bytes, expected height*step = {h * step}'
    return None


def _index_message(idx: BagIndex, bag: BagReader, topics: Topics, cfg: EvalConfig, topic: str, n: int,
                   t_bag: int, msg) -> None:
    if topic in (topics.image, topics.gt_depth, topics.mask):
        problem = image_problem(msg)
        if problem:
            raise BagError(problem)
        s = stamp_to_ns(msg.header.stamp)
        if s == 0:   # unstamped publisher: fall back to the recording time, and say so
            idx.zero_stamps += 1
            s = t_bag
        if topic == topics.image:
            idx.image_stamps_ns.append(s)
            idx.image_frame_ids.append(msg.header.frame_id)
            idx.image_ordinals.append(n)
        if topic == topics.gt_depth:
            idx.gt_depth_stamps_ns.append(s)
            idx.gt_depth_ordinals.append(n)
        if topic == topics.mask:
            idx.mask_stamps_ns.append(s)
            idx.mask_ordinals.append(n)
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


def _span(stamps) -> str:
    return f'[{min(stamps) / 1e9:.3f}, {max(stamps) / 1e9:.3f}] s' if stamps else 'nothing'
