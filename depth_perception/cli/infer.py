"""`depth-perception infer`: depth for every image of a folder (SC-Depth's inference.py job)."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..estimators import CameraFrame, create_estimator
from ..image_io import list_images, read_rgb
from .common import add_model_arguments, model_options, resolution_option

NAME = 'infer'
HELP = ('Write OUTPUT/depth/<stem>.npy (float32 network depth, model units) and '
        'OUTPUT/vis/<stem>.png (colour map) for every image in a folder.')
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument('--input', required=True, type=Path, help='folder of .png/.jpg images')
    parser.add_argument('--output', required=True, type=Path, help='output folder')
    add_model_arguments(parser, methods=('scdepth', 'depthnet'))
    from . import infer_depthnet
    infer_depthnet.add_arguments(parser)
    parser.add_argument('--no-vis', action='store_true', help='skip the colour-mapped PNGs')


def run(args) -> int:
    resolution_option(args)        # '256x320' -> (256, 320), or one error line
    if args.method == 'depthnet':  # pairs of frames, not single images
        from .infer_depthnet import run as run_depthnet
        return run_depthnet(args)
    from ..visualization import colorize_depth
    images = list_images(args.input)
    estimator = create_estimator(args.method, **model_options(args), estimate_motion=False)
    log.info('%s', estimator.describe())
    (args.output / 'depth').mkdir(parents=True, exist_ok=True)
    if not args.no_vis:
        (args.output / 'vis').mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in tqdm(images, desc='infer', unit='img'):
        # One bad image is reported by name and skipped; the batch goes on and the exit code
        # says at the end that something was skipped.
        try:
            rgb = read_rgb(path)
            result = estimator.estimate(CameraFrame(rgb))
        except ValueError as exc:      # includes the estimator's InputError
            text = str(exc)
            log.error('%s', text if text.startswith(str(path)) else f'{path}: {text}')
            failed += 1
            continue
        depth = result.model_depth.astype(np.float32)
        np.save(args.output / 'depth' / f'{path.stem}.npy', depth)
        if not args.no_vis:
            vis_rgb = colorize_depth(depth)
            cv2.imwrite(str(args.output / 'vis' / f'{path.stem}.png'), vis_rgb[..., ::-1])
    log.info('wrote %d depth maps to %s%s', len(images) - failed, args.output,
             f' ({failed} of {len(images)} images skipped, named above)' if failed else '')
    return 1 if failed else 0
