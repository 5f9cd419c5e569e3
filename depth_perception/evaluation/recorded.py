"""Evaluate predictions already in a bag (what the node published in live mode, or any
recorded depth/odometry) against the ground truth of the input bag.

Predictions are matched to camera images by header stamp (the node copies the image stamp);
images with no prediction are counted as dropped, never silently scored. Predicted depth
messages are held in memory as raw CDR until their image comes by (about 1.2 MB per VGA frame).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..bags.reader import (IMAGE, POSE_TYPES, BagError, BagReader, image_to_depth_m,
                           pose_from_message)
from ..bags.messages import stamp_to_ns
from .association import associate
from .bad_messages import BadMessages
from .bag_index import build_index
from .config import EvalConfig
from .frames import iter_frames
from .offline import finalize, optical_pose_from_odom
from .session import EvalSession
from .topics import resolve_topics

log = logging.getLogger(__name__)


def read_predictions(pred_bag: Path, depth_topic: str, pose_topic: str | None, pose_frame: str,
                     typestore: str, bad: BadMessages | None = None
                     ) -> tuple[list[int], list[bytes], list[int], list[np.ndarray], str]:
    """(depth stamps, raw depth CDR, pose stamps, T_world_cam list, depth msgtype).
    Messages that cannot be decoded are skipped and recorded in `bad`."""
    d_stamps, d_raw, p_stamps, p_T = [], [], [], []
    bad = bad if bad is not None else BadMessages()
    with BagReader(pred_bag, typestore) as bag:
        bag.require(depth_topic, IMAGE)
        topics = [depth_topic]
        if pose_topic:
            bag.require(pose_topic, *POSE_TYPES)
            topics.append(pose_topic)
        ordinal = {t: 0 for t in topics}
        for conn, t_bag, raw in bag.raw_messages(topics):
            n = ordinal[conn.topic]
            ordinal[conn.topic] += 1
            try:
                msg = bag.deserialize(raw, conn.msgtype, conn.topic)
                if conn.topic == depth_topic:
                    d_stamps.append(stamp_to_ns(msg.header.stamp) or t_bag)
                    d_raw.append(bytes(raw))
                else:
                    for p in pose_from_message(msg, conn.msgtype, conn.topic):
                        T = optical_pose_from_odom(p.T) if pose_frame == 'body' else p.T
                        p_stamps.append(p.stamp_ns or t_bag)
                        p_T.append(T)
            except (BagError, ValueError, AttributeError) as exc:
                bad.add(f'{conn.topic} (predictions)', n, t_bag, str(exc))
    return d_stamps, d_raw, p_stamps, p_T, IMAGE


def _shown(cfg: EvalConfig, path: Path) -> Path:
    """A path inside the (staging) report folder, as it will be named once published."""
    try:
        return cfg.shown_dir / path.resolve().relative_to(Path(cfg.out_dir).resolve())
    except ValueError:
        return path


def run_recorded(cfg: EvalConfig, pred_bag: Path, depth_topic: str = '/depth/image',
                 pose_topic: str | None = '/odom', pose_frame: str = 'body',
                 mode: str = 'recorded', extra: dict | None = None) -> dict:
    pred_bad = BadMessages()
    d_stamps, d_raw, p_stamps, p_T, _ = read_predictions(pred_bag, depth_topic, pose_topic,
                                                         pose_frame, cfg.typestore, pred_bad)
    if not d_stamps:
        raise BagError(f'{pred_bag} has no predicted depth on {depth_topic}')
    with BagReader(cfg.bag, cfg.typestore) as bag, BagReader(pred_bag, cfg.typestore) as pbag:
        topics = resolve_topics(bag, cfg)
        index = build_index(bag, topics, cfg)
        for it in pred_bad.items:
            index.bad.add(it['topic'], it['index'], it['stamp_ns'], it['problem'])
        n_images = len(index.image_stamps_ns)
        n_frames = min(n_images, cfg.max_frames) if cfg.max_frames > 0 else n_images
        assoc = associate(index.image_stamps_ns[:n_frames], d_stamps, cfg.tolerance_ns)
        log.info('predictions: %s', assoc.describe('images', 'predicted depth images'))
        pred_for = dict(assoc.pairs)
        pose_assoc = associate(index.image_stamps_ns[:n_frames], p_stamps, cfg.tolerance_ns)
        pose_for = dict(pose_assoc.pairs)
        session = EvalSession(cfg, index, n_frames)
        for frame in tqdm(iter_frames(bag, topics, index, n_frames, cfg.gt_depth_mm_per_m), total=n_frames,
                          desc='scoring', unit='frame', disable=not cfg.progress):
            j = pred_for.get(frame.index)
            if j is None:
                continue
            try:
                pred = image_to_depth_m(pbag.deserialize(d_raw[j], IMAGE, depth_topic), depth_topic)
            except BagError as exc:
                index.bad.add(f'{depth_topic} (predictions)', j, d_stamps[j], str(exc))
                continue
            k = pose_for.get(frame.index)
            session.add(frame.index, frame.stamp_ns, frame.rgb, frame.gt_depth_m, pred,
                        p_T[k] if k is not None else None, frame.dynamic_mask)
    dropped = n_frames - len(assoc.pairs)
    if dropped:
        log.warning('%d of %d images have no prediction in %s (dropped on the way)', dropped, n_frames, pred_bag)
    result = {'bag': str(cfg.bag), 'mode': mode, 'method': cfg.method,
              'estimator': f'predictions from {pred_bag} ({depth_topic}, {pose_topic or "no poses"})',
              'topics': topics.describe(),
              'frames': {'images_in_bag': n_images, 'not_evaluated': n_images - n_frames,
                         'dropped': dropped, 'predictions_in_bag': len(d_stamps),
                         'unmatched_predictions': assoc.unmatched_b},
              'output_bag': str(_shown(cfg, Path(pred_bag)))}
    result.update(extra or {})
    return finalize(cfg, session, result)
