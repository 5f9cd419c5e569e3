"""Pass 2 over the input bag: camera images in order, each with its K, GT depth and mask.

Images are yielded in bag order (the estimator's motion is frame-to-frame, so order matters).
GT depth and mask messages matched in pass 1 are held only until their image is yielded; an
image waits in a short queue when its GT arrives later in the bag than the image itself.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..bags.reader import BagError, BagReader, image_to_depth_m, image_to_mask, image_to_rgb
from ..geometry import scale_intrinsics
from .bag_index import BagIndex
from .topics import Topics

log = logging.getLogger(__name__)


@dataclass
class EvalFrame:
    index: int                    # position among the camera images
    stamp_ns: int
    frame_id: str
    rgb: np.ndarray
    K: np.ndarray                 # intrinsics of `rgb`
    gt_depth_m: np.ndarray | None
    dynamic_mask: np.ndarray | None


def iter_frames(bag: BagReader, topics: Topics, index: BagIndex, max_frames: int = 0,
                mm_per_m: float = 1000.0) -> Iterator[EvalFrame]:
    """Evaluated frames in bag order. Messages that fail to decode or convert are recorded in
    `index.bad` and skipped: a bad image is not evaluated, a bad GT depth or mask leaves its
    image without GT or mask."""
    gt_for = {i: j for i, j in index.depth_assoc.pairs} if index.depth_assoc else {}
    mask_for = {i: j for i, j in index.mask_assoc.pairs} if index.mask_assoc else {}
    # position on the topic -> position in the index (bad messages have none)
    image_at = {o: i for i, o in enumerate(index.image_ordinals)}
    gt_at = {o: j for j, o in enumerate(index.gt_depth_ordinals)}
    mask_at = {o: j for j, o in enumerate(index.mask_ordinals)}
    needed_gt = set(gt_for.values())
    needed_mask = set(mask_for.values())
    gt_buf: dict[int, object] = {}
    mask_buf: dict[int, object] = {}
    pending: deque = deque()       # (image index, ordinal, msg)
    ordinals = {t: 0 for t in (topics.image, topics.gt_depth, topics.mask) if t}
    warned_K = False
    n_limit = max_frames if max_frames > 0 else len(index.image_stamps_ns)

    def ready(i: int) -> bool:
        return (i not in gt_for or gt_for[i] in gt_buf) and (i not in mask_for or mask_for[i] in mask_buf)

    def convert(topic: str, ordinal: int, stamp: int, fn, *args):
        try:
            return fn(*args)
        except (BagError, ValueError) as exc:
            index.bad.add(topic, ordinal, stamp, str(exc))
            return None

    def build(i: int, ordinal: int, msg) -> EvalFrame | None:
        nonlocal warned_K
        stamp = index.image_stamps_ns[i]
        gt_msg = gt_buf.pop(gt_for[i]) if i in gt_for else None
        mask_msg = mask_buf.pop(mask_for[i]) if i in mask_for else None
        rgb = convert(topics.image, ordinal, stamp, image_to_rgb, msg, topics.image)
        if rgb is None:
            return None
        K, hw = index.K_for(stamp)
        if hw != rgb.shape[:2] and hw[0] > 0 and hw[1] > 0:
            if not warned_K:
                log.warning('camera_info is for %dx%d but images are %dx%d: intrinsics are scaled',
                            hw[1], hw[0], rgb.shape[1], rgb.shape[0])
                warned_K = True
            K = scale_intrinsics(K, rgb.shape[1] / hw[1], rgb.shape[0] / hw[0])
        gt = mask = None
        if gt_msg is not None:
            gt = convert(topics.gt_depth, index.gt_depth_ordinals[gt_for[i]], index.gt_depth_stamps_ns[gt_for[i]],
                         image_to_depth_m, gt_msg, topics.gt_depth, mm_per_m)
        if mask_msg is not None:
            mask = convert(topics.mask, index.mask_ordinals[mask_for[i]], index.mask_stamps_ns[mask_for[i]],
                           image_to_mask, mask_msg, topics.mask)
        return EvalFrame(i, stamp, index.image_frame_ids[i], rgb, K, gt, mask)

    wanted = list(ordinals)
    emitted = 0
    for conn, t_bag, raw in bag.raw_messages(wanted):
        topic = conn.topic
        n = ordinals[topic]
        ordinals[topic] += 1
        at = (image_at if topic == topics.image else gt_at if topic == topics.gt_depth else mask_at).get(n)
        if at is None:      # bad in pass 1: already recorded
            continue
        if topic == topics.image and at >= n_limit:
            continue
        if topic == topics.gt_depth and at not in needed_gt:
            continue
        if topic == topics.mask and at not in needed_mask:
            continue
        try:
            msg = bag.deserialize(raw, conn.msgtype, topic)
        except BagError as exc:
            index.bad.add(topic, n, t_bag, str(exc))
            msg = None
        if topic == topics.image:
            if msg is not None:
                pending.append((at, n, msg))
            else:
                emitted += 1
        elif msg is not None:
            (gt_buf if topic == topics.gt_depth else mask_buf)[at] = msg
        else:               # its image goes on without GT / mask instead of waiting forever
            match = gt_for if topic == topics.gt_depth else mask_for
            for i in [i for i, j in match.items() if j == at]:
                match.pop(i)
        while pending and ready(pending[0][0]):
            frame = build(*pending.popleft())
            emitted += 1
            if frame is not None:
                yield frame
        if emitted >= n_limit and not pending:
            return
    while pending:   # matched GT that never arrived (or was bad in pass 2)
        i, n, msg = pending.popleft()
        if not ready(i):
            gt_for.pop(i, None)
            mask_for.pop(i, None)
        frame = build(i, n, msg)
        if frame is not None:
            yield frame
