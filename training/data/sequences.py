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
                 use_frame_index: bool = False, augment: bool = True, with_pseudo_depth: bool = False,
                 with_supervision: bool = False, png_depth_scale: float = 1000.0):
        self.snippets, self.intrinsics = build_snippets(scenes, sequence_length, skip_frames, use_frame_index)
        # Supervised warm start (training/losses/supervised.py): target GT depth and the exact
        # relative poses T_ref_tgt from <scene>/poses.txt (T_world_cam per frame, 3x4 row-major).
        self.with_supervision = with_supervision
        self.png_depth_scale = png_depth_scale
        self.T_world_cam: dict[Path, dict[Path, np.ndarray]] = {}
        if with_supervision:
            for scene in scenes:
                self.T_world_cam[scene] = read_scene_poses(scene)
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
        if self.with_supervision:
            gt_path = layout.find_companion(snip.scene / 'depth', snip.target.stem)
            if gt_path is None:
                raise FileNotFoundError(f'{snip.scene}/depth/{snip.target.stem}.png missing (depth supervision needs it)')
            gt = np.nan_to_num(layout.read_depth_m(gt_path, self.png_depth_scale).astype(np.float32), nan=0.0)
            h, w = gt.shape
            # Column ramp: tells after augmentation whether the sample was mirrored (poses must follow).
            arrays += [gt, np.tile(np.arange(w, dtype=np.float32), (h, 1))]
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
        if self.with_supervision:
            gt, ramp = arrays[-2], arrays[-1]
            mirrored = ramp[:, -1].mean() < ramp[:, 0].mean()
            poses = self.T_world_cam[snip.scene]
            T_w_tgt = poses[snip.target]
            T = np.stack([np.linalg.inv(poses[r]) @ T_w_tgt for r in snip.references])   # T_ref_tgt
            if mirrored:   # image x -> -x is the camera-frame reflection F = diag(-1,1,1): T -> F T F
                F = np.diag([-1.0, 1.0, 1.0, 1.0])
                T = F @ T @ F
            item['gt_depth_m'] = torch.from_numpy(np.ascontiguousarray(gt, dtype=np.float32))[None]
            item['gt_T_ref_tgt'] = torch.from_numpy(T.astype(np.float32))
        return item


def read_scene_poses(scene: Path) -> dict[Path, np.ndarray]:
    """{frame path: 4x4 T_world_cam} from <scene>/poses.txt (one 3x4 row-major line per frame, in
    frame order). Raises naming the file when it is missing or its line count does not match."""
    path = scene / 'poses.txt'
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found (pose supervision needs T_world_cam per frame)')
    rows = np.loadtxt(path, ndmin=2)
    frames = layout.list_frames(scene)
    if rows.shape != (len(frames), 12):
        raise ValueError(f'{path}: expected {len(frames)} lines of 12 numbers (one per frame), got shape {rows.shape}')
    T = np.tile(np.eye(4), (len(frames), 1, 1))
    T[:, :3, :] = rows.reshape(-1, 3, 4)
    return dict(zip(frames, T))


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
