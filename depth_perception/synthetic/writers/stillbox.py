"""DepthNet's Still Box layout.

    ROOT/metadata.json = {"scenes": [{"imgs": [...], "depth": [...], "speed": [vx, vy, vz],
                                      "time_step": dt, ...}, ...]}
    ROOT/<scene>/0000.jpg, ROOT/<scene>/0000.npy (float32 depth, metres)

Paths in metadata.json are relative to ROOT. `speed` is the camera velocity in the camera
optical frame (m/s, constant for uav trajectories), `time_step` the frame period (s), so the
displacement between frames i and j is |speed| * time_step * |j - i|, as DepthNet assumes.
Still Box images are square with a 90 deg field of view (focal = W/2) at 64/128/256/512 px.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from ..sequence import SequenceConfig, SequenceStream, SyntheticSequence
from .images import write_rgb
from .sc_depth import as_sequences
from .summary import WriteSummary, require_new_dir

STILLBOX_SIZES = (64, 128, 256, 512)


def _check(c: SequenceConfig, strict: bool) -> None:
    if c.width != c.height or abs(c.hfov_deg - 90.0) > 1e-6:
        raise ValueError(f'Still Box needs square images with a 90 deg FOV, got {c.width}x{c.height} '
                         f'at {c.hfov_deg} deg')
    if strict and c.width not in STILLBOX_SIZES:
        raise ValueError(f'Still Box sizes are {STILLBOX_SIZES} px, got {c.width}')


def write_stillbox(sequences: SyntheticSequence | Sequence[SyntheticSequence] | SequenceStream,
                   root: str | Path, progress: bool = True, strict_size: bool = True) -> WriteSummary:
    """Write sequences in the Still Box layout (a SequenceStream one sequence at a time)."""
    seqs, configs = as_sequences(sequences)
    if not configs:
        raise ValueError('no sequences to write')
    for c in configs:
        _check(c, strict_size)
    started = time.perf_counter()
    root = require_new_dir(Path(root))
    scenes = []
    total = sum(c.frames for c in configs)
    bar = tqdm(total=total, desc='stillbox', unit='frame', disable=not progress)
    index = -1
    for seq in seqs:   # not enumerate: it would keep the previous sequence alive (see sc_depth)
        index += 1
        folder = f'{index:04d}'
        (root / folder).mkdir()
        imgs, depths = [], []
        for i, frame in enumerate(seq):
            write_rgb(root / folder / f'{i:04d}.jpg', frame.rgb)
            np.save(root / folder / f'{i:04d}.npy', frame.depth_m.astype(np.float32))
            imgs.append(f'{folder}/{i:04d}.jpg')
            depths.append(f'{folder}/{i:04d}.npy')
            bar.update(1)
        T = seq.T_world_cam
        dt = 1.0 / seq.config.fps
        if len(seq) > 1:  # mean velocity over the sequence, in the (fixed) camera frame
            v_world = (T[-1, :3, 3] - T[0, :3, 3]) / (dt * (len(seq) - 1))
        else:
            v_world = np.zeros(3)
        speed_cam = T[0, :3, :3].T @ v_world
        scenes.append({'imgs': imgs, 'depth': depths, 'speed': [float(x) for x in speed_cam],
                       'time_step': dt, 'seed': seq.config.seed, 'scene': seq.config.scene,
                       'trajectory': seq.config.trajectory, 'K': seq.K.tolist()})
        del seq, frame   # release this scene before the stream builds the next one
    bar.close()
    (root / 'metadata.json').write_text(json.dumps({'scenes': scenes}, indent=1) + '\n')
    return WriteSummary.of('stillbox', root, total, started)
