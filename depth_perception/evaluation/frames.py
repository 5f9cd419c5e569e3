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

from ..bags.reader import BagReader, image_to_depth_m, image_to_mask, image_to_rgb
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
    gt_for = {i: j for i, j in index.depth_assoc.pairs} if index.depth_assoc else {}
    mask_for = {i: j for i, j in index.mask_assoc.pairs} if index.mask_assoc else {}
    needed_gt = set(gt_for.values())
    needed_mask = set(mask_for.values())
    gt_buf: dict[int, object] = {}
    mask_buf: dict[int, object] = {}
    pending: deque = deque()       # (image index, msg)
    counters = {topics.image: 0, topics.gt_depth: 0, topics.mask: 0}
    warned_K = False
    n_limit = max_frames if max_frames > 0 else len(index.image_stamps_ns)

    def ready(i: int) -> bool:
        return (i not in gt_for or gt_for[i] in gt_buf) and (i not in mask_for or mask_for[i] in mask_buf)

    def build(i: int, msg) -> EvalFrame:
        nonlocal warned_K
        rgb = image_to_rgb(msg, topics.image)
        stamp = index.image_stamps_ns[i]
        K, hw = index.K_for(stamp)
        if hw != rgb.shape[:2] and hw[0] > 0 and hw[1] > 0:
            if not warned_K:
                log.warning('camera_info is for %dx%d but images are %dx%d: intrinsics are scaled',
                            hw[1], hw[0], rgb.shape[1], rgb.shape[0])
                warned_K = True
            K = scale_intrinsics(K, rgb.shape[1] / hw[1], rgb.shape[0] / hw[0])
        gt = mask = None
        if i in gt_for:
            gt = image_to_depth_m(gt_buf.pop(gt_for[i]), topics.gt_depth, mm_per_m)
        if i in mask_for:
            mask = image_to_mask(mask_buf.pop(mask_for[i]), topics.mask)
        return EvalFrame(i, stamp, index.image_frame_ids[i], rgb, K, gt, mask)

    wanted = [t for t in (topics.image, topics.gt_depth, topics.mask) if t]
    emitted = 0
    for topic, _, msg in bag.messages(wanted):
        n = counters[topic]
        counters[topic] += 1
        if topic == topics.image:
            if n < n_limit:
                pending.append((n, msg))
        elif topic == topics.gt_depth:
            if n in needed_gt:
                gt_buf[n] = msg
        elif n in needed_mask:
            mask_buf[n] = msg
        while pending and ready(pending[0][0]):
            yield build(*pending.popleft())
            emitted += 1
        if emitted >= n_limit and not pending:
            return
    while pending:   # matched GT that never arrived would be a pass-1/pass-2 mismatch
        i, msg = pending.popleft()
        if not ready(i):
            log.warning('image %d: its matched GT/mask was not found in pass 2; evaluated without it', i)
            gt_for.pop(i, None)
            mask_for.pop(i, None)
        yield build(i, msg)
