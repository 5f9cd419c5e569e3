"""Ego-motion metrics: ATE, RPE and orientation drift (numpy), KITTI segment errors
(kitti-odom-eval style), each beside the same numbers for standing still and for a
constant-velocity straight line (see baselines.py).

Poses are 4x4 T_world_cam (camera-to-world, optical camera frame). The estimated trajectory
is the chain of the estimator's T_prev_curr (T_world_curr = T_world_prev @ T_prev_curr) in a
world frame equal to the first camera; alignment to the ground truth is therefore required:
'sim3' (Umeyama with scale; monocular methods have no metric scale), 'se3' (rigid) or
'none' (only meaningful when both share a world frame and scale). Degenerate alignments
(straight or still paths) fall back to the first-pose alignment and say so (alignment.py).

Rotation error is reported in two defined ways, never as the orientation error after a
position-only fit (that rotation is arbitrary for collinear or planar paths):
- RPE rotation per frame: angle of inv(dGT) dEst over consecutive frames;
- orientation drift: angle between the GT and estimated orientations *relative to their
  own first pose* (orientation after aligning the first pose).
RPE per distance takes its frame pairs from the ground-truth path (first frame j with
GT distance(i, j) >= delta), so it works for any alignment and estimate scale.

KITTI t_err (%) / r_err (deg/100 m): for every start frame (every `step` frames) and every
segment length L, the relative pose over the first GT path distance >= L is compared;
errors are divided by L and averaged over all segments. Lengths are KITTI's 100..800 m.
Fallback for trajectories shorter than 100 m (no KITTI segment fits): lengths are
0.1..0.8 x the GT path length and step 1; r_err is still expressed per 100 m (a rate), and
`segment_mode` says 'proportional' so nobody compares it with KITTI leaderboards.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .alignment import ALIGNMENTS, align
from .association import associate
from .baselines import constant_velocity_path, zero_motion_path

log = logging.getLogger(__name__)

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
    """Angle of a rotation, accurate near 0 and pi (arctan2 of sin and cos, not arccos)."""
    R = np.asarray(R)[:3, :3]
    sin = 0.5 * np.linalg.norm([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    cos = 0.5 * (np.trace(R) - 1.0)
    return float(np.arctan2(sin, cos))


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


def stats(values) -> dict | None:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return None
    return {'rmse': float(np.sqrt(np.mean(v ** 2))), 'mean': float(v.mean()), 'median': float(np.median(v)),
            'std': float(v.std()), 'min': float(v.min()), 'max': float(v.max()), 'n': int(v.size)}


def relative_errors(gt_T, est_T, pairs) -> tuple[np.ndarray, np.ndarray]:
    """(translation m, rotation deg) of inv(inv(G_i) G_j) inv(E_i) E_j for each (i, j)."""
    t_err, r_err = [], []
    for i, j in pairs:
        dg = np.linalg.inv(gt_T[i]) @ gt_T[j]
        de = np.linalg.inv(est_T[i]) @ est_T[j]
        E = np.linalg.inv(dg) @ de
        t_err.append(np.linalg.norm(E[:3, 3]))
        r_err.append(np.degrees(rotation_angle_rad(E)))
    return np.asarray(t_err), np.asarray(r_err)


def distance_pairs(gt_T, delta_m: float) -> list[tuple[int, int]]:
    """(i, j): j the first frame whose GT path distance from i reaches delta_m."""
    dist = path_distances(gt_T)
    pairs = []
    for i in range(len(dist)):
        j = int(np.searchsorted(dist, dist[i] + delta_m - 1e-12, side='left'))
        if j < len(dist) and j > i:
            pairs.append((i, j))
    return pairs


def orientation_drift_deg(gt_T, est_T) -> np.ndarray:
    """Angle between GT and estimated orientation, each relative to its own first pose."""
    Rg0, Re0 = gt_T[0][:3, :3], est_T[0][:3, :3]
    return np.array([np.degrees(rotation_angle_rad((Rg0.T @ G[:3, :3]).T @ (Re0.T @ E[:3, :3])))
                     for G, E in zip(gt_T, est_T)])


def score_path(gt_T, est_T, alignment: str, delta_m: float) -> dict:
    """ATE/RPE/orientation numbers of one estimated path (model or baseline)."""
    al = align(gt_T, est_T, alignment)
    est_a = al.apply(est_T)
    ate = np.linalg.norm(np.array([G[:3, 3] - E[:3, 3] for G, E in zip(gt_T, est_a)]), axis=1)
    n = len(gt_T)
    tf, rf = relative_errors(gt_T, est_a, [(i, i + 1) for i in range(n - 1)])
    dpairs = distance_pairs(gt_T, delta_m)
    td, rd = relative_errors(gt_T, est_a, dpairs)
    return {
        'alignment_method': al.method, 'alignment_note': al.describe(alignment),
        'alignment_fallback_reason': al.reason or None, 'scale': float(al.scale),
        'ate_m': stats(ate),
        'orientation_drift_deg': stats(orientation_drift_deg(gt_T, est_T)),
        'rpe_per_frame': {'trans_m': stats(tf), 'rot_deg': stats(rf)},
        'rpe_per_distance': {'delta_m': delta_m, 'pairs': len(dpairs), 'trans_m': stats(td), 'rot_deg': stats(rd),
                             **({} if dpairs else {'note': f'no frame pair is {delta_m:.3g} m apart along '
                                                          f'the ground truth'})},
        '_aligned': est_a, '_ate': ate,
    }


def evaluate_trajectory(gt_stamps_ns, gt_T_world_cam, est_stamps_ns, est_T_world_cam,
                        alignment: str = 'sim3', tolerance_ns: int = 10_000_000) -> dict:
    """ATE/RPE/KITTI metrics of an estimated trajectory against ground truth, with baselines.

    Returns a JSON-ready dict; `per_frame` holds the ATE translation error per matched pose,
    `baselines` the same metrics for standing still and a constant-velocity straight line.
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
    gt = [np.asarray(gt_T_world_cam[j], dtype=np.float64) for _, j in assoc.pairs]
    est = [np.asarray(est_T_world_cam[i], dtype=np.float64) for i, _ in assoc.pairs]
    gt_len = float(path_distances(gt)[-1])
    # RPE per metre: delta 1 m, or a tenth of the path for trajectories shorter than 2 m.
    delta_m = 1.0 if gt_len >= 2.0 else max(gt_len / 10.0, 1e-6)
    model = score_path(gt, est, alignment, delta_m)
    if model['alignment_fallback_reason']:
        log.warning('trajectory alignment: %s', model['alignment_note'])
    baselines = {}
    for name, path in (('zero_motion', zero_motion_path(len(gt))),
                       ('constant_velocity', constant_velocity_path(stamps, gt))):
        b = score_path(gt, path, alignment, delta_m)
        b.pop('_aligned')
        b.pop('_ate')
        baselines[name] = b
    seg = kitti_segment_errors(gt, model['_aligned'])
    est_a, ate = model.pop('_aligned'), model.pop('_ate')
    kitti_note = None if seg.mode == 'kitti' else (
        f'not meaningful here: the ground-truth path is {gt_len:.3g} m, far below the 100-800 m '
        f'segments KITTI t_err/r_err are defined on, and numbers over shorter segments '
        f'compare with nothing (the proportional-segment values stay in metrics.json only)')
    return {
        'alignment': alignment,
        'association': {'matched': len(assoc.pairs), 'estimated': assoc.n_a,
                        'ground_truth': assoc.n_b, 'tolerance_ms': tolerance_ns / 1e6,
                        'max_diff_ms': assoc.max_diff_ns / 1e6},
        'sim3_scale': model['scale'],
        'gt_path_length_m': gt_len,
        'est_path_length_m': float(path_distances(est_a)[-1]),
        **model,
        # orientation error as the poses are: defined only when no rotation was fitted
        **({'ate_rot_deg': stats([np.degrees(rotation_angle_rad(G[:3, :3].T @ E[:3, :3])) for G, E in zip(gt, est_a)])}
           if alignment == 'none' else {}),
        'kitti': {'t_err_pct': seg.t_err_pct, 'r_err_deg_per_100m': seg.r_err_deg_per_100m,
                  'segments': seg.n_segments, 'segment_lengths_m': seg.lengths_m,
                  'step_frames': seg.step_frames, 'segment_mode': seg.mode,
                  'meaningful': seg.mode == 'kitti', 'note': kitti_note},
        'baselines': baselines,
        'per_frame': {'stamp_ns': stamps, 'ate_m': [float(x) for x in ate]},
        '_plot': {'gt_xyz': [T[:3, 3].tolist() for T in gt], 'est_xyz': [T[:3, 3].tolist() for T in est_a]},
    }
