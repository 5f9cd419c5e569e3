"""Committed measurements for a DepthNet model (issue 11 targets), each beside a baseline.

    python -m depth_perception_training.depthnet.evaluate stillbox --checkpoint F --data DIR
        held-out Still Box scenes (the training split's validation scenes): mean |d2 - target|
        in metres at 1/4 resolution, as the reference reports it, beside the best constant
        depth (the median of the training scenes' depth, clipped to [0, 100] m); `--all-scenes`
        scores every scene of a folder never trained on instead (constant: their own median);
    python -m depth_perception_training.depthnet.evaluate sevenscenes --checkpoint F --data DIR
        real 7-Scenes frames with ground-truth poses: the estimator de-rotates each pair with
        the ground-truth rotation and takes the displacement from the ground-truth
        translation; the **unscaled** metric depth is scored (abs_rel, a1, ...) for every
        single frame shift and for the fused shifts, beside a per-image median-scaled
        constant (which is given the scale for free); each row also says how far its scale is
        off (median of per-frame median(GT) / median(prediction)) and its error once given
        that scale per frame too (`median_scaled_metrics`: the structure alone).
    python -m depth_perception_training.depthnet.evaluate fusion --checkpoint F --data DIR --shifts 1,3,9
        multi-range fusion against every single frame shift on held-out Still Box sequences
        (all scenes of DIR, e.g. `synth ... --seed 100000`): one estimator run per frame with
        all shifts batched; each single-shift row is that shift's own output made metric
        (output x |d| / 0.3 m, the estimator's rule for one shift), the fused row is the
        estimator's depth (soft fusion, `--softness`), the hard-selection row the same outputs
        fused with softness 0, so every row sees the same frames, pairs and GT. Scored at the
        input resolution against the GT depth in (0, 100] m: mean |pred - gt| (m) and
        abs_rel per frame, averaged over frames; beside them the best constant in hindsight
        (the median GT of the scored frames) and the per-pixel oracle choice among the shifts.
Each prints one JSON object (fusion: a table, JSON with `--output FILE`); `--output FILE` writes it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from depth_perception.checkpoints_depthnet import load_depthnet
from depth_perception.estimators.base import CameraFrame
from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
from depth_perception.estimators.depthnet_fusion import DEFAULT_SOFTNESS, fuse
from depth_perception.estimators.depthnet_runner import upsample
from depth_perception.evaluation.depth_metrics import (DepthPreset, compute_errors, mean_errors,
                                                       valid_pixels)
from depth_perception.image_io import read_rgb

from .data import NOMINAL_DISPLACEMENT_M, StillBoxValPairs, load_depth, read_stillbox, split_scenes
from .loss import area_downsample

SEVENSCENES_PRESET = DepthPreset('sevenscenes', 0.1, 10.0)   # Kinect range, as NYU/TUM
SEVENSCENES_INVALID_MM = 65535


# ------------------------------------------------------------------------------ Still Box
@torch.no_grad()
def evaluate_stillbox(checkpoint: str | Path, data_dir: str | Path, split: float = 0.9, seed: int = 0,
                      shift: int = 3, img_size: int | None = None, max_depth_m: float = 100.0,
                      all_scenes: bool = False) -> dict:
    """all_scenes: score every scene of data_dir (a folder never trained on); the constant is
    then the median of those scenes' own depth (in hindsight, so it favours the constant)."""
    net, weights = load_depthnet(checkpoint)
    size = int(img_size or weights.training_width_px or 0)
    if size < 64:
        raise ValueError(f'{checkpoint}: training width unknown; pass img_size')
    scenes = read_stillbox(data_dir)
    train, val = ([], scenes) if all_scenes else split_scenes(scenes, split, seed)
    if not val:
        raise ValueError(f'{data_dir}: no validation scenes (need >= 2 scenes)')
    # In the network's units (depth at the nominal displacement): metres on Still Box.
    constant = float(np.median(np.concatenate(
        [np.clip(load_depth(p, max_depth_m) * s.target_scale(shift, NOMINAL_DISPLACEMENT_M), 0, max_depth_m).ravel()
         for s in (train or val) for p in s.depths])))
    ds = StillBoxValPairs(val, size, shift, max_depth_m)
    model_l1, const_l1 = [], []
    for i in range(len(ds)):
        x, target, _ = ds[i]
        d2 = net(x[None])
        t = area_downsample(target[None], d2.shape[-2:])
        model_l1.append(float((d2 - t).abs().mean()))
        const_l1.append(float((t - constant).abs().mean()))
    return {'checkpoint': str(checkpoint), 'data': str(data_dir), 'img_size': size,
            'validation_scenes': len(val), 'pairs': len(ds), 'mean_l1_m': float(np.mean(model_l1)),
            'constant_depth_m': constant, 'constant_from': 'the scored scenes' if all_scenes else 'training scenes',
            'constant_mean_l1_m': float(np.mean(const_l1))}


