"""`depth-perception infer --method depthnet`: DepthNet on image pairs of a folder.

Pairs are (i, i+K) of the sorted images, as the reference's run_inference.py forms them, or
the `earlier later` lines of `--pairs FILE`. Each pair is named after its later image:
    OUT/depth/<stem>.npy       raw network output, float32 [H/4, W/4] (times d/d_nominal
                               with --displacement: metres)
    OUT/depth_full/<stem>.npy  the same, bilinear (align_corners=False) at the input size
    OUT/vis/<stem>.png         colour map of depth_full
Without --displacement the values are metres *as if* the camera had moved by the nominal
displacement (0.3 m for Still Box models); with it they are metric.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..image_io import list_images, read_rgb

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    g = parser.add_argument_group('DepthNet (--method depthnet)')
    g.add_argument('--frame-shift', type=int, default=1, metavar='K',
                   help='pair image i with image i+K of the sorted folder (default 1)')
    g.add_argument('--pairs', type=Path, default=None, metavar='FILE',
                   help="explicit pairs: one 'earlier later' line per pair, paths relative to --input")
    g.add_argument('--displacement', type=float, default=None, metavar='METRES',
                   help='camera displacement between the two images of every pair; makes depth metric')
    g.add_argument('--nominal-displacement', type=float, default=0.3, metavar='METRES',
                   help='displacement the network output assumes (0.3 m for Still Box models)')


def read_pairs_file(path: Path, root: Path) -> list[tuple[Path, Path]]:
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such pairs file')
    pairs = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split('#', 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{n}: expected 'earlier later', got {line.strip()!r}")
        pairs.append(tuple(p if p.is_absolute() else root / p for p in map(Path, parts)))
    if not pairs:
        raise ValueError(f'{path}: no pairs in the file')
    return pairs


def make_pairs(args) -> list[tuple[Path, Path]]:
    if args.pairs is not None:
        return read_pairs_file(args.pairs, args.input)
    if args.frame_shift < 1:
        raise ValueError(f'--frame-shift must be >= 1, got {args.frame_shift}')
    images = list_images(args.input)
    if len(images) <= args.frame_shift:
        raise ValueError(f'{args.input}: {len(images)} images, too few for --frame-shift {args.frame_shift}')
    k = args.frame_shift
    return list(zip(images[:-k], images[k:]))


def run(args) -> int:
    from ..estimators.depthnet_runner import DepthNetRunner, upsample
    from ..visualization import colorize_depth
    if args.displacement is not None and not args.displacement > 0:
        raise ValueError(f'--displacement must be > 0 m, got {args.displacement}')
    if not args.nominal_displacement > 0:
        raise ValueError(f'--nominal-displacement must be > 0 m, got {args.nominal_displacement}')
    unsupported = [f'--{name.replace("_", "-")} {getattr(args, name)}'
                   for name, default in (('depth_scale', 1.0), ('pose_checkpoint', ''))
                   if getattr(args, name, default) != default]
    if unsupported:  # refuse rather than silently ignore
        raise ValueError(f'{", ".join(unsupported)}: not supported by --method depthnet '
                         '(use --displacement for metric depth)')
    pairs = make_pairs(args)
    runner = DepthNetRunner(args.checkpoint, args.device, backend=getattr(args, 'backend', 'eager'),
                            precision=getattr(args, 'precision', 'fp32'), onnx_dir=getattr(args, 'onnx_dir', ''))
    log.info('%s', runner.describe())
    scale = args.displacement / args.nominal_displacement if args.displacement else 1.0
    folders = ('depth', 'depth_full') + (() if args.no_vis else ('vis',))
    for name in folders:
        (args.output / name).mkdir(parents=True, exist_ok=True)
    failed = 0
    for earlier_path, later_path in tqdm(pairs, desc='depthnet', unit='pair'):
        try:
            earlier, later = read_rgb(earlier_path), read_rgb(later_path)
            if earlier.shape != later.shape:
                raise ValueError(f'{later_path}: size {later.shape[1]}x{later.shape[0]} differs from '
                                 f'{earlier_path} ({earlier.shape[1]}x{earlier.shape[0]})')
        except ValueError as exc:
            log.error('%s', exc)
            failed += 1
            continue
        h, w = later.shape[:2]
        if args.resolution and args.resolution != (h, w):
            rh, rw = args.resolution
            earlier, later = (cv2.resize(im, (rw, rh), interpolation=cv2.INTER_LINEAR)
                              for im in (earlier, later))
        depth = runner.predict([(earlier, later)])[0] * np.float32(scale)
        stem = later_path.stem
        np.save(args.output / 'depth' / f'{stem}.npy', depth.astype(np.float32))
        full = upsample(depth, (h, w))
        np.save(args.output / 'depth_full' / f'{stem}.npy', full)
        if not args.no_vis:
            cv2.imwrite(str(args.output / 'vis' / f'{stem}.png'), colorize_depth(full)[..., ::-1])
    kind = 'metres' if args.displacement else f'metres at the nominal {args.nominal_displacement:g} m displacement'
    log.info('wrote %d DepthNet depth maps (%s) to %s%s', len(pairs) - failed, kind, args.output,
             f' ({failed} pairs skipped)' if failed else '')
    return 1 if failed else 0
