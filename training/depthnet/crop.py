"""Centre-crop a Still Box folder: same focal length in pixels, narrower field of view.

    python -m depth_perception_training.depthnet.crop --data IN --output OUT --size 128

Still Box is rendered at 90 deg (f = W/2). A real camera of another field of view is closer to
a crop of a wider render than to a resized one: cropping 128 px out of a 256 px render gives
images at f = 128 px, 53 deg, the focal length a 7-Scenes frame (640x480, 57 deg) has once
resized to 140x105. The output's metadata.json records "hfov_deg", which training reads to store
the model's focal length (checkpoint "training_focal_px"), so the estimator resizes inputs to it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .data import metadata_files, metadata_hfov_deg, square_focal_px


def crop_folder(src: str | Path, dst: str | Path, size: int, progress: bool = True) -> int:
    """Crop every scene of src (a Still Box folder or a folder of them) into dst; returns frames."""
    src, dst = Path(src), Path(dst)
    frames = 0
    for meta_path in metadata_files(src):
        meta = json.loads(meta_path.read_text())
        here = meta_path.parent
        out = dst / here.relative_to(src)
        hfov = metadata_hfov_deg(meta, meta_path)
        width = None
        items = [(im, dp) for s in meta['scenes'] for im, dp in zip(s['imgs'], s['depth'])]
        for im, dp in tqdm(items, desc=str(here.relative_to(src.parent)), disable=not progress):
            rgb = cv2.imread(str(here / im), cv2.IMREAD_UNCHANGED)
            depth = np.load(here / dp)
            h, w = rgb.shape[:2]
            if h != w or depth.shape != (h, w):
                raise ValueError(f'{here / im}: expected square images with depth of the same size, '
                                 f'got {w}x{h} and depth {depth.shape}')
            if size > w:
                raise ValueError(f'{here / im}: {w} px is smaller than the crop ({size} px)')
            width = width or w
            o = (w - size) // 2
            (out / im).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out / im), rgb[o:o + size, o:o + size], [cv2.IMWRITE_JPEG_QUALITY, 95])
            np.save(out / dp, np.ascontiguousarray(depth[o:o + size, o:o + size]))
            frames += 1
        if width is not None:
            meta['hfov_deg'] = math.degrees(2.0 * math.atan(size / 2.0 / square_focal_px(width, hfov)))
        out.mkdir(parents=True, exist_ok=True)
        (out / 'metadata.json').write_text(json.dumps(meta))
    return frames


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', required=True, help='Still Box folder (or a folder of them)')
    parser.add_argument('--output', required=True)
    parser.add_argument('--size', type=int, required=True, help='side of the centre crop [px]')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    try:
        if Path(args.output).exists() and any(Path(args.output).iterdir()):
            raise ValueError(f'{args.output}: exists and is not empty')
        n = crop_folder(args.data, args.output, args.size, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f'crop: error: {exc}', file=sys.stderr)
        return 2
    print(f'{n} frames cropped to {args.size} px -> {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
