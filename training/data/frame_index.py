"""Pick the frames of a raw video that moved enough to train on (sc_depth_pl generate_valid_frame_index).

Rule: keep a frame when more than 50 % of its pixels differ by more than 10 grey levels from
the last kept frame (the first frame is always kept). The reference subtracts uint8 images,
so negative differences wrap around (3 - 5 = 254) and count as "changed": a frame that only
got slightly darker passed the test. Here the difference is taken in int16, so only real
changes count. Writes `frame_index.txt` (kept indices into the sorted image list).

    python -m depth_perception_training.data.frame_index DATASET/training [--threshold 10] [--fraction 0.5]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from . import layout

GREY_THRESHOLD = 10
CHANGED_FRACTION = 0.5


def changed_fraction(grey_a: np.ndarray, grey_b: np.ndarray, threshold: int = GREY_THRESHOLD) -> float:
    """Fraction of pixels whose absolute grey difference exceeds `threshold` (no uint8 wrap)."""
    diff = np.abs(grey_a.astype(np.int16) - grey_b.astype(np.int16))
    return float(np.mean(diff > threshold))


def valid_frame_indices(greys, threshold: int = GREY_THRESHOLD, fraction: float = CHANGED_FRACTION) -> list[int]:
    kept: list[int] = []
    last = None
    for i, grey in enumerate(greys):
        if last is None or changed_fraction(grey, last, threshold) > fraction:
            kept.append(i)
            last = grey
    return kept


def write_frame_index(scene: Path, threshold: int = GREY_THRESHOLD, fraction: float = CHANGED_FRACTION) -> list[int]:
    frames = layout.list_frames(scene)
    greys = (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in frames)
    kept = valid_frame_indices(greys, threshold, fraction)
    (scene / 'frame_index.txt').write_text('\n'.join(str(i) for i in kept) + '\n')
    return kept


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('root', type=Path, help='DATASET/training (scenes listed in train.txt/val.txt) or one scene')
    p.add_argument('--threshold', type=int, default=GREY_THRESHOLD)
    p.add_argument('--fraction', type=float, default=CHANGED_FRACTION)
    a = p.parse_args(argv)
    if (a.root / 'cam.txt').is_file():
        scenes = [a.root]
    else:
        scenes = [s for split in ('train', 'val') if (a.root / f'{split}.txt').is_file()
                  for s in layout.read_scene_list(a.root, split)]
    for scene in scenes:
        kept = write_frame_index(scene, a.threshold, a.fraction)
        print(f'{scene.name}: kept {len(kept)} of {len(layout.list_frames(scene))} frames')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
