"""Merge-training pairs as tensors: x [2,S,S] (outer, inner), y [1,S,S], each in [-1, 1].

Every map is min-max normalised to [0, 1] on its own and mapped to [-1, 1], as Boosting
normalises the merge net's inputs (a flat map becomes all -1, never NaN). Pairs stored at
another size are resized (bicubic inputs, area target) to the configured square.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset


def to_signed_unit(a: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1], then to [-1, 1] (float32); a flat map gives -1 everywhere."""
    a = np.asarray(a, np.float32)
    lo, hi = float(a.min()), float(a.max())
    unit = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return unit * 2 - 1


def list_pairs(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder}: no such pair folder (write one with '
                                '`python -m depth_perception_training.boost.pairs --out DIR`)')
    files = sorted(folder.glob('pair_*.npz'))
    if not files:
        raise ValueError(f'{folder}: no pair_*.npz files')
    return files


def split_pairs(files: list[Path], val_fraction: float) -> tuple[list[Path], list[Path]]:
    """The last val_fraction of the pairs (by name; at least one if any) are held out."""
    n_val = int(round(len(files) * val_fraction))
    if val_fraction > 0 and len(files) > 1:
        n_val = max(n_val, 1)
    return files[:len(files) - n_val], files[len(files) - n_val:]


class MergePairs(Dataset):
    def __init__(self, files: list[Path], size_px: int, flip: bool = False, seed: int = 0):
        self.files, self.size_px, self.flip = list(files), int(size_px), flip
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.files)

    def _load(self, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        try:
            with np.load(path) as d:
                maps = [np.asarray(d[k], np.float32) for k in ('outer', 'inner', 'target')]
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f'{path}: not a merge pair (needs outer, inner, target): {exc}') from None
        if any(m.ndim != 2 for m in maps) or len({m.shape for m in maps}) != 1:
            raise ValueError(f'{path}: outer, inner and target must be 2-D maps of one shape')
        if not all(np.isfinite(m).all() for m in maps):
            raise ValueError(f'{path}: non-finite values in a pair')
        s = (self.size_px, self.size_px)
        if maps[0].shape != s[::-1]:
            maps = [cv2.resize(maps[0], s, interpolation=cv2.INTER_CUBIC),
                    cv2.resize(maps[1], s, interpolation=cv2.INTER_CUBIC),
                    cv2.resize(maps[2], s, interpolation=cv2.INTER_AREA)]
        return maps[0], maps[1], maps[2]

    def __getitem__(self, i: int):
        outer, inner, target = (to_signed_unit(m) for m in self._load(self.files[i]))
        x = np.stack([outer, inner])
        y = target[None]
        if self.flip and self.rng.random() < 0.5:
            x, y = x[:, :, ::-1], y[:, :, ::-1]
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
