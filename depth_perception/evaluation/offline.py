"""Offline evaluation: read the bag directly, run the estimator the node uses, score, report.

Lossless and deterministic: every camera image is evaluated in bag order, with no DDS, no
clocks and no queues in between (live.py checks what the ROS path adds on top).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..bags.reader import BagReader
from ..estimators import CameraFrame, create_estimator
from ..odometry import T_OPTICAL_BASE, T_BASE_OPTICAL, OdometryIntegrator
from .bag_index import build_index
from .config import EvalConfig
from .exports import SequenceExporter
from .frames import iter_frames
from .output_bag import OutputBag
from .session import EvalSession
from .verdict import verdict_line
from ..estimators.base import InputError
from .topics import resolve_topics

log = logging.getLogger(__name__)


def make_estimator(cfg: EvalConfig):
    opts = dict(checkpoint=cfg.checkpoint, pose_checkpoint=cfg.pose_checkpoint, device=cfg.device,
                depth_scale=cfg.depth_scale, backend=cfg.backend, precision=cfg.precision,
                onnx_dir=cfg.onnx_dir)
    if cfg.method == 'scdepth':
        opts['pose_refinement'] = cfg.pose_refinement
    if cfg.resolution_hw:
        opts['resolution_hw'] = tuple(cfg.resolution_hw)
    return create_estimator(cfg.method, **opts)


def optical_pose_from_odom(T_odom_base: np.ndarray) -> np.ndarray:
    """Odometry pose (odom -> base, REP 105) -> T_world_cam of the optical frame, world =
    the first optical frame. Inverse of what OdometryIntegrator does, so offline and live
    trajectories are the same numbers."""
    return T_OPTICAL_BASE @ T_odom_base @ T_BASE_OPTICAL


def finalize(cfg: EvalConfig, session: EvalSession, result: dict) -> dict:
    """Metrics + figures + report.md/metrics.json; returns the result dict."""
    from .plots import plot_per_frame, plot_sample, plot_trajectory
    from .report import write_report
    t0 = time.perf_counter()
    metrics = session.finish()
    result['depth'] = metrics['depth']
    result['trajectory'] = metrics['trajectory']
    result['frames'].update(metrics['frames'])
    result['bad_messages'] = metrics['bad_messages']
    result['partial'] = bool(metrics['bad_messages']['count'])
    result['verdict'] = verdict_line(result['depth'], result['trajectory'])
    figures: list[Path] = []
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.plots:
        traj = result['trajectory'] if 'ate_m' in result['trajectory'] else None
        if traj:
            figures.append(plot_trajectory(traj, cfg.out_dir / 'trajectory_top.png'))
        if 'per_frame' in result['depth'] or traj:
            figures.append(plot_per_frame(result['depth'], traj, cfg.out_dir / 'per_frame_errors.png'))
        max_d = result['depth'].get('max_depth_m', 10.0)
        for k, s in enumerate(tqdm(session.samples, desc='figures', unit='fig', disable=not cfg.progress)):
            figures.append(plot_sample(s, cfg.out_dir / f'frame_{k:02d}_rgb_gt_pred_err.png', max_d))
    if 'timing' in result:
        result['timing']['report_s'] = time.perf_counter() - t0
    write_report(cfg.out_dir, result, figures)
    log.info('%s', result['verdict'])
    if result['partial']:
        log.warning('PARTIAL result: %d bad message(s) skipped (%s); listed in the report',
                    metrics['bad_messages']['count'],
                    ', '.join(f'{n} on {t}' for t, n in metrics['bad_messages']['by_topic'].items()))
    return result


def run_offline(cfg: EvalConfig) -> dict:
    t_start = time.perf_counter()
    with BagReader(cfg.bag, cfg.typestore) as bag:
        log.info('%s', bag.summary())
        topics = resolve_topics(bag, cfg)
        index = build_index(bag, topics, cfg)
        n_images = len(index.image_stamps_ns)
        n_frames = min(n_images, cfg.max_frames) if cfg.max_frames > 0 else n_images
        est = make_estimator(cfg)
        log.info('estimator: %s', est.describe())
        session = EvalSession(cfg, index, n_frames)
        odom = OdometryIntegrator()
        t_est = t_metrics = t_out = 0.0
        out_path = cfg.out_dir / 'output_bag' if cfg.output_bag else None
        bag_out = OutputBag(out_path, cfg.output_storage, cfg.odom_frame, cfg.base_frame,
                            cfg.cloud_stride) if out_path else None
        if bag_out:
            bag_out.__enter__()
        exporter = SequenceExporter(cfg.out_dir, cfg.export_ply_every, cfg.cloud_stride, cfg.shown_dir) \
            if cfg.export_frames else None
        try:
            frames = iter_frames(bag, topics, index, cfg.max_frames, cfg.gt_depth_mm_per_m)
            t_read0 = time.perf_counter()
            for frame in tqdm(frames, total=n_frames, desc='evaluating', unit='frame', disable=not cfg.progress):
                t0 = time.perf_counter()
                try:
                    res = est.estimate(CameraFrame(frame.rgb, frame.K, frame.stamp_ns))
                except InputError as exc:      # e.g. a 1x1 image: skip it, name it, go on
                    index.bad.add(topics.image, index.image_ordinals[frame.index], frame.stamp_ns, str(exc))
                    continue
                t1 = time.perf_counter()
                state = odom.update(res.T_prev_curr, frame.stamp_ns)
                # the first frame has no predecessor: its pose is the world origin
                has_motion = res.T_prev_curr is not None or session.counts['evaluated'] == 0
                T_world_cam = optical_pose_from_odom(state.T_odom_base) if has_motion else None
                session.add(frame.index, frame.stamp_ns, frame.rgb, frame.gt_depth_m, res.depth_m,
                            T_world_cam, frame.dynamic_mask)
                t2 = time.perf_counter()
                if bag_out:
                    bag_out.write_frame(frame.stamp_ns, frame.frame_id, res.depth_m, frame.K,
                                        state if has_motion else None, frame.rgb)
                if exporter:
                    exporter.add(frame.stamp_ns, frame.rgb, res.depth_m, frame.K, T_world_cam)
                t3 = time.perf_counter()
                t_est += t1 - t0
                t_metrics += t2 - t1
                t_out += t3 - t2
            t_loop = time.perf_counter() - t_read0
        finally:
            if bag_out:
                bag_out.__exit__(None, None, None)
    exports = exporter.close(index.gt_pose_stamps_ns, index.gt_T_world_cam) if exporter else None
    evaluated = session.counts['evaluated']
    total = time.perf_counter() - t_start
    result = {
        'bag': str(cfg.bag), 'mode': 'offline', 'method': cfg.method, 'estimator': est.describe(),
        'topics': topics.describe(),
        'frames': {'images_in_bag': n_images, 'not_evaluated': n_images - evaluated},
        'output_bag': str(cfg.shown_dir / 'output_bag') if out_path else None,
        'exports': exports,
        'timing': {'frames': evaluated, 'total_s': total, 'fps': evaluated / total if total else 0.0,
                   'estimator_s': t_est, 'metrics_s': t_metrics, 'output_bag_s': t_out,
                   'read_s': t_loop - t_est - t_metrics - t_out},
    }
    log.info('frames: %d images in the bag, %d evaluated (%d with GT depth)', n_images, evaluated,
             session.counts['with_gt_depth'])
    return finalize(cfg, session, result)
