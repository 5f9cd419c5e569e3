"""Committed measurements for a DepthNet model (issue 11 targets), each beside a baseline.

    python -m depth_perception_training.depthnet.evaluate stillbox --checkpoint F --data DIR
        held-out Still Box scenes (the training split's validation scenes): mean |d2 - target|
        in metres at 1/4 resolution, as the reference reports it, beside the best constant
        depth (the median of the training scenes' depth, clipped to [0, 100] m);
    python -m depth_perception_training.depthnet.evaluate sevenscenes --checkpoint F --data DIR
        real 7-Scenes frames with ground-truth poses: the estimator de-rotates each pair with
        the ground-truth rotation and takes the displacement from the ground-truth
        translation; the **unscaled** metric depth is scored (abs_rel, a1, ...) for every
        single frame shift and for the fused shifts, beside a per-image median-scaled
        constant (which is given the scale for free).
Both print one JSON object (and `--output FILE` writes it).
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
from depth_perception.evaluation.depth_metrics import (DepthPreset, compute_errors, mean_errors,
                                                       valid_pixels)

from .data import StillBoxValPairs, load_depth, read_stillbox, split_scenes
from .loss import area_downsample

SEVENSCENES_PRESET = DepthPreset('sevenscenes', 0.1, 10.0)   # Kinect range, as NYU/TUM
SEVENSCENES_INVALID_MM = 65535


# ------------------------------------------------------------------------------ Still Box
@torch.no_grad()
def evaluate_stillbox(checkpoint: str | Path, data_dir: str | Path, split: float = 0.9, seed: int = 0,
                      shift: int = 3, img_size: int | None = None, max_depth_m: float = 100.0) -> dict:
    net, weights = load_depthnet(checkpoint)
    size = int(img_size or weights.training_width_px or 0)
    if size < 64:
        raise ValueError(f'{checkpoint}: training width unknown; pass img_size')
    train, val = split_scenes(read_stillbox(data_dir), split, seed)
    if not val:
        raise ValueError(f'{data_dir}: no validation scenes (need >= 2 scenes)')
    constant = float(np.median(np.concatenate(
        [np.clip(load_depth(p, max_depth_m), 0, max_depth_m).ravel() for s in train for p in s.depths])))
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
            'constant_depth_m': constant, 'constant_mean_l1_m': float(np.mean(const_l1))}


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
        rgb = cv2.cvtColor(cv2.imread(str(f['color'])), cv2.COLOR_BGR2RGB)
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
                         max_rotation_deg: float = 20.0) -> dict:
    K, frames = read_sevenscenes(data_dir)
    first = max(shifts)   # score the same frames for every configuration
    configs = {f'shift {k}': (k,) for k in shifts}
    if len(shifts) > 1:
        configs['fused ' + ','.join(map(str, shifts))] = tuple(shifts)
    gts = {f['name']: read_gt_depth_m(f['depth']) for f in frames[first:]}
    report = {'checkpoint': str(checkpoint), 'data': str(data_dir), 'frames_scored_from': first,
              'kind': 'unscaled metric depth (no median scaling)', 'configs': {}}
    per_config_frames = {}
    for name, ks in configs.items():
        est = DepthNetEstimator(checkpoint=str(checkpoint), frame_shifts=ks, network_focal_px=network_focal_px,
                                min_displacement_m=min_displacement_m, max_rotation_deg=max_rotation_deg,
                                device='cpu')
        per_config_frames[name] = (_run(est, K, frames, first), dict(est.counters))
    # Only frames every configuration produced, so the rows compare like with like.
    common = sorted(set.intersection(*(set(v[0]) for v in per_config_frames.values())))
    for name, (results, counters) in per_config_frames.items():
        errors, per_frame = [], []
        for stem in common:
            depth_m, used = results[stem]
            pix = valid_pixels(gts[stem], depth_m, SEVENSCENES_PRESET)
            if pix.gt_m.size == 0:
                continue
            e = compute_errors(pix.gt_m, np.clip(pix.pred_m, SEVENSCENES_PRESET.min_depth_m,
                                                 SEVENSCENES_PRESET.max_depth_m))
            errors.append(e)
            per_frame.append({'frame': stem, 'pairs': used, 'pred_median_m': float(np.median(pix.pred_m)),
                              'valid_px': int(pix.gt_m.size), **e})
        report['configs'][name] = {'metrics': mean_errors(errors), 'frames': len(errors),
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
    ss = sub.add_parser('sevenscenes')
    ss.add_argument('--checkpoint', required=True)
    ss.add_argument('--data', required=True)
    ss.add_argument('--shifts', default=','.join(map(str, SEVENSCENES_SHIFTS)))
    ss.add_argument('--network-focal-px', type=float, default=0.0)
    ss.add_argument('--min-displacement', type=float, default=0.005)
    for p in (sb, ss):
        p.add_argument('--output', default=None, help='also write the JSON here')
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    try:
        if args.what == 'stillbox':
            report = evaluate_stillbox(args.checkpoint, args.data, args.split, args.seed, img_size=args.img_size)
        else:
            shifts = tuple(int(s) for s in args.shifts.split(','))
            report = evaluate_sevenscenes(args.checkpoint, args.data, shifts, args.network_focal_px,
                                          args.min_displacement)
    except (ValueError, FileNotFoundError) as exc:
        print(f'evaluate: error: {exc}', file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1)
    if args.output:
        Path(args.output).write_text(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
