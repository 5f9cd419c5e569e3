"""SC-Depth dataset layout (sc_depth_pl `training/` + `testing/`).

    ROOT/training/<scene>/000000.jpg ...   RGB, JPEG quality 95
    ROOT/training/<scene>/cam.txt          3x3 K (pixel-centre convention)
    ROOT/training/<scene>/depth/000000.png GT depth, 16-bit PNG, value = metres * 1000
    ROOT/training/<scene>/poses.txt        T_world_cam per frame, 3x4 row-major (KITTI style)
    ROOT/training/train.txt, val.txt       scene names
    ROOT/testing/color/<scene>_000000.jpg, testing/depth/<scene>_000000.png (mm),
    ROOT/testing/seg_mask/<scene>_000000.png + testing/dynamic_colors.txt
    ROOT/synthetic.json                    configs, depth scale, conventions

Depth scale: /1000 (millimetres), the SC-Depth `tum`/`bonn` convention - train and evaluate
with dataset_name tum or bonn, NOT nyu (whose PNGs are /5000). Depth beyond 65.535 m and
pixels without a hit are stored as 0 (invalid).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ..sequence import SequenceConfig, SequenceStream, SyntheticSequence, configs_of
from .images import write_depth_png, write_rgb
from .summary import WriteSummary, require_new_dir

DEPTH_PNG_SCALE = 1000.0  # PNG value per metre


def dynamic_colour(object_id: int) -> tuple[int, int, int]:
    """Distinct, deterministic RGB for moving object k >= 1 (never black: black = static)."""
    rng = np.random.default_rng([7, int(object_id)])
    return tuple(int(c) for c in rng.integers(64, 256, 3))


def scene_name(seq: SyntheticSequence | SequenceConfig) -> str:
    cfg = seq if isinstance(seq, SequenceConfig) else seq.config
    return f'{cfg.scene}_{cfg.trajectory}_s{cfg.seed:04d}'


def as_sequences(sequences) -> tuple[object, list[SequenceConfig]]:
    """(iterable of sequences, their resolved configs) without building a lazy stream."""
    if isinstance(sequences, SyntheticSequence):
        sequences = [sequences]
    elif not isinstance(sequences, SequenceStream):
        sequences = list(sequences)
    return sequences, configs_of(sequences)


def _seg_mask(object_id: np.ndarray, count: int) -> np.ndarray:
    mask = np.zeros(object_id.shape + (3,), np.uint8)
    for k in range(1, count + 1):
        mask[object_id == k] = dynamic_colour(k)
    return mask


def write_sc_depth(sequences: SyntheticSequence | Sequence[SyntheticSequence] | SequenceStream,
                   root: str | Path, val_count: int | None = None, progress: bool = True) -> WriteSummary:
    """Write sequences as one SC-Depth dataset. The last `val_count` sequences (default: 20%,
    at least one) are validation scenes and also fill `testing/`; with a single sequence it is
    listed in both train.txt and val.txt. A SequenceStream is written one sequence at a time
    (each scene built, written and released before the next)."""
    seqs, configs = as_sequences(sequences)
    if not configs:
        raise ValueError('no sequences to write')
    started = time.perf_counter()
    names = [scene_name(c) for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f'scene names collide: {names} (use distinct seeds)')
    root = require_new_dir(Path(root))
    n_val = val_count if val_count is not None else max(1, round(0.2 * len(seqs)))
    val = names[-n_val:] if n_val else []
    train = names[:-n_val] if 0 < n_val < len(names) else names
    training, testing = root / 'training', root / 'testing'
    for sub in ('color', 'depth', 'seg_mask'):
        (testing / sub).mkdir(parents=True)
    dyn_colours: set[tuple[int, int, int]] = set()
    total = sum(c.frames for c in configs)
    bar = tqdm(total=total, desc='sc-depth', unit='frame', disable=not progress)
    # A plain loop with an index: zip/enumerate keep their last tuple (and so the previous
    # sequence) alive while the stream builds the next one.
    index = 0
    for seq in seqs:
        name = names[index]
        index += 1
        scene_dir = training / name
        (scene_dir / 'depth').mkdir(parents=True)
        np.savetxt(scene_dir / 'cam.txt', seq.K, fmt='%.8f')
        np.savetxt(scene_dir / 'poses.txt', seq.T_world_cam[:, :3, :].reshape(len(seq), 12), fmt='%.9f')
        is_test = name in val
        n_moving = len(seq.scene.moving)
        dyn_colours.update(dynamic_colour(k) for k in range(1, n_moving + 1))
        for i, frame in enumerate(seq):
            write_rgb(scene_dir / f'{i:06d}.jpg', frame.rgb)
            write_depth_png(scene_dir / 'depth' / f'{i:06d}.png', frame.depth_m, DEPTH_PNG_SCALE)
            if is_test:
                write_rgb(testing / 'color' / f'{name}_{i:06d}.jpg', frame.rgb)
                write_depth_png(testing / 'depth' / f'{name}_{i:06d}.png', frame.depth_m, DEPTH_PNG_SCALE)
                cv2.imwrite(str(testing / 'seg_mask' / f'{name}_{i:06d}.png'),
                            _seg_mask(frame.object_id, n_moving)[..., ::-1])
            bar.update(1)
        del seq, frame   # release this scene before the stream builds the next one
    bar.close()
    (training / 'train.txt').write_text(''.join(f'{n}\n' for n in train))
    (training / 'val.txt').write_text(''.join(f'{n}\n' for n in val))
    (testing / 'dynamic_colors.txt').write_text(''.join(f'{r} {g} {b}\n' for r, g, b in sorted(dyn_colours)))
    info = {
        'generator': 'depth_perception.synthetic',
        'depth_png_scale': DEPTH_PNG_SCALE,
        'depth_png_note': 'metres = png / 1000 (SC-Depth tum/bonn convention, not nyu /5000); 0 = invalid',
        'depth_convention': 'z along the optical axis, metres',
        'pose_convention': 'poses.txt: T_world_cam (camera-to-world), optical frame x right y down z forward, 3x4 row-major',
        'intrinsics_convention': 'pixel (u, v) is the centre of column u, row v',
        'seg_mask': 'RGB; black = static, colours in testing/dynamic_colors.txt = moving objects',
        'scenes': {n: c.as_dict() for n, c in zip(names, configs)},
    }
    (root / 'synthetic.json').write_text(json.dumps(info, indent=2, sort_keys=True) + '\n')
    return WriteSummary.of('sc-depth', root, total, started)
