"""Ego-motion metrics: ATE and RPE through evo, KITTI segment errors (kitti-odom-eval style).

Poses are 4x4 T_world_cam (camera-to-world, optical camera frame). The estimated trajectory
is the chain of the estimator's T_prev_curr (T_world_curr = T_world_prev @ T_prev_curr) in a
world frame equal to the first camera; alignment to the ground truth is therefore required:
'sim3' (Umeyama with scale; monocular methods have no metric scale), 'se3' (rigid) or
'none' (only meaningful when both share a world frame and scale).

KITTI t_err (%) / r_err (deg/100 m): for every start frame (every `step` frames) and every
segment length L, the relative pose over the first GT path distance >= L is compared;
errors are divided by L and averaged over all segments. Lengths are KITTI's 100..800 m.
Fallback for trajectories shorter than 100 m (no KITTI segment fits): lengths are
0.1..0.8 x the GT path length and step 1; r_err is still expressed per 100 m (a rate), and
`segment_mode` says 'proportional' so nobody compares it with KITTI leaderboards.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np
from evo.core import metrics
from evo.core.trajectory import PoseTrajectory3D

from .association import associate

log = logging.getLogger(__name__)

ALIGNMENTS = ('sim3', 'se3', 'none')
KITTI_LENGTHS_M = (100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0)
KITTI_STEP_FRAMES = 10


class TrajectoryError(ValueError):
    pass


def integrate(T_prev_curr_list) -> list[np.ndarray]:
    """Chain relative motions into T_world_cam with the first camera as world.

    `T_prev_curr_list[0]` is ignored (the first frame has no predecessor) and None entries
    (no motion estimate) are treated as identity — the caller counts them.
    """
    poses = []
    T = np.eye(4)
    for i, rel in enumerate(T_prev_curr_list):
        if i > 0 and rel is not None:
            T = T @ np.asarray(rel, dtype=np.float64)
        poses.append(T.copy())
    return poses


def rotation_angle_rad(R: np.ndarray) -> float:
    return float(np.arccos(np.clip((np.trace(R[:3, :3]) - 1.0) / 2.0, -1.0, 1.0)))


def path_distances(T_list) -> np.ndarray:
    """Cumulative travelled distance (metres) along the positions."""
    p = np.array([T[:3, 3] for T in T_list])
    steps = np.linalg.norm(np.diff(p, axis=0), axis=1) if len(p) > 1 else np.zeros(0)
    return np.concatenate([[0.0], np.cumsum(steps)])


@dataclass
class SegmentErrors:
    t_err_pct: float | None
    r_err_deg_per_100m: float | None
    n_segments: int
    lengths_m: list[float]
    step_frames: int
    mode: str          # 'kitti' or 'proportional'


def kitti_segment_errors(gt_T, est_T, lengths_m=None, step_frames: int | None = None) -> SegmentErrors:
    """KITTI odometry t_err/r_err of aligned, associated pose lists (same length)."""
    if len(gt_T) != len(est_T):
        raise ValueError('kitti_segment_errors needs associated pose lists of equal length')
    dist = path_distances(gt_T)
    total = float(dist[-1]) if len(dist) else 0.0
    mode = 'kitti'
    if lengths_m is None:
        lengths_m = list(KITTI_LENGTHS_M)
        if total <= KITTI_LENGTHS_M[0]:
            mode = 'proportional'
            lengths_m = [total * k / 10.0 for k in range(1, 9)]
    if step_frames is None:
        step_frames = KITTI_STEP_FRAMES if mode == 'kitti' else 1
    t_errs, r_errs = [], []
    for first in range(0, len(gt_T), step_frames):
        for L in lengths_m:
            if L <= 0:
                continue
            # first frame whose travelled distance exceeds the segment length (devkit rule)
            beyond = np.nonzero(dist > dist[first] + L)[0]
            if beyond.size == 0:
                continue
            last = int(beyond[0])
            d_gt = np.linalg.inv(gt_T[first]) @ gt_T[last]
            d_est = np.linalg.inv(est_T[first]) @ est_T[last]
            E = np.linalg.inv(d_est) @ d_gt
            t_errs.append(np.linalg.norm(E[:3, 3]) / L)
            r_errs.append(rotation_angle_rad(E) / L)
    if not t_errs:
        return SegmentErrors(None, None, 0, [float(x) for x in lengths_m], step_frames, mode)
    return SegmentErrors(100.0 * float(np.mean(t_errs)), float(np.degrees(np.mean(r_errs))) * 100.0,
                         len(t_errs), [float(x) for x in lengths_m], step_frames, mode)


def _traj(stamps_ns, T_list) -> PoseTrajectory3D:
    return PoseTrajectory3D(poses_se3=[np.asarray(T, dtype=np.float64) for T in T_list],
                            timestamps=np.asarray(stamps_ns, dtype=np.float64) * 1e-9)


def _stats(metric) -> dict:
    s = metric.get_all_statistics()
    return {k: float(s[k]) for k in ('rmse', 'mean', 'median', 'std', 'min', 'max')}


def _rpe(gt, est, relation, delta: float, unit) -> dict | None:
    rpe = metrics.RPE(relation, delta=delta, delta_unit=unit, all_pairs=False)
    try:
        rpe.process_data((gt, est))
    except metrics.MetricsException as exc:
        log.info('RPE (delta %g %s) not computed: %s', delta, unit.value, exc)
        return None
    return _stats(rpe)


def evaluate_trajectory(gt_stamps_ns, gt_T_world_cam, est_stamps_ns, est_T_world_cam,
                        alignment: str = 'sim3', tolerance_ns: int = 10_000_000) -> dict:
    """ATE/RPE/KITTI metrics of an estimated trajectory against ground truth.

    Returns a JSON-ready dict; `per_frame` holds the ATE translation error per matched pose.
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f'unknown alignment {alignment!r}; choose one of {ALIGNMENTS}')
    assoc = associate(est_stamps_ns, gt_stamps_ns, tolerance_ns)
    desc = assoc.describe('estimated poses', 'ground-truth poses')
    if len(assoc.pairs) < 3:
        rng = lambda s: (f'[{min(s) / 1e9:.3f}, {max(s) / 1e9:.3f}] s' if len(s) else 'none')  # noqa: E731
        raise TrajectoryError(
            f'too few poses associate in time for trajectory metrics: {desc}; need >= 3. '
            f'Estimated stamps {rng(est_stamps_ns)}, ground truth {rng(gt_stamps_ns)}. '
            f'Check the GT topic and clock, or raise --max-time-diff.')
    log.info('trajectory association: %s', desc)
    stamps = [int(est_stamps_ns[i]) for i, _ in assoc.pairs]
    gt = _traj(stamps, [gt_T_world_cam[j] for _, j in assoc.pairs])
    est = _traj(stamps, [est_T_world_cam[i] for i, _ in assoc.pairs])
    est_aligned = copy.deepcopy(est)
    scale = 1.0
    if alignment != 'none':
        _, _, scale = est_aligned.align(gt, correct_scale=(alignment == 'sim3'))
    ape = metrics.APE(metrics.PoseRelation.translation_part)
    ape.process_data((gt, est_aligned))
    ape_rot = metrics.APE(metrics.PoseRelation.rotation_angle_deg)
    ape_rot.process_data((gt, est_aligned))

    gt_len = float(path_distances(gt.poses_se3)[-1])
    # RPE per metre: delta 1 m, or a tenth of the path for trajectories shorter than 2 m.
    delta_m = 1.0 if gt_len >= 2.0 else max(gt_len / 10.0, 1e-6)
    seg = kitti_segment_errors(gt.poses_se3, est_aligned.poses_se3)
    return {
        'alignment': alignment,
        'association': {'matched': len(assoc.pairs), 'estimated': assoc.n_a,
                        'ground_truth': assoc.n_b, 'tolerance_ms': tolerance_ns / 1e6,
                        'max_diff_ms': assoc.max_diff_ns / 1e6},
        'sim3_scale': float(scale),
        'gt_path_length_m': gt_len,
        'est_path_length_m': float(path_distances(est_aligned.poses_se3)[-1]),
        'ate_m': _stats(ape),
        'ate_rot_deg': _stats(ape_rot),
        'rpe_per_frame': {
            'trans_m': _rpe(gt, est_aligned, metrics.PoseRelation.translation_part, 1, metrics.Unit.frames),
            'rot_deg': _rpe(gt, est_aligned, metrics.PoseRelation.rotation_angle_deg, 1, metrics.Unit.frames)},
        'rpe_per_distance': {
            'delta_m': delta_m,
            'trans_m': _rpe(gt, est_aligned, metrics.PoseRelation.translation_part, delta_m, metrics.Unit.meters),
            'rot_deg': _rpe(gt, est_aligned, metrics.PoseRelation.rotation_angle_deg, delta_m, metrics.Unit.meters)},
        'kitti': {'t_err_pct': seg.t_err_pct, 'r_err_deg_per_100m': seg.r_err_deg_per_100m,
                  'segments': seg.n_segments, 'segment_lengths_m': seg.lengths_m,
                  'step_frames': seg.step_frames, 'segment_mode': seg.mode},
        'per_frame': {'stamp_ns': stamps, 'ate_m': [float(x) for x in ape.error]},
        '_plot': {'gt_xyz': gt.positions_xyz.tolist(), 'est_xyz': est_aligned.positions_xyz.tolist()},
    }