# ------------------------------------------------------------------------------ fusion
FUSION_SHIFTS = (1, 3, 9)


def _score(pred_m: np.ndarray, gt_m: np.ndarray, max_depth_m: float) -> tuple[float, float]:
    ok = np.isfinite(gt_m) & (gt_m > 0) & (gt_m <= max_depth_m) & np.isfinite(pred_m)
    g, p = gt_m[ok].astype(np.float64), pred_m[ok].astype(np.float64)
    return float(np.abs(p - g).mean()), float((np.abs(p - g) / g).mean())


@torch.no_grad()
def evaluate_fusion(checkpoint: str | Path, data_dir: str | Path, shifts=FUSION_SHIFTS,
                    max_depth_m: float = 100.0, nominal_displacement_m: float = 0.3,
                    softness: float = DEFAULT_SOFTNESS) -> dict:
    """Every single shift and their fusion on all scenes of a Still Box folder (module docstring)."""
    shifts = tuple(sorted(int(k) for k in shifts))
    scenes = read_stillbox(data_dir)
    first = max(shifts)
    if all(len(s) <= first for s in scenes):
        raise ValueError(f'{data_dir}: every scene is too short for shift {first} (need > {first} frames)')
    est = DepthNetEstimator(checkpoint=str(checkpoint), frame_shifts=shifts, assume_stabilized=True,
                            nominal_displacement_m=nominal_displacement_m, min_displacement_m=1e-6,
                            fusion_softness=softness, device='cpu')
    fused_name = 'fused ' + ','.join(map(str, shifts))
    names = [f'shift {k}' for k in shifts] + [fused_name, 'hard selection', 'oracle']
    rows = {n: {'l1_m': [], 'abs_rel': []} for n in names}
    gts, chosen_counts = [], np.zeros(len(shifts), np.int64)
    for scene in scenes:
        est.reset()
        for i in range(len(scene)):
            rgb = cv2.cvtColor(cv2.imread(str(scene.imgs[i]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            # A Still Box camera keeps its orientation (identity) and flies at constant speed.
            T = np.eye(4)
            T[:3, 3] = scene.speed_mps * scene.time_step_s * i
            frame = CameraFrame(rgb, None, int(round(i * scene.time_step_s * 1e9)))
            try:
                res = est.estimate(frame, T_world_cam=T)
            except PairsSkipped:
                continue
            if i < first:
                continue
            if len(res.outputs) != len(shifts):
                raise ValueError(f'{scene.name} frame {i}: not every shift was usable ({res.pairs})')
            gt = load_depth(scene.depths[i], np.inf)
            hw = gt.shape
            disp = {s.shift: s.displacement_m for s in res.pairs}
            singles = [upsample(fuse([res.outputs[k]], [disp[k]], nominal_displacement_m, softness=0.0)[0], hw)
                       for k in shifts]
            for k, depth in zip(shifts, singles):
                for key, v in zip(('l1_m', 'abs_rel'), _score(depth, gt, max_depth_m)):
                    rows[f'shift {k}'][key].append(v)
            for key, v in zip(('l1_m', 'abs_rel'), _score(res.depth_m, gt, max_depth_m)):
                rows[fused_name][key].append(v)
            hard = upsample(fuse([res.outputs[k] for k in shifts], [disp[k] for k in shifts],
                                 nominal_displacement_m, softness=0.0)[0], hw)
            for key, v in zip(('l1_m', 'abs_rel'), _score(hard, gt, max_depth_m)):
                rows['hard selection'][key].append(v)
            stack = np.stack(singles)
            best = np.take_along_axis(stack, np.argmin(np.abs(stack - gt[None]), 0)[None], 0)[0]
            for key, v in zip(('l1_m', 'abs_rel'), _score(best, gt, max_depth_m)):
                rows['oracle'][key].append(v)
            chosen_counts += np.bincount(res.shift_map.ravel(), minlength=first + 1)[list(shifts)]
            gts.append(gt)
    if not gts:
        raise ValueError(f'{data_dir}: no frame had all shifts usable')
    constant = float(np.median(np.concatenate([g[(g > 0) & (g <= max_depth_m)] for g in gts])))
    base = [_score(np.full_like(g, constant), g, max_depth_m) for g in gts]
    report = {'checkpoint': str(checkpoint), 'data': str(data_dir), 'scenes': len(scenes),
              'frames': len(gts), 'shifts': list(shifts), 'max_depth_m': max_depth_m, 'fusion_softness': softness,
              'rows': {n: {'mean_l1_m': float(np.mean(r['l1_m'])), 'abs_rel': float(np.mean(r['abs_rel']))}
                       for n, r in rows.items()},
              'fused_pixel_share': {f'shift {k}': float(c / chosen_counts.sum()) for k, c in zip(shifts, chosen_counts)},
              'constant': {'depth_m': constant, 'mean_l1_m': float(np.mean([b[0] for b in base])),
                           'abs_rel': float(np.mean([b[1] for b in base]))}}
    singles_l1 = [report['rows'][f'shift {k}']['mean_l1_m'] for k in shifts]
    fused = report['rows'][fused_name]
    singles_rel = [report['rows'][f'shift {k}']['abs_rel'] for k in shifts]
    report['fusion_beats_every_single_shift'] = bool(fused['mean_l1_m'] < min(singles_l1))
    report['fusion_beats_every_single_shift_abs_rel'] = bool(fused['abs_rel'] < min(singles_rel))
    return report


def fusion_table(report: dict) -> str:
    lines = [f"{report['frames']} frames of {report['scenes']} scenes from {report['data']}",
             f"{'':<16}{'mean L1 (m)':>12}{'abs_rel':>10}"]
    for name, r in report['rows'].items():
        share = report['fused_pixel_share'].get(name)
        note = f'   {100 * share:.0f}% of fused pixels' if share is not None else ''
        note = '   (per-pixel best shift, needs GT)' if name == 'oracle' else note
        note = '   (softness 0: the best-conditioned shift per pixel)' if name == 'hard selection' else note
        lines.append(f"{name:<16}{r['mean_l1_m']:>12.3f}{r['abs_rel']:>10.3f}{note}")
    c = report['constant']
    lines.append(f"{'constant ' + format(c['depth_m'], '.1f') + ' m':<16}{c['mean_l1_m']:>12.3f}{c['abs_rel']:>10.3f}"
                 '   (median GT, chosen in hindsight)')
    lines.append(f"fusion (softness {report['fusion_softness']:g}) beats every single shift: "
                 f"L1 {report['fusion_beats_every_single_shift']}, "
                 f"abs_rel {report['fusion_beats_every_single_shift_abs_rel']}")
    return '\n'.join(lines)


# ------------------------------------------------------------------------------ 7-Scenes
def read_sevenscenes(root: str | Path) -> tuple[np.ndarray, list[dict]]:
    """K and the frames (color, depth, T_world_cam) of a 7-Scenes folder, sorted by name."""
    root = Path(root)
    frames_dir = root / 'data' / 'rgbd-frames' if (root / 'data').is_dir() else root / 'rgbd-frames'
    k_file = frames_dir.parent / 'camera-intrinsics.txt'
    K = np.loadtxt(k_file) if k_file.is_file() else np.array([[585.0, 0, 320], [0, 585.0, 240], [0, 0, 1]])
    frames = []
    for color in sorted(frames_dir.glob('frame-*.color.png')):
        stem = color.name[:-len('.color.png')]
        pose = np.loadtxt(frames_dir / f'{stem}.pose.txt')
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise ValueError(f'{frames_dir / stem}.pose.txt: expected a finite 4x4 matrix')
        frames.append({'name': stem, 'color': color, 'depth': frames_dir / f'{stem}.depth.png',
                       'T_world_cam': pose})
    if not frames:
        raise FileNotFoundError(f'{frames_dir}: no frame-*.color.png')
    return K, frames


def read_gt_depth_m(path: Path) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise ValueError(f'{path}: expected a 16-bit depth PNG (mm)')
    depth = raw.astype(np.float32) / 1000.0
    depth[(raw == 0) | (raw == SEVENSCENES_INVALID_MM)] = np.nan
    return depth


def _run(estimator: DepthNetEstimator, K: np.ndarray, frames: list[dict], first_scored: int) -> dict:
    """name -> depth_m (input resolution) for every scored frame with a usable pair."""
    out = {}
    for i, f in enumerate(frames):
        rgb = read_rgb(f['color'])
        try:
            res = estimator.estimate(CameraFrame(rgb, K, i), T_world_cam=f['T_world_cam'])
        except PairsSkipped:
            continue
        if i >= first_scored:
            out[f['name']] = (res.depth_m, [(s.shift, s.displacement_m) for s in res.pairs if s.used])
    return out


# The 7-Scenes fixture moves ~5 mm and turns ~1.4 deg per frame: shift 1 has almost no parallax.
SEVENSCENES_SHIFTS = (3, 9, 15)


def evaluate_sevenscenes(checkpoint: str | Path, data_dir: str | Path, shifts=SEVENSCENES_SHIFTS,
                         network_focal_px: float = 0.0, min_displacement_m: float = 0.005,
                         max_rotation_deg: float = 20.0, refine_rotation: bool = False,
                         oracle_rotation: bool = False) -> dict:
    """oracle_rotation: each pair's rotation corrected from its flow and the ground-truth depth
    (pose_check), to see what the model gives once the poses' rotation error is gone."""
    if refine_rotation and oracle_rotation:
        raise ValueError('choose one of refine_rotation and oracle_rotation')
    K, frames = read_sevenscenes(data_dir)
    first = max(shifts)   # score the same frames for every configuration
    configs = {f'shift {k}': (k,) for k in shifts}
    if len(shifts) > 1:
        configs['fused ' + ','.join(map(str, shifts))] = tuple(shifts)
    gts = {f['name']: read_gt_depth_m(f['depth']) for f in frames[first:]}
    report = {'checkpoint': str(checkpoint), 'data': str(data_dir), 'frames_scored_from': first,
              'kind': 'unscaled metric depth (no median scaling)', 'refine_rotation': refine_rotation,
              'oracle_rotation': oracle_rotation, 'configs': {}}
    per_config_frames = {}
    options = dict(checkpoint=str(checkpoint), network_focal_px=network_focal_px,
                   min_displacement_m=min_displacement_m, max_rotation_deg=max_rotation_deg, device='cpu')
    if oracle_rotation:
        from .pose_check import OracleRotationEstimator   # pose_check reads 7-Scenes with this module
        inputs = {i: (read_rgb(f['color']), read_gt_depth_m(f['depth'])) for i, f in enumerate(frames)}
    for name, ks in configs.items():
        if oracle_rotation:
            est = OracleRotationEstimator(inputs, K, frame_shifts=ks, **options)
        else:
            est = DepthNetEstimator(frame_shifts=ks, refine_rotation=refine_rotation, **options)
        per_config_frames[name] = (_run(est, K, frames, first), dict(est.counters))
    # Only frames every configuration produced, so the rows compare like with like.
    common = sorted(set.intersection(*(set(v[0]) for v in per_config_frames.values())))
    for name, (results, counters) in per_config_frames.items():
        errors, scaled_errors, ratios, per_frame = [], [], [], []
        lo, hi = SEVENSCENES_PRESET.min_depth_m, SEVENSCENES_PRESET.max_depth_m
        for stem in common:
            depth_m, used = results[stem]
            pix = valid_pixels(gts[stem], depth_m, SEVENSCENES_PRESET)
            if pix.gt_m.size == 0:
                continue
            e = compute_errors(pix.gt_m, np.clip(pix.pred_m, lo, hi))
            errors.append(e)
            # Given the scale as the baseline is: what is left is the structure's error.
            ratio = float(np.median(pix.gt_m) / np.median(pix.pred_m))
            ratios.append(ratio)
            scaled_errors.append(compute_errors(pix.gt_m, np.clip(pix.pred_m * ratio, lo, hi)))
            per_frame.append({'frame': stem, 'pairs': used, 'pred_median_m': float(np.median(pix.pred_m)),
                              'valid_px': int(pix.gt_m.size), 'gt_over_pred_median': ratio, **e})
        report['configs'][name] = {'metrics': mean_errors(errors), 'frames': len(errors),
                                   'median_scaled_metrics': mean_errors(scaled_errors) if scaled_errors else {},
                                   'gt_over_pred_median': float(np.median(ratios)) if ratios else float('nan'),
                                   'counters': counters, 'per_frame': per_frame}
    base = []
    for stem in common:   # per-image median-scaled constant: pred = median(gt) everywhere
        gt = gts[stem]
        pix = valid_pixels(gt, np.ones_like(gt), SEVENSCENES_PRESET)
        if pix.gt_m.size:
            base.append(compute_errors(pix.gt_m, np.full(pix.gt_m.shape, np.median(pix.gt_m))))
    report['constant_median_scaled'] = {'metrics': mean_errors(base), 'frames': len(base)}
    report['frames_compared'] = len(common)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='what', required=True)
    sb = sub.add_parser('stillbox')
    sb.add_argument('--checkpoint', required=True)
    sb.add_argument('--data', required=True)
    sb.add_argument('--split', type=float, default=0.9)
    sb.add_argument('--seed', type=int, default=0)
    sb.add_argument('--img-size', type=int, default=None)
    sb.add_argument('--all-scenes', action='store_true',
                    help='score every scene of --data (a folder never trained on) instead of the split')
    ss = sub.add_parser('sevenscenes')
    ss.add_argument('--checkpoint', required=True)
    ss.add_argument('--data', required=True)
    ss.add_argument('--shifts', default=','.join(map(str, SEVENSCENES_SHIFTS)))
    ss.add_argument('--network-focal-px', type=float, default=0.0)
    ss.add_argument('--min-displacement', type=float, default=0.005)
    ss.add_argument('--refine-rotation', action='store_true',
                    help='correct the ground-truth rotation from the images (the estimator\'s refine_rotation)')
    ss.add_argument('--oracle-rotation', action='store_true',
                    help='correct each pair\'s rotation from its flow and the ground-truth depth (pose_check): '
                         'the model\'s error once the poses\' rotation error is gone')
    fu = sub.add_parser('fusion')
    fu.add_argument('--checkpoint', required=True)
    fu.add_argument('--data', required=True, help='held-out Still Box folder (all its scenes are scored)')
    fu.add_argument('--shifts', default=','.join(map(str, FUSION_SHIFTS)))
    fu.add_argument('--softness', type=float, default=DEFAULT_SOFTNESS,
                    help='fusion softness (the estimator\'s default; 0 = hard selection)')
    for p in (sb, ss, fu):
        p.add_argument('--output', default=None, help='also write the JSON here')
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    try:
        if args.what == 'stillbox':
            report = evaluate_stillbox(args.checkpoint, args.data, args.split, args.seed, img_size=args.img_size,
                                       all_scenes=args.all_scenes)
        elif args.what == 'fusion':
            report = evaluate_fusion(args.checkpoint, args.data, tuple(int(s) for s in args.shifts.split(',')),
                                     softness=args.softness)
        else:
            shifts = tuple(int(s) for s in args.shifts.split(','))
            report = evaluate_sevenscenes(args.checkpoint, args.data, shifts, args.network_focal_px,
                                          args.min_displacement, refine_rotation=args.refine_rotation,
                                          oracle_rotation=args.oracle_rotation)
    except (ValueError, FileNotFoundError) as exc:
        print(f'evaluate: error: {exc}', file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1)
    if args.output:
        Path(args.output).write_text(text + '\n')
    print(fusion_table(report) if args.what == 'fusion' else text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
