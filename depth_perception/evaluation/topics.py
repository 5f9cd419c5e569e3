"""Choose the bag topics for an evaluation: explicit names are checked, empty ones auto-detected.

Auto-detection looks at message types and, for sensor_msgs/Image, at the encoding of the
first message: 8-bit colour -> camera image, 16UC1/32FC1 -> GT depth, a mono8 topic whose
name says mask/seg/dynamic -> dynamic mask. When more than one topic fits, the name is used
as a tie-break (camera_info next to the image; 'ground_truth'/'gt' for poses); if that still
leaves several, the run stops and lists them with the option to set.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..bags.reader import (CAMERA_INFO, IMAGE, POSE_TYPES, TF_MESSAGE, BagError, BagReader)
from .config import EvalConfig

log = logging.getLogger(__name__)

COLOR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', '8UC3')
DEPTH_ENCODINGS = ('16UC1', '32FC1', 'mono16')
MASK_NAME = re.compile(r'mask|seg|dynamic', re.I)
GT_NAME = re.compile(r'ground_?truth|(^|/)gt(_|/|$)|vicon|mocap', re.I)


@dataclass
class Topics:
    image: str
    camera_info: str
    gt_depth: str | None
    gt_pose: str | None           # a pose topic, or '/tf' (then gt_tf names the pair)
    gt_tf: tuple[str, str] | None
    mask: str | None

    def describe(self) -> str:
        pose = f'{self.gt_pose} {self.gt_tf[0]}->{self.gt_tf[1]}' if self.gt_tf else self.gt_pose
        return (f'image {self.image}, camera_info {self.camera_info}, GT depth '
                f'{self.gt_depth or "none"}, GT pose {pose or "none"}, mask {self.mask or "none"}')


def _first_encoding(bag: BagReader, topic: str) -> str:
    for _, _, msg in bag.messages([topic]):
        return str(msg.encoding)
    return ''


def _pick(candidates: list[str], what: str, option: str, prefer=None) -> str | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    if prefer is not None:
        preferred = [c for c in candidates if prefer(c)]
        if len(preferred) == 1:
            return preferred[0]
    raise BagError(f'several topics could be the {what}: {", ".join(candidates)}; choose one with {option}')


def _tf_pairs(bag: BagReader, topic: str) -> set[tuple[str, str]]:
    from ..bags.reader import pose_from_message
    pairs = set()
    for _, _, msg in bag.messages([topic]):
        pairs.update((p.parent, p.child) for p in pose_from_message(msg, TF_MESSAGE, topic))
    return pairs


def resolve_topics(bag: BagReader, cfg: EvalConfig) -> Topics:
    images = bag.topics_of_type(IMAGE)
    encodings = {t: _first_encoding(bag, t) for t in images}

    if cfg.image_topic:
        bag.require(cfg.image_topic, IMAGE)
        image = cfg.image_topic
    else:
        colour = [t for t in images if encodings[t] in COLOR_ENCODINGS]
        image = _pick(colour, 'camera image', '--image-topic')
        if image is None:
            raise BagError(f'no colour image topic (rgb8/bgr8/rgba8/bgra8) in {bag.path}; image topics: '
                           + (', '.join(f'{t} ({encodings[t]})' for t in images) or 'none')
                           + f'. The bag has: {bag.describe_topics()}')

    ns = image.rsplit('/', 1)[0]
    if cfg.camera_info_topic:
        bag.require(cfg.camera_info_topic, CAMERA_INFO)
        camera_info = cfg.camera_info_topic
    else:
        camera_info = _pick(bag.topics_of_type(CAMERA_INFO), 'camera_info', '--camera-info-topic',
                            prefer=lambda t: t == f'{ns}/camera_info')
        if camera_info is None:
            raise BagError(f'no sensor_msgs/CameraInfo topic in {bag.path}: intrinsics are needed for '
                           f'the point cloud and the estimator. The bag has: {bag.describe_topics()}')

    if cfg.gt_depth_topic:
        bag.require(cfg.gt_depth_topic, IMAGE)
        gt_depth = cfg.gt_depth_topic
    else:
        gt_depth = _pick([t for t in images if encodings[t] in DEPTH_ENCODINGS and t != image],
                         'ground-truth depth', '--gt-depth-topic')

    if cfg.mask_topic:
        bag.require(cfg.mask_topic, IMAGE)
        mask = cfg.mask_topic
    else:
        mask = _pick([t for t in images if encodings[t] in ('mono8', '8UC1') and MASK_NAME.search(t)],
                     'dynamic mask', '--mask-topic')

    gt_tf = cfg.gt_tf
    if gt_tf:
        gt_pose = cfg.gt_pose_topic or '/tf'
        bag.require(gt_pose, TF_MESSAGE)
        pairs = _tf_pairs(bag, gt_pose)
        if tuple(gt_tf) not in pairs:
            raise BagError(f'no transform {gt_tf[0]} -> {gt_tf[1]} on {gt_pose}; it has: '
                           + ', '.join(f'{p}->{c}' for p, c in sorted(pairs)))
    elif cfg.gt_pose_topic:
        bag.require(cfg.gt_pose_topic, *POSE_TYPES)
        gt_pose = cfg.gt_pose_topic
    else:
        gt_pose = _pick(bag.topics_of_type(*POSE_TYPES), 'ground-truth pose', '--gt-pose-topic',
                        prefer=lambda t: bool(GT_NAME.search(t)))
        if gt_pose is None and bag.topics_of_type(TF_MESSAGE):
            tf_topic = '/tf' if '/tf' in bag.topics else bag.topics_of_type(TF_MESSAGE)[0]
            pairs = sorted(_tf_pairs(bag, tf_topic))
            if len(pairs) == 1:
                gt_pose, gt_tf = tf_topic, pairs[0]
                log.info('ground-truth pose from the only transform on %s: %s -> %s', tf_topic, *pairs[0])
            elif pairs:
                log.warning('no pose topic; %s has several transforms (%s): choose one with --gt-tf '
                            'PARENT CHILD to get trajectory metrics', tf_topic,
                            ', '.join(f'{p}->{c}' for p, c in pairs))
    topics = Topics(image, camera_info, gt_depth, gt_pose, tuple(gt_tf) if gt_tf else None, mask)
    log.info('topics: %s', topics.describe())
    return topics
