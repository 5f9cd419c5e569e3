"""Depth error at depth edges: base alone vs boosted, on held-out synthetic frames.

    python -m depth_perception_training.boost.evaluate --merge RUN/latest_net_G.pth --frames 30

Edge pixels: a pixel is on a depth edge when its exact (engine) depth differs from a
4-neighbour's by more than `jump_ratio` (default 1.1, i.e. 10 %), or when exactly one of the
two has no surface (sky). The edge band is those pixels dilated by `radius_px` (default 2,
a 5x5 square), kept where the ground truth is valid. Every prediction is relative disparity,
so it is first fitted (scale and shift, least squares over all valid pixels) to the exact
disparity d = 1/depth; the error is mean |fitted - d| over the band ('edge') or over the
other valid pixels ('rest'), divided by the frame's mean d over valid pixels (scale-free,
and not dominated by far pixels as |fitted - d| / d would be next to the sky). Frames whose
band covers under 0.5 % of the pixels (the camera faces a wall) are skipped. A constant
prediction (its fit is the mean disparity) is the floor any method must beat.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time

import cv2
import numpy as np

from depth_perception.malloc_tuning import keep_freed_memory

from .pairs import disparity_from_depth, make_base, synthetic_frames

log = logging.getLogger(__name__)
MIN_EDGE_FRACTION = 0.005


def edge_band(depth_m: np.ndarray, jump_ratio: float = 1.1, radius_px: int = 2) -> np.ndarray:
    """Bool mask of valid pixels within radius_px of a depth discontinuity (module docstring)."""
    if jump_ratio <= 1 or radius_px < 0:
        raise ValueError(f'jump_ratio must be > 1 and radius_px >= 0, got {jump_ratio}, {radius_px}')
    valid = np.isfinite(depth_m) & (depth_m > 0)
    logd = np.log(np.where(valid, depth_m, 1.0))
    limit = math.log(jump_ratio)
    edge = np.zeros(depth_m.shape, bool)
    for axis in (0, 1):
        a = [slice(None), slice(None)]
        b = [slice(None), slice(None)]
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        both = valid[a] & valid[b]
        jump = (both & (np.abs(logd[a] - logd[b]) > limit)) | (valid[a] ^ valid[b])
        edge[a] |= jump
        edge[b] |= jump
    if radius_px:
        kernel = np.ones((2 * radius_px + 1, 2 * radius_px + 1), np.uint8)
        edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
    return edge & valid


def fit_to_disparity(pred: np.ndarray, disp: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """scale * pred + shift, least squares against disp over the valid pixels (float64)."""
    p = pred[valid].astype(np.float64)
    A = np.stack([p, np.ones_like(p)], 1)
    (scale, shift), *_ = np.linalg.lstsq(A, disp[valid].astype(np.float64), rcond=None)
    return scale * pred.astype(np.float64) + shift


def edge_errors(pred: np.ndarray, depth_m: np.ndarray, jump_ratio: float = 1.1,
                radius_px: int = 2) -> dict:
    """{'edge', 'rest'}: mean |fitted - d| / mean(d) on the edge band and elsewhere."""
    if pred.shape != depth_m.shape:
        raise ValueError(f'prediction {pred.shape} and depth {depth_m.shape} differ in size')
    valid = np.isfinite(depth_m) & (depth_m > 0)
    disp = disparity_from_depth(depth_m).astype(np.float64)
    band = edge_band(depth_m, jump_ratio, radius_px)
    rel = np.abs(fit_to_disparity(pred, disp, valid) - disp) / disp[valid].mean()
    rest = valid & ~band
    return {'edge': float(rel[band].mean()) if band.any() else float('nan'),
            'rest': float(rel[rest].mean()) if rest.any() else float('nan'),
            'edge_fraction': float(band.sum() / max(valid.sum(), 1))}


def evaluate(merge_path: str, frames: int = 30, seed: int = 100_000, width_px: int = 320,
             height_px: int = 256, estimator: str = 'scdepth', checkpoint: str = '',
             merge_sizes_px=(), final: bool = False, progress: bool = True) -> dict:
    """Mean edge/rest errors per method over the first `frames` held-out frames with depth edges
    (seeds from `seed` on); '_frames_evaluated' says how many there were."""
    from tqdm import tqdm

    from depth_perception.boosting.merge import GPU_THRESHOLD, merge_size_px
    from depth_perception.boosting.pipeline import BoostConfig, boost
    from depth_perception.boosting.weights import read_merge_net
    base = make_base(estimator, checkpoint, 'cpu')
    net = read_merge_net(merge_path)
    sizes = [merge_size_px(net, v) for v in merge_sizes_px] or [merge_size_px(net)]
    methods: dict[str, list] = {}
    bar = tqdm(total=frames, desc='frames', disable=not progress)
    done = 0        # not bar.n: a disabled bar does not count
    for _, frame in synthetic_frames(10 * frames, seed, width_px, height_px, per_sequence=2):
        if done >= frames:
            break
        if edge_band(frame.depth_m).mean() < MIN_EDGE_FRACTION:
            continue
        done += 1
        bar.update()
        rgb = frame.rgb / 255.0
        t0 = time.perf_counter()
        boosted = {size: boost(frame.rgb, base, net, BoostConfig(mode='R20', pix2pixsize=size))
                   for size in sizes}
        t_r20 = (time.perf_counter() - t0) / len(sizes)
        r20 = boosted[sizes[0]]
        preds = {'constant': np.zeros(frame.depth_m.shape, np.float32),
                 f'base at receptive field ({base.receptive_field} px)':
                     r20.singles['low'],
                 'base at R20 (high resolution alone)': r20.singles['high']}
        for size, result in boosted.items():
            preds[f'boosted R20 (merge net at {size} px)'] = result.depth
        if final:
            for size in sizes:
                preds[f'boosted Final (merge net at {size} px)'] = boost(
                    frame.rgb, base, net, BoostConfig(mode='Final', pix2pixsize=size)).depth
        for name, pred in preds.items():
            if pred.shape != frame.depth_m.shape:
                pred = cv2.resize(pred, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
            methods.setdefault(name, []).append(edge_errors(pred, frame.depth_m))
        methods.setdefault('_r20_px', []).append({'edge': min(r20.resolution, GPU_THRESHOLD),
                                                  'rest': t_r20, 'edge_fraction': 0})
    bar.close()
    summary = {name: {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
               for name, rows in methods.items()}
    summary['_frames_evaluated'] = done
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--merge', required=True, help='merge net (latest_net_G.pth, any size)')
    p.add_argument('--frames', type=int, default=30)
    p.add_argument('--seed', type=int, default=100_000, help='first held-out scene seed')
    p.add_argument('--width', type=int, default=320)
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--estimator', default='scdepth')
    p.add_argument('--checkpoint', default='')
    p.add_argument('--merge-size', type=int, nargs='*', default=[],
                   help='merge input size(s) in px to evaluate (default 2**downsamplings)')
    p.add_argument('--final', action='store_true', help='also evaluate Final (slow)')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    keep_freed_memory(all_from_one_heap=True)   # as `depth-perception boost`
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    s = evaluate(args.merge, args.frames, args.seed, args.width, args.height, args.estimator,
                 args.checkpoint, args.merge_size, args.final, not args.no_progress)
    extra, done = s.pop('_r20_px'), s.pop('_frames_evaluated')
    print(f'{done} held-out frames {args.width}x{args.height}, seeds from {args.seed}; '
          f'mean R20 {extra["edge"]:.0f} px ({extra["rest"]:.1f} s per boosted R20); '
          f'edge band {s["constant"]["edge_fraction"]:.1%} of pixels')
    print(f'{"method":45s} {"edge error":>12s} {"rest error":>12s}')
    for name, v in s.items():
        print(f'{name:45s} {v["edge"]:12.4f} {v["rest"]:12.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
