"""`depth-perception synth`: render a synthetic sequence with exact ground truth to disk."""
from __future__ import annotations

import argparse
import logging

NAME = 'synth'
HELP = ('render synthetic sequences with exact GT depth, poses and dynamic masks '
        '(SC-Depth folders, Still Box, or ROS 2 bags)')
FORMATS = ('sc-depth', 'stillbox', 'bag-mcap', 'bag-sqlite3')
log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must look like 320x256, got {text!r}') from None
    if w < 2 or h < 2:
        raise argparse.ArgumentTypeError('size must be at least 2x2')
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..synthetic import SCENES, TRAJECTORIES
    parser.add_argument('--scene', choices=SCENES, default='indoor', help='scene kind (default indoor)')
    parser.add_argument('--trajectory', choices=TRAJECTORIES, default=None,
                        help='camera motion (default: handheld indoors, driving on streets, uav in stillbox)')
    parser.add_argument('--frames', type=int, default=30, help='frames per sequence (default 30)')
    parser.add_argument('--sequences', type=int, default=1,
                        help='number of sequences, seeds SEED..SEED+N-1 (sc-depth/stillbox; default 1)')
    parser.add_argument('--size', type=_size, default=None,
                        help='WxH in pixels (default 320x256; 256x256 for stillbox)')
    parser.add_argument('--fps', type=float, default=None, help='frame rate in Hz (default 10)')
    parser.add_argument('--speed', type=float, default=None, help='camera speed in m/s (scene default)')
    parser.add_argument('--hfov', type=float, default=None,
                        help='horizontal field of view in degrees (scene default; 90 for stillbox)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (same seed -> identical files)')
    parser.add_argument('--dynamic-objects', type=int, default=0, help='independently moving objects')
    parser.add_argument('--no-shading', action='store_true', help='texture only, no Lambertian shading')
    parser.add_argument('--format', choices=FORMATS, default='sc-depth', help='output format')
    parser.add_argument('--output', required=True, help='output folder (must not exist or be empty)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    from ..synthetic import SequenceConfig, make_sequence, write_bag, write_sc_depth, write_stillbox
    if args.frames < 1 or args.sequences < 1:
        raise ValueError('--frames and --sequences must be >= 1')
    stillbox = args.format == 'stillbox'
    width, height = args.size or ((256, 256) if stillbox or args.scene == 'stillbox' else (320, 256))
    hfov = args.hfov if args.hfov is not None else (90.0 if stillbox else None)
    base = SequenceConfig(scene=args.scene, trajectory=args.trajectory, frames=args.frames,
                          width=width, height=height, fps=args.fps, speed_mps=args.speed,
                          hfov_deg=hfov, seed=args.seed, dynamic_objects=args.dynamic_objects,
                          shading=not args.no_shading)
    seqs = [make_sequence(base, seed=args.seed + i) for i in range(args.sequences)]
    progress = not args.no_progress
    if args.format == 'sc-depth':
        summary = write_sc_depth(seqs, args.output, progress=progress)
    elif stillbox:
        summary = write_stillbox(seqs, args.output, progress=progress)
    else:
        if len(seqs) > 1:
            raise ValueError('bag formats take one sequence; use --sequences 1')
        summary = write_bag(seqs[0], args.output, storage=args.format.split('-', 1)[1], progress=progress)
    cfg = seqs[0].config
    print(f'{cfg.scene}/{cfg.trajectory} {cfg.width}x{cfg.height} @ {cfg.fps:g} Hz, '
          f'{cfg.speed_mps:g} m/s, hfov {cfg.hfov_deg:g} deg, seed {cfg.seed}, '
          f'{cfg.dynamic_objects} moving object(s)')
    print(summary)
    return 0
