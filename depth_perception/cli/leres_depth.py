"""`depth-perception leres-depth`: LeReS pseudo-depth for an SC-Depth V3 training set.

For every scene folder `DIR/training/<scene>/` with images, each image goes through the LeReS
base exactly as boosting uses it (`boosting.bases.LeresBase` at its 448 px receptive field:
channel-flipped input, square resize, `depth - min + 0.01`, bicubic back to the image size) and
is written as `<scene>/leres_depth/<stem>.png`, the file V3 training reads
(`training/data/layout.read_pseudo_depth`: the raw uint16 values as float, no scale).

Encoding (ENCODING below): LeReS depth is relative (unknown scale and shift; larger = farther).
V3 only uses its ratios and normals, both unchanged by a global scale, so each map is scaled by
its own maximum: `uint16(clip(floor(depth / max(depth) * 60000), 1, 65535))`. 60000 (LeReS'
own raw-depth writer's convention) leaves headroom below 65535; the floor of 1 keeps every
value positive, because a zero would make the ranking loss's depth ratios infinite.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

NAME = 'leres-depth'
HELP = ('LeReS pseudo-depth for SC-Depth V3 training: writes <scene>/leres_depth/<stem>.png '
        '(uint16, relative depth scaled to 60000 at its maximum) for every image of DIR/training/*/')
ENCODING = 'uint16 = clip(floor(depth / max(depth) * 60000), 1, 65535); relative depth, larger = farther'
FULL_SCALE = 60000.0
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument('--checkpoint', required=True, type=Path, help='LeReS res101.pth')
    parser.add_argument('--dataset', required=True, type=Path,
                        help='SC-Depth layout dataset (DIR/training/<scene>/*.jpg)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute maps that exist (default: skip them)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def encode_pseudo_depth(depth: np.ndarray) -> np.ndarray:
    """LeReS relative depth [H,W] -> the uint16 map V3 reads (see ENCODING)."""
    depth = np.asarray(depth, dtype=np.float64)
    if not np.isfinite(depth).all():
        raise ValueError('LeReS output has non-finite values')
    top = depth.max()
    if not top > 0:
        raise ValueError(f'LeReS output has no positive value (max {top})')
    return np.clip(np.floor(depth / top * FULL_SCALE), 1, 65535).astype(np.uint16)


def scene_folders(dataset: Path) -> list[Path]:
    """Every folder directly under DIR/training (or DIR itself if it has no training/) that holds images."""
    from depth_perception_training.data.layout import IMAGE_SUFFIXES, training_root
    root = training_root(dataset)
    scenes = [d for d in sorted(root.iterdir()) if d.is_dir()
              and any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in d.iterdir())]
    if not scenes:
        raise FileNotFoundError(f'{root}: no scene folders with images (expected {root}/<scene>/*.jpg)')
    return scenes


def _write_png(path: Path, image: np.ndarray) -> None:
    # Written under a temporary name and renamed: an interrupted run never leaves a truncated
    # map that a later run would skip as done.
    import cv2
    tmp = path.with_name(f'.{path.stem}.partial.png')
    if not cv2.imwrite(str(tmp), image):
        raise OSError(f'{path}: cannot write')
    os.replace(tmp, path)


def run(args) -> int:
    from tqdm import tqdm

    from depth_perception_training.data.layout import list_frames

    from ..boosting.bases import LeresBase
    from ..boosting.weights import read_leres
    from ..estimators.scdepth import pick_device
    from ..image_io import read_rgb

    scenes = scene_folders(args.dataset)
    device = pick_device(args.device)
    base = LeresBase(read_leres(args.checkpoint), device)   # refuses a missing/foreign file first
    jobs = [(scene, frame) for scene in scenes for frame in list_frames(scene)]
    log.info('LeReS pseudo-depth for %d images in %d scenes on %s (%s)', len(jobs), len(scenes),
             device, ENCODING)
    written = skipped = 0
    failed: list[str] = []
    for scene, frame in tqdm(jobs, desc='leres-depth', unit='img', disable=args.no_progress):
        out = scene / 'leres_depth' / f'{frame.stem}.png'
        if out.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            rgb = read_rgb(frame)
            encoded = encode_pseudo_depth(base.estimate(rgb / 255.0, base.receptive_field))
        except ValueError as exc:
            msg = str(exc) if str(frame) in str(exc) else f'{frame}: {exc}'
            log.error('skipped %s', msg)
            failed.append(str(frame))
            continue
        out.parent.mkdir(exist_ok=True)
        _write_png(out, encoded)
        written += 1
    log.info('wrote %d, kept %d existing, %d failed', written, skipped, len(failed))
    if failed:
        log.error('%d image(s) could not be read and have no pseudo-depth: %s', len(failed),
                  ', '.join(failed))
        return 1
    return 0
