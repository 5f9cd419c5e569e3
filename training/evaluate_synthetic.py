"""Held-out evaluation of a trained model on sequences with exact depth and poses (synthetic data).

    python -m depth_perception_training.evaluate_synthetic --checkpoint runs/x/scdepth_best.pt \
        --data /path/synthetic_scdepth/testing [--json out.json]

Depth: SC-Depth metrics with per-image median scaling (`depth_perception.evaluation`),
beside the same baselines every evaluation report shows (`depth_perception.evaluation.baselines`):
a constant depth (what median scaling alone achieves) and the per-image Spearman rank
correlation. Motion: also scored by `evaluate_trajectory` (ATE/RPE beside zero motion and a
constant-velocity path); the last printed line is the shared verdict line.
Motion: relative pose error between consecutive frames. The prediction comes through the same
estimator the nodes use (`create_estimator('scdepth', checkpoint=...)`); its translation is
put in metres with the sequence's depth scale (median of the per-image gt/pred ratios: SC-Depth
depth and pose share one scale), and separately with the least-squares best scale.
The zero-motion baseline predicts the identity for every frame pair.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception.evaluation.baselines import constant_depth_errors, spearman
from depth_perception.evaluation.depth_metrics import frame_errors, get_preset, mean_errors, valid_pixels
from depth_perception.evaluation.trajectory import evaluate_trajectory
from depth_perception.evaluation.verdict import verdict_line
from depth_perception.geometry import invert_T

from .data import layout

DEPTH_PNG_SCALE = 1000.0


def rotation_angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0))))


def evaluate_sequence(estimator, scene: Path, preset) -> dict:
    frames = layout.list_frames(scene)
    K = layout.read_intrinsics(scene)
    poses = np.loadtxt(scene / 'poses.txt').reshape(-1, 3, 4)
    T_world_cam = np.tile(np.eye(4), (len(poses), 1, 1))
    T_world_cam[:, :3] = poses
    estimator.reset()
    depth_errs, const_errs, ratios, t_pred, t_gt, rot_err, rot_zero = [], [], [], [], [], [], []
    rhos, const_ratios, est_T, T = [], [], [np.eye(4)], np.eye(4)
    for i, path in enumerate(frames):
        rgb = layout.read_rgb(path)
        result = estimator.estimate(CameraFrame(rgb=rgb, K=K, stamp_ns=i))
        gt = layout.read_depth_m(scene / 'depth' / f'{path.stem}.png', DEPTH_PNG_SCALE)
        gt[gt <= 0] = np.nan
        pix = valid_pixels(gt, result.depth_m, preset)
        if pix.gt_m.size:                      # frames with no GT inside the caps are skipped
            ratios.append(pix.median_ratio)
            depth_errs.append(frame_errors(pix, pix.median_ratio, preset)['all'])
            const_errs.append(constant_depth_errors(pix, preset)['all'])
            const_ratios.append(float(np.median(pix.gt_m)))
            rho = spearman(pix.gt_m, pix.pred_m)
            if rho is not None:
                rhos.append(rho)
        if i > 0 and result.T_prev_curr is not None:
            T_gt = invert_T(T_world_cam[i - 1]) @ T_world_cam[i]
            t_pred.append(result.T_prev_curr[:3, 3])
            t_gt.append(T_gt[:3, 3])
            rot_err.append(rotation_angle_deg(result.T_prev_curr[:3, :3].T @ T_gt[:3, :3]))
            rot_zero.append(rotation_angle_deg(T_gt[:3, :3]))
        if i > 0:
            T = T @ (result.T_prev_curr if result.T_prev_curr is not None else np.eye(4))
            est_T.append(T.copy())
    scale = float(np.median(ratios))
    # Both paths relative to the first camera, the estimate in metres by the depth scale:
    # alignment 'none' then tests that one depth_scale makes odometry metric too.
    gt_rel = [invert_T(T_world_cam[0]) @ G for G in T_world_cam]
    est_m = []
    for E in est_T:
        E = E.copy()
        E[:3, 3] *= scale
        est_m.append(E)
    stamps = list(range(0, len(frames) * 100_000_000, 100_000_000))[:len(frames)]
    traj = evaluate_trajectory(stamps, gt_rel, stamps[:len(est_m)], est_m, 'none', tolerance_ns=1)
    traj_sim3 = evaluate_trajectory(stamps, gt_rel, stamps[:len(est_m)], est_m, 'sim3', tolerance_ns=1)
    for t in (traj, traj_sim3):
        t.pop('_plot', None)
        t.pop('per_frame', None)
    depth_block = {'metrics': mean_errors(depth_errs), 'baseline_constant': {'metrics': mean_errors(const_errs)},
                   'spearman': {'median': float(np.median(rhos))} if rhos else None}
    t_pred, t_gt = np.array(t_pred), np.array(t_gt)
    lsq_scale = float((t_pred * t_gt).sum() / max((t_pred * t_pred).sum(), 1e-12))
    return {
        'scene': scene.name, 'frames': len(frames),
        'depth': mean_errors(depth_errs), 'constant_depth_baseline': mean_errors(const_errs),
        'median_scale_ratio_m_per_unit': scale,
        'scale_ratio_spread': float(np.std(ratios) / np.mean(ratios)),
        'rpe_trans_m': float(np.mean(np.linalg.norm(t_pred * scale - t_gt, axis=1))),
        'rpe_trans_m_lsq_scale': float(np.mean(np.linalg.norm(t_pred * lsq_scale - t_gt, axis=1))),
        'rpe_trans_m_zero_motion': float(np.mean(np.linalg.norm(t_gt, axis=1))),
        'rpe_rot_deg': float(np.mean(rot_err)), 'rpe_rot_deg_zero_motion': float(np.mean(rot_zero)),
        'pose_lsq_scale_m_per_unit': lsq_scale,
        'spearman_median': float(np.median(rhos)) if rhos else float('nan'),
        'scale_ratio_spread_constant': float(np.std(const_ratios) / np.mean(const_ratios)),
        'rpe_trans_m_constant_velocity': traj['baselines']['constant_velocity']['rpe_per_frame']['trans_m']['mean'],
        'ate_sim3_m': traj_sim3['ate_m']['rmse'],
        'ate_sim3_m_zero_motion': traj_sim3['baselines']['zero_motion']['ate_m']['rmse'],
        'ate_sim3_m_constant_velocity': traj_sim3['baselines']['constant_velocity']['ate_m']['rmse'],
        'trajectory_depth_scale': traj, 'trajectory_sim3': traj_sim3,
        'verdict': verdict_line(depth_block, traj),
    }


def evaluate(checkpoint: str, data: Path, max_depth_m: float = 100.0, pose_refinement: bool = True) -> dict:
    estimator = create_estimator('scdepth', checkpoint=str(checkpoint), device='cpu',
                                 pose_refinement=pose_refinement)
    preset = get_preset('generic', max_depth_m=max_depth_m)
    root = Path(data)
    listing = root / 'test.txt'
    scenes = ([root / n for n in listing.read_text().split()] if listing.is_file()
              else sorted(p for p in root.iterdir() if (p / 'cam.txt').is_file()))
    per_seq = [evaluate_sequence(estimator, s, preset) for s in scenes]
    keys = [k for k in per_seq[0] if isinstance(per_seq[0][k], float)]
    summary = {k: float(np.nanmean([s[k] for s in per_seq])) for k in keys}
    for block in ('depth', 'constant_depth_baseline'):
        summary[block] = {m: float(np.mean([s[block][m] for s in per_seq])) for m in per_seq[0][block]}
    summary['spearman_median'] = float(np.nanmedian([s['spearman_median'] for s in per_seq]))
    # the shared verdict over the whole held-out set (means over sequences)
    depth_block = {'metrics': summary['depth'], 'baseline_constant': {'metrics': summary['constant_depth_baseline']},
                   'spearman': {'median': summary['spearman_median']}}
    mean_rpe = lambda key: {'rmse': float(np.mean([s[key] for s in per_seq]))}  # noqa: E731
    traj_block = {'ate_m': {'rmse': summary['ate_sim3_m']},
                  'rpe_per_frame': {'trans_m': mean_rpe('rpe_trans_m'), 'rot_deg': mean_rpe('rpe_rot_deg')},
                  'baselines': {'zero_motion': {'ate_m': {'rmse': summary['ate_sim3_m_zero_motion']},
                                                'rpe_per_frame': {'trans_m': mean_rpe('rpe_trans_m_zero_motion'),
                                                                  'rot_deg': mean_rpe('rpe_rot_deg_zero_motion')}},
                                'constant_velocity': {'ate_m': {'rmse': summary['ate_sim3_m_constant_velocity']}}}}
    return {'checkpoint': str(checkpoint), 'data': str(data), 'summary': summary,
            'verdict': verdict_line(depth_block, traj_block), 'sequences': per_seq}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--data', required=True, type=Path, help='folder of held-out scenes (e.g. DATASET/testing)')
    p.add_argument('--max-depth', type=float, default=100.0, help="depth cap, m (validation's 'generic' preset)")
    p.add_argument('--json', type=Path, default=None)
    p.add_argument('--no-pose-refinement', action='store_true',
                   help="score the pose network's motion alone (no photometric refinement)")
    a = p.parse_args(argv)
    report = evaluate(a.checkpoint, a.data, a.max_depth, not a.no_pose_refinement)
    s = report['summary']
    print(f"abs_rel {s['depth']['abs_rel']:.4f} (constant-depth baseline {s['constant_depth_baseline']['abs_rel']:.4f}), "
          f"a1 {s['depth']['a1']:.3f}; median scale {s['median_scale_ratio_m_per_unit']:.4f} m/unit")
    print(f"RPE trans {s['rpe_trans_m']:.4f} m (lsq scale {s['rpe_trans_m_lsq_scale']:.4f}, zero motion "
          f"{s['rpe_trans_m_zero_motion']:.4f}, constant velocity {s['rpe_trans_m_constant_velocity']:.4f}); "
          f"rot {s['rpe_rot_deg']:.3f} deg (zero motion {s['rpe_rot_deg_zero_motion']:.3f})")
    print(f"median Spearman {s['spearman_median']:+.3f}; scale spread {s['scale_ratio_spread']:.3f} "
          f"(constant {s['scale_ratio_spread_constant']:.3f}); ATE sim3 {s['ate_sim3_m']:.4f} m (zero motion "
          f"{s['ate_sim3_m_zero_motion']:.4f}, constant velocity {s['ate_sim3_m_constant_velocity']:.4f})")
    print(report['verdict'])
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
