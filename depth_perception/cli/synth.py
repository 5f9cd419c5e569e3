"""`depth-perception synth`: render a synthetic sequence with exact ground truth to disk.

Sequences are streamed: each scene is built, rendered, written and released before the next
one (a thousand sequences cost the memory of one). Every value is checked before anything is
built or written, and an impossible one is refused in one line naming the option.
"""
from __future__ import annotations

import argparse
import logging

NAME = 'synth'
HELP = ('render synthetic sequences with exact GT depth, poses and dynamic masks '
        '(SC-Depth folders, Still Box, or ROS 2 bags)')
FORMATS = ('sc-depth', 'stillbox', 'bag-mcap', 'bag-sqlite3')
MAX_SEQUENCES = 100_000
# SequenceConfig field -> the option that sets it (for error lines)
OPTION_OF = {'frames': '--frames', 'width': '--size', 'height': '--size', 'fps': '--fps',
             'speed_mps': '--speed', 'hfov_deg': '--hfov', 'seed': '--seed',
             'flat_materials': '--flat-materials',
             'dynamic_objects': '--dynamic-objects'}
log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'--size must look like 320x256 (WxH), got {text!r}') from None
    return w, h


def _whole(text, option: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError(f'{option} must be a whole number, got {text!r}') from None


def _real(text, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'{option} must be a number, got {text!r}') from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..synthetic import SCENES, TRAJECTORIES
    # Numbers are parsed in run(), not by argparse, so that a bad value is one error line
    # (argparse prints the whole usage first).
    parser.add_argument('--scene', choices=SCENES, default='indoor', help='scene kind (default indoor)')
    parser.add_argument('--trajectory', choices=TRAJECTORIES, default=None,
                        help='camera motion (default: handheld indoors, driving on streets, uav in stillbox)')
    parser.add_argument('--frames', default='30', help='frames per sequence (default 30, at most 100000)')
    parser.add_argument('--sequences', default='1',
                        help='number of sequences, seeds SEED..SEED+N-1 (sc-depth/stillbox; default 1)')
    parser.add_argument('--size', default=None,
                        help='WxH in pixels (default 320x256; 256x256 for stillbox)')
    parser.add_argument('--fps', default=None, help='frame rate in Hz (default 10)')
    parser.add_argument('--speed', default=None, help='camera speed in m/s (scene default)')
    parser.add_argument('--hfov', default=None,
                        help='horizontal field of view in degrees, 1..170 (scene default; 90 for stillbox)')
    parser.add_argument('--seed', default='0', help='random seed (same seed -> identical files)')
    parser.add_argument('--dynamic-objects', default='0', help='independently moving objects')
    parser.add_argument('--no-shading', action='store_true', help='texture only, no Lambertian shading')
    parser.add_argument('--flat-materials', default='0',
                        help='chance (0..1) of each surface material to be plain, without texture '
                             '(real rooms have plain walls; default 0)')
    parser.add_argument('--format', choices=FORMATS, default='sc-depth', help='output format')
    parser.add_argument('--output', required=True, help='output folder (must not exist or be empty)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def build_stream(args: argparse.Namespace):
    """The SequenceStream the arguments describe, every value checked; nothing built yet."""
    from ..synthetic import SequenceConfig, SequenceConfigError, SequenceStream
    frames = _whole(args.frames, '--frames')
    sequences = _whole(args.sequences, '--sequences')
    if not 1 <= sequences <= MAX_SEQUENCES:
        raise ValueError(f'--sequences must be in 1..{MAX_SEQUENCES}, got {sequences}')
    stillbox = args.format == 'stillbox'
    if args.format.startswith('bag-') and sequences > 1:
        raise ValueError('--sequences: bag formats take one sequence; use --sequences 1')
    width, height = (_size(args.size) if args.size else
                     (256, 256) if stillbox or args.scene == 'stillbox' else (320, 256))
    hfov = _real(args.hfov, '--hfov') if args.hfov is not None else (90.0 if stillbox else None)
    seed = _whole(args.seed, '--seed')
    base = SequenceConfig(scene=args.scene, trajectory=args.trajectory, frames=frames,
                          width=width, height=height,
                          fps=None if args.fps is None else _real(args.fps, '--fps'),
                          speed_mps=None if args.speed is None else _real(args.speed, '--speed'),
                          hfov_deg=hfov, seed=seed,
                          dynamic_objects=_whole(args.dynamic_objects, '--dynamic-objects'),
                          shading=not args.no_shading,
                          flat_materials=_real(args.flat_materials, '--flat-materials'))
    try:
        return SequenceStream(base, range(seed, seed + sequences))
    except SequenceConfigError as exc:
        option = OPTION_OF.get(exc.field, exc.field)
        if exc.field == 'seed':
            raise ValueError(f'--seed/--sequences: seeds must stay in 0..{2 ** 32 - 1}, '
                             f'got {exc.value}') from None
        raise ValueError(f'{option} {exc.problem}, got {exc.value!r}') from None


def run(args: argparse.Namespace) -> int:
    from ..synthetic import write_bag, write_sc_depth, write_stillbox
    stream = build_stream(args)
    progress = not args.no_progress
    if args.format == 'sc-depth':
        summary = write_sc_depth(stream, args.output, progress=progress)
    elif args.format == 'stillbox':
        summary = write_stillbox(stream, args.output, progress=progress)
    else:
        summary = write_bag(next(iter(stream)), args.output, storage=args.format.split('-', 1)[1],
                            progress=progress)
    cfg = stream.configs[0]
    print(f'{cfg.scene}/{cfg.trajectory} {cfg.width}x{cfg.height} @ {cfg.fps:g} Hz, '
          f'{cfg.speed_mps:g} m/s, hfov {cfg.hfov_deg:g} deg, seed {cfg.seed}'
          f'{f"..{stream.configs[-1].seed}" if len(stream) > 1 else ""}, '
          f'{cfg.dynamic_objects} moving object(s)')
    print(summary)
    return 0
