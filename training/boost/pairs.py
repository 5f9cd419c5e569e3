"""Training pairs for the merge network, written to a folder (one `pair_NNNNNN.npz` each).

    python -m depth_perception_training.boost.pairs --out DIR --frames 300 --size 128

For every synthetic-engine frame the base (default: the package's shipped SC-Depth model, via
`boosting.bases.SCDepthBase`) estimates disparity at its receptive field ('outer', low
resolution) and at the frame's R20 resolution from Boosting's own resolution search ('inner',
high resolution), exactly the two estimates R20 merges. Both are resized (bicubic) to the
square merge size, as `merge.double_estimate` does. The target is the engine's exact depth
at the render resolution turned into disparity 1/depth (0 where no surface is hit: the sky
is infinitely far) and area-resized to the same square. Stored un-normalised (float32);
the loader min-max normalises each map to [-1, 1] as the reference normalises merge inputs.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

SCENES = ('indoor', 'corridor', 'street')


def disparity_from_depth(depth_m: np.ndarray) -> np.ndarray:
    """1/depth in 1/m, 0 where the depth is not a positive finite number (no hit: infinitely far)."""
    ok = np.isfinite(depth_m) & (depth_m > 0)
    return np.where(ok, 1.0 / np.where(ok, depth_m, 1.0), 0.0).astype(np.float32)


def make_base(estimator: str = 'scdepth', checkpoint: str = '', device: str = 'cpu',
              receptive_field: int = 0):
    """The boosting base the pairs (and the evaluation) use."""
    from depth_perception.cli.boost import build_base
    base, _ = build_base(estimator, checkpoint, device, receptive_field)
    return base


def frame_pair(base, rgb_u8: np.ndarray, depth_m: np.ndarray, size_px: int) -> dict:
    """The (outer, inner, target) triple of one frame at size_px x size_px, plus its sizes."""
    from depth_perception.boosting.merge import GPU_THRESHOLD
    from depth_perception.boosting.pipeline import SCALE_THRESHOLD, WHOLE_SIZE_THRESHOLD
    from depth_perception.boosting.resolution import processing_resolution
    rgb = rgb_u8 / 255.0
    low_px = min(base.receptive_field, GPU_THRESHOLD)
    r20 = processing_resolution(rgb, base.receptive_field, 0.2, SCALE_THRESHOLD,
                                WHOLE_SIZE_THRESHOLD).resolution
    high_px = min(r20, GPU_THRESHOLD)
    low = base.estimate(rgb, low_px)
    high = low if high_px == low_px else base.estimate(rgb, high_px)
    square = (size_px, size_px)
    return {'outer': cv2.resize(low, square, interpolation=cv2.INTER_CUBIC).astype(np.float32),
            'inner': cv2.resize(high, square, interpolation=cv2.INTER_CUBIC).astype(np.float32),
            'target': cv2.resize(disparity_from_depth(depth_m), square,
                                 interpolation=cv2.INTER_AREA).astype(np.float32),
            'low_px': low_px, 'high_px': high_px}


def synthetic_frames(count: int, seed: int, width_px: int, height_px: int, per_sequence: int = 5,
                     scenes=SCENES):
    """`count` frames: sequences of `per_sequence` frames, scenes in turn, seeds seed, seed+1..."""
    from depth_perception.synthetic import make_sequence
    made, k = 0, 0
    while made < count:
        scene = scenes[k % len(scenes)]
        seq = make_sequence(scene=scene, frames=per_sequence * 4, width=width_px,
                            height=height_px, seed=seed + k)
        for i in range(0, len(seq), 4):     # every 4th frame: views differ more than neighbours
            if made >= count:
                break
            yield {'scene': scene, 'seed': seed + k, 'index': i}, seq.render(i)
            made += 1
        k += 1


def build_pairs(out_dir: str | Path, frames: int, size_px: int, seed: int = 0,
                width_px: int = 320, height_px: int = 256, estimator: str = 'scdepth',
                checkpoint: str = '', device: str = 'cpu', progress: bool = True) -> Path:
    """Write `frames` pairs to out_dir (pair_NNNNNN.npz + pairs.json); existing pairs are kept."""
    from tqdm import tqdm
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = make_base(estimator, checkpoint, device)
    meta = {'estimator': estimator, 'checkpoint': checkpoint or 'shipped default',
            'receptive_field_px': base.receptive_field, 'size_px': size_px,
            'render_wh_px': [width_px, height_px], 'seed': seed, 'pairs': []}
    for n, (info, frame) in enumerate(tqdm(synthetic_frames(frames, seed, width_px, height_px),
                                           total=frames, desc='pairs', disable=not progress)):
        path = out / f'pair_{n:06d}.npz'
        if not path.is_file():     # an interrupted build continues where it stopped
            pair = frame_pair(base, frame.rgb, frame.depth_m, size_px)
            tmp = path.with_suffix('.tmp.npz')
            np.savez(tmp, outer=pair['outer'], inner=pair['inner'], target=pair['target'],
                     low_px=pair['low_px'], high_px=pair['high_px'])
            tmp.replace(path)
        meta['pairs'].append({'file': path.name, **info})
    (out / 'pairs.json').write_text(json.dumps(meta, indent=1) + '\n')
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='Write merge-network training pairs from synthetic frames.')
    p.add_argument('--out', required=True, type=Path)
    p.add_argument('--frames', type=int, default=300)
    p.add_argument('--size', type=int, default=1024, help='square merge size (px); 1024 as the reference')
    p.add_argument('--seed', type=int, default=0, help='first scene seed (held-out frames: use another range)')
    p.add_argument('--width', type=int, default=320)
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--estimator', default='scdepth', help="base: 'scdepth' (shipped default), 'midas', 'leres'")
    p.add_argument('--checkpoint', default='', help='base weights (default: the shipped SC-Depth model)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    if args.frames < 1 or args.size < 32:
        print('error: --frames must be >= 1 and --size >= 32', file=sys.stderr)
        return 2
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    out = build_pairs(args.out, args.frames, args.size, args.seed, args.width, args.height,
                      args.estimator, args.checkpoint, args.device, not args.no_progress)
    print(f'pairs written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
