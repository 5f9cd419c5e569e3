"""Training and validation datasets over the SC-Depth layout.

Training samples are (target, references) snippets: `sequence_length` frames centred on the
target, `skip_frames` apart (shifts +-skip, +-2 skip, ...). Items are addressed by
`(sample_index, augmentation_seed)` keys from `StepBatchSampler`, so the augmentation of a
sample depends only on that seed, never on global RNG state.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import layout
from .augment import augment_train, resize

NORM_MEAN = 0.45
NORM_STD = 0.225


def to_normalised_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8/float RGB [H,W,3] in 0..255 -> (x/255 - 0.45)/0.225 as [3,H,W] float32."""
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
    return (x / 255.0 - NORM_MEAN) / NORM_STD


@dataclass(frozen=True)
class Snippet:
    scene: Path
    target: Path
    references: tuple[Path, ...]


def build_snippets(scenes: list[Path], sequence_length: int, skip_frames: int,
                   use_frame_index: bool) -> tuple[list[Snippet], dict[Path, np.ndarray]]:
    half = (sequence_length - 1) // 2
    shifts = [s * skip_frames for s in range(-half, half + 1) if s != 0]
    snippets, intrinsics = [], {}
    for scene in scenes:
        frames = layout.list_frames(scene)
        if use_frame_index:
            frames = [frames[i] for i in layout.read_frame_index(scene)]
        intrinsics[scene] = layout.read_intrinsics(scene)
        reach = half * skip_frames
        for i in range(reach, len(frames) - reach):
            snippets.append(Snippet(scene, frames[i], tuple(frames[i + s] for s in shifts)))
    return snippets, intrinsics


class SequenceDataset(Dataset):
    """Snippets for training (augmented) or photometric validation (resized only)."""

    def __init__(self, scenes: list[Path], sequence_length: int, skip_frames: int, size_hw: tuple[int, int],
                 use_frame_index: bool = False, augment: bool = True, with_pseudo_depth: bool = False):
        self.snippets, self.intrinsics = build_snippets(scenes, sequence_length, skip_frames, use_frame_index)
        if not self.snippets:
            raise ValueError(f'no training snippets: scenes {[s.name for s in scenes][:3]} are shorter '
                             f'than sequence_length={sequence_length} with skip_frames={skip_frames}')
        self.size_hw = tuple(size_hw)
        self.augment = augment
        self.with_pseudo_depth = with_pseudo_depth

    def __len__(self) -> int:
        return len(self.snippets)

    def __getitem__(self, key):
        index, seed = key if isinstance(key, tuple) else (key, None)
        snip = self.snippets[index]
        arrays = [layout.read_rgb(snip.target)] + [layout.read_rgb(p) for p in snip.references]
        if self.with_pseudo_depth:
            path = layout.find_companion(snip.scene / 'leres_depth', snip.target.stem, ('.png',))
            if path is None:
                raise FileNotFoundError(f'{snip.scene}/leres_depth/{snip.target.stem}.png missing (V3 needs pseudo-depth)')
            arrays.append(layout.read_pseudo_depth(path))
        K = self.intrinsics[snip.scene]
        if self.augment:
            rng = np.random.default_rng(seed)
            arrays, K = augment_train(arrays, K, self.size_hw, rng)
        else:
            arrays, K = resize(arrays, K, self.size_hw)
        n_img = 1 + len(snip.references)
        item = {'tgt': to_normalised_tensor(arrays[0]),
                'refs': torch.stack([to_normalised_tensor(a) for a in arrays[1:n_img]]),
                'K': torch.from_numpy(np.asarray(K, dtype=np.float32))}
        if self.with_pseudo_depth:
            item['pseudo_depth'] = torch.from_numpy(np.ascontiguousarray(arrays[n_img], dtype=np.float32))[None]
        return item


class DepthValidationDataset(Dataset):
    """Validation frames with GT depth under `<scene>/depth/` (metres after png scaling)."""

    def __init__(self, scenes: list[Path], size_hw: tuple[int, int], png_scale: float):
        self.items = []
        for scene in scenes:
            depth_dir = scene / 'depth'
            for frame in layout.list_frames(scene):
                gt = layout.find_companion(depth_dir, frame.stem)
                if gt is not None:
                    self.items.append((frame, gt))
        if not self.items:
            raise FileNotFoundError(f'no validation depth found under <scene>/depth/ of {[s.name for s in scenes][:3]} '
                                    '(use val_mode=photo for datasets without depth)')
        self.size_hw = tuple(size_hw)
        self.png_scale = png_scale

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        frame, gt_path = self.items[index]
        (rgb,), _ = resize([layout.read_rgb(frame)], np.eye(3), self.size_hw)
        gt = layout.read_depth_m(gt_path, self.png_scale)
        return {'tgt': to_normalised_tensor(rgb), 'gt_depth_m': torch.from_numpy(gt)}
