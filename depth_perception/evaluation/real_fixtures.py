"""What the default model is worth on the real fixtures (no training target among them).

    python -m depth_perception.evaluation.real_fixtures --fixtures ../shared/fixtures --out DIR

Per dataset: abs_rel / a1 (per-image median scaling, mean over images) and the median over
images of Spearman's rho, for the model and for a constant depth (baselines.py), with the
dataset's caps (indoor 0.1-10 m, driving 0.1-80 m). Where the fixture has poses (7-Scenes,
slambook NYU-style frames): per-frame RPE of the model's chained motion and of standing
still. On 7-Scenes: the ATE (SE(3) Umeyama) of Open3D's RGB-D odometry chained frame to
frame, fed with (a) the model's depth times one global median ratio, (b) a constant plane
at the median GT depth, (c) GT depth. Writes real_fixtures.md and real_fixtures.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..estimators import CameraFrame
from . import fixture_loaders as L
from .baselines import constant_depth_errors, spearman, zero_motion_path
from .depth_metrics import DepthPreset, frame_errors, get_preset, mean_errors, valid_pixels
from .trajectory import integrate, score_path

INDOOR = get_preset('tum')                               # 0.1-10 m, no crop
NYU = get_preset('nyu')                                  # 0.1-10 m, Eigen crop
DRIVING_KITTI = get_preset('kitti')                      # 0.1-80 m, Garg crop
DRIVING = DepthPreset('driving', 0.1, 80.0)             # DGP: 0.1-80 m, whole image

# (key, label, loader, preset, has poses)
DATASETS = (
    ('sevenscenes', '7-Scenes RedKitchen, 50 frames', L.load_sevenscenes, INDOOR, True),
    ('tum_fr2', 'TUM fr2 pair (slambook2 ch7)', L.load_tum_pair, INDOOR, False),
    ('nyu_style', 'NYU-style frames (slambook2 ch5), 5', L.load_nyu_style, NYU, True),
    ('open3d', 'Open3D TUM / NYU / SUN frames, 3', L.load_open3d_formats, INDOOR, False),
    ('kitti', 'KITTI stereo left, depth = bf/disparity, 1', L.load_kitti, DRIVING_KITTI, False),
    ('dgp', 'TRI DGP cameras + projected LiDAR, 27', L.load_dgp, DRIVING, False),
)


def score_depth(frames, preds, preset: DepthPreset) -> dict:
    """Model and constant-depth metrics over frames; preds are metres or model units."""
    model, const, rhos, ratios = [], [], [], []
    for f, p in zip(frames, preds):
        pix = valid_pixels(f.depth_m, p, preset)
        if pix.gt_m.size == 0:
            continue
        model.append(frame_errors(pix, pix.median_ratio, preset)['all'])
        const.append(constant_depth_errors(pix, preset)['all'])
        rhos.append(spearman(pix.gt_m, pix.pred_m))
        ratios.append(pix.median_ratio)
    rho_ok = [r for r in rhos if r is not None]
    return {'n_images': len(model), 'model': mean_errors(model), 'constant': mean_errors(const),
            'spearman_median': float(np.median(rho_ok)) if rho_ok else None,
            'median_ratio': float(np.median(ratios)) if ratios else None}


def score_motion(frames, rel_motions) -> dict:
    """Per-frame RPE (sim3-aligned chain) of the model and of standing still."""
    gt = [f.T_world_cam for f in frames]
    est = integrate(rel_motions)
    m = score_path(gt, est, 'sim3', 1.0)['rpe_per_frame']
    z = score_path(gt, zero_motion_path(len(gt)), 'sim3', 1.0)['rpe_per_frame']
    return {'model_trans_m': m['trans_m']['rmse'], 'model_rot_deg': m['rot_deg']['rmse'],
            'still_trans_m': z['trans_m']['rmse'], 'still_rot_deg': z['rot_deg']['rmse']}


def open3d_odometry_path(frames, depths_m) -> list[np.ndarray]:
    """Chain Open3D RGB-D odometry frame to frame; T_world_cam with world = first camera."""
    import open3d as o3d
    h, w = frames[0].depth_m.shape
    K = frames[0].K
    intr = o3d.camera.PinholeCameraIntrinsic(w, h, K[0, 0], K[1, 1], K[0, 2], K[1, 2])

    def rgbd(f, d):
        d = np.nan_to_num(np.asarray(d, dtype=np.float32), nan=0.0)
        return o3d.geometry.RGBDImage.create_from_color_and_depth(
            o3d.geometry.Image(np.ascontiguousarray(f.rgb)), o3d.geometry.Image(d),
            depth_scale=1.0, depth_trunc=10.0, convert_rgb_to_intensity=True)

    images = [rgbd(f, d) for f, d in zip(frames, depths_m)]
    poses = [np.eye(4)]
    for prev, curr in zip(images[:-1], images[1:]):
        # source = current, target = previous: the result maps current-frame points into the
        # previous frame, i.e. T_prev_curr; a failure counts as no motion.
        ok, T, _ = o3d.pipelines.odometry.compute_rgbd_odometry(
            curr, prev, intr, np.eye(4), o3d.pipelines.odometry.RGBDOdometryJacobianFromHybridTerm(),
            o3d.pipelines.odometry.OdometryOption())
        poses.append(poses[-1] @ (np.asarray(T) if ok else np.eye(4)))
    return poses


def odometry_ate(frames, depths_m) -> float:
    gt = [f.T_world_cam for f in frames]
    return score_path(gt, open3d_odometry_path(frames, depths_m), 'se3', 1.0)['ate_m']['rmse']


def run_model(estimator, frames):
    estimator.reset()
    preds, motions = [], []
    for i, f in enumerate(frames):
        r = estimator.estimate(CameraFrame(f.rgb, f.K, stamp_ns=i * 33_000_000))
        preds.append(r.depth_m)
        motions.append(r.T_prev_curr)
    return preds, motions


def evaluate(fixtures: Path, estimator) -> dict:
    out = {'datasets': {}}
    for key, label, loader, preset, posed in DATASETS:
        frames = loader(fixtures)
        # single frames are separate images: no motion across them
        preds, motions = run_model(estimator, frames) if posed else \
            ([run_model(estimator, [f])[0][0] for f in frames], None)
        res = {'label': label, 'caps_m': [preset.min_depth_m, preset.max_depth_m], 'preset': preset.name,
               **score_depth(frames, preds, preset)}
        if posed:
            res['rpe_per_frame'] = score_motion(frames, motions)
        if key == 'sevenscenes':
            gt_all = np.concatenate([f.depth_m[np.isfinite(f.depth_m)] for f in frames])
            plane = float(np.median(gt_all))
            ratio = res['median_ratio']
            res['open3d_odometry_ate_m'] = {
                'model_global_median_scaled': odometry_ate(frames, [p * ratio for p in preds]),
                'constant_plane': odometry_ate(frames, [np.full_like(f.depth_m, plane) for f in frames]),
                'gt_depth': odometry_ate(frames, [f.depth_m for f in frames]),
                'global_ratio': ratio, 'plane_m': plane}
        out['datasets'][key] = res
    return out


def _f(v, fmt='.3f'):
    return '—' if v is None else format(v, fmt)


def markdown(report: dict) -> str:
    lines = ['| data | caps (m) | model abs_rel / a1 / Spearman | constant abs_rel / a1 |',
             '|---|---|---|---|']
    for res in report['datasets'].values():
        m, c = res['model'], res['constant']
        lines.append(f"| {res['label']} | {res['caps_m'][0]:g}–{res['caps_m'][1]:g} | "
                     f"{_f(m['abs_rel'])} / {_f(m['a1'], '.2f')} / {_f(res['spearman_median'], '+.2f')} | "
                     f"{_f(c['abs_rel'])} / {_f(c['a1'], '.2f')} |")
    posed = [(r['label'], r['rpe_per_frame']) for r in report['datasets'].values() if 'rpe_per_frame' in r]
    if posed:
        lines += ['', '| data | per-frame RPE, model (m / °) | standing still (m / °) |', '|---|---|---|']
        for label, r in posed:
            lines.append(f"| {label} | {_f(r['model_trans_m'], '.4f')} / {_f(r['model_rot_deg'], '.2f')} | "
                         f"{_f(r['still_trans_m'], '.4f')} / {_f(r['still_rot_deg'], '.2f')} |")
    odo = report['datasets'].get('sevenscenes', {}).get('open3d_odometry_ate_m')
    if odo:
        lines += ['', '| Open3D RGB-D odometry on 7-Scenes, depth fed | ATE SE(3) RMSE (m) |', '|---|---|',
                  f"| model depth × one global median ratio ({odo['global_ratio']:.2f}) | "
                  f"{odo['model_global_median_scaled']:.3f} |",
                  f"| constant plane at {odo['plane_m']:.2f} m | {odo['constant_plane']:.3f} |",
                  f"| ground-truth depth | {odo['gt_depth']:.3f} |"]
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fixtures', required=True, help='the shared fixtures folder')
    ap.add_argument('--out', required=True, help='folder for real_fixtures.md / .json')
    ap.add_argument('--checkpoint', default='', help="SC-Depth checkpoint ('' = the packaged default)")
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args(argv)
    fixtures = Path(a.fixtures)
    if not fixtures.is_dir():
        print(f'error: --fixtures {fixtures}: not a folder', file=sys.stderr)
        return 2
    from ..estimators import create_estimator
    est = create_estimator('scdepth', checkpoint=a.checkpoint, num_threads=a.threads, device='cpu')
    try:
        report = evaluate(fixtures, est)
    except (L.FixtureError, OSError, KeyError, ValueError) as e:
        print(f'error: {fixtures}: {type(e).__name__}: {e}', file=sys.stderr)
        return 2
    report['model'] = est.describe()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    md = f"Model: {report['model']}\n\n" + markdown(report)
    (out / 'real_fixtures.md').write_text(md)
    (out / 'real_fixtures.json').write_text(json.dumps(report, indent=2))
    print(md)
    return 0


if __name__ == '__main__':
    sys.exit(main())
