"""Still Box scenes -> DepthNet training and validation pairs (the one Still Box reader).

Layout: ROOT/metadata.json, or ROOT/<sub>/metadata.json for each subfolder (the reference's
layout), each `{"scenes": [{"imgs": [...], "depth": [...], "speed": [vx, vy, vz],
"time_step": dt}, ...]}` with paths relative to the folder of that metadata.json; depth files
are float .npy in metres (NaN = nothing hit: taken as the far limit).

Training pairs (reference recipe, reference-systems.md §2): a random gap g in [0, 2*shift]
and a random swap of the two frames; the target is the depth of the second frame times
d_nominal / |d| (the depth the network must report at the nominal displacement), 100 m when
g = 0 (no parallax), clipped to [0, 100]. On Still Box, where the camera moves d_nominal in
`shift` frames, that is the reference's depth x shift/g; scenes flown at other speeds (an
indoor room at a walking pace) are scaled by their own displacement. Random horizontal/
vertical flips flip the sign of the displacement's x/y. Validation pairs are (i, i + shift)
with the same scaling. Scenes are split, not frames, and no scene is lost (the reference
skips the first validation scene by an off-by-one).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from depth_perception.geometry import intrinsics_from_fov

NORM_MEAN, NORM_STD = 0.5, 0.2
NOMINAL_DISPLACEMENT_M = 0.3     # Still Box: 0.1 m a frame, shift 3
STILLBOX_HFOV_DEG = 90.0         # a metadata.json may say otherwise ("hfov_deg"), e.g. after crop.py


@dataclass
class StillBoxScene:
    name: str
    imgs: list[Path]
    depths: list[Path]
    speed_mps: np.ndarray        # camera velocity in its optical frame
    time_step_s: float
    hfov_deg: float = STILLBOX_HFOV_DEG

    def __len__(self) -> int:
        return len(self.imgs)

    def target_scale(self, gap: int, nominal_displacement_m: float) -> float:
        """Depth -> network target for frames `gap` apart (0 when they do not move apart)."""
        d = float(np.linalg.norm(self.speed_mps)) * self.time_step_s * abs(gap)
        return nominal_displacement_m / d if d > 0 else 0.0


def metadata_files(root: Path) -> list[Path]:
    if (root / 'metadata.json').is_file():
        return [root / 'metadata.json']
    files = sorted(p / 'metadata.json' for p in root.iterdir() if (p / 'metadata.json').is_file()) \
        if root.is_dir() else []
    if not files:
        raise FileNotFoundError(f'{root}: no Still Box metadata.json (in the folder or its subfolders)')
    return files


def read_stillbox(root: str | Path) -> list[StillBoxScene]:
    root = Path(root)
    scenes = []
    for meta in metadata_files(root):
        try:
            data = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f'{meta}: not readable JSON ({exc})') from None
        if not isinstance(data, dict) or not isinstance(data.get('scenes'), list):
            raise ValueError(f'{meta}: expected {{"scenes": [...]}}')
        hfov = metadata_hfov_deg(data, meta)
        for n, s in enumerate(data['scenes']):
            where = f'{meta} scene {n}'
            try:
                imgs, depths = list(s['imgs']), list(s['depth'])
                speed = np.asarray(s['speed'], np.float64)
                dt = float(s['time_step'])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f'{where}: missing or malformed field ({exc})') from None
            if len(imgs) != len(depths) or len(imgs) < 2:
                raise ValueError(f'{where}: needs >= 2 images and one depth file per image')
            if speed.shape != (3,) or not np.all(np.isfinite(speed)) or not dt > 0:
                raise ValueError(f'{where}: speed must be 3 finite numbers and time_step > 0')
            base = meta.parent
            scenes.append(StillBoxScene(f'{meta.parent.name}/{n}', [base / p for p in imgs],
                                        [base / p for p in depths], speed, dt, hfov))
    return scenes


def metadata_hfov_deg(data: dict, where: Path) -> float:
    """A metadata.json's field of view: "hfov_deg", or Still Box's 90 deg without one."""
    hfov = data.get('hfov_deg', STILLBOX_HFOV_DEG)
    if not isinstance(hfov, (int, float)) or not 0 < hfov < 180:
        raise ValueError(f'{where}: hfov_deg must be a number in (0, 180), got {hfov!r}')
    return float(hfov)


def square_focal_px(size_px: int, hfov_deg: float) -> float:
    return float(intrinsics_from_fov(size_px, size_px, hfov_deg)[0, 0])


def training_focal_px(scenes: list[StillBoxScene], img_size: int) -> float:
    """The focal length (px) the network learns at: square images resized to img_size. One field
    of view for all scenes: a network learns depth from flow at one focal length."""
    fovs = sorted({s.hfov_deg for s in scenes})
    if len(fovs) != 1:
        raise ValueError(f'scenes with different fields of view ({", ".join(f"{f:g}" for f in fovs)} deg): '
                         'DepthNet learns at one focal length; crop them to one (crop.py)')
    return round(square_focal_px(img_size, fovs[0]), 6)   # tan(45 deg) is 1 - 1e-16


def split_scenes(scenes: list, train_fraction: float, seed: int) -> tuple[list, list]:
    """Shuffle scenes (seeded) and split them; both sides non-empty when there are >= 2."""
    order = np.random.default_rng(seed).permutation(len(scenes))
    n_train = math.floor(len(scenes) * train_fraction)
    if len(scenes) >= 2:
        n_train = min(max(n_train, 1), len(scenes) - 1)
    return [scenes[i] for i in order[:n_train]], [scenes[i] for i in order[n_train:]]


def load_image(path: Path, size: int) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if raw is None:
        raise ValueError(f'{path}: not a readable image')
    rgb = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    if rgb.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (size, size), interpolation=interp)
    return rgb


def load_depth(path: Path, max_depth_m: float) -> np.ndarray:
    try:
        depth = np.load(path, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable depth .npy ({exc})') from None
    if depth.ndim != 2:
        raise ValueError(f'{path}: depth must be HxW, got shape {depth.shape}')
    return np.nan_to_num(depth, nan=max_depth_m, posinf=max_depth_m)


def to_input(earlier: np.ndarray, later: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.concatenate([earlier, later], 2).copy()).permute(2, 0, 1).float()
    return (x / 255.0 - NORM_MEAN) / NORM_STD


class StillBoxTrainPairs(Dataset):
    """One item per frame of every training scene (its anchor); gap, swap and flips random."""

    def __init__(self, scenes: list[StillBoxScene], img_size: int, shift: int, max_depth_m: float = 100.0,
                 flips: bool = True, nominal_displacement_m: float = NOMINAL_DISPLACEMENT_M):
        self.scenes, self.size, self.shift, self.max_depth, self.flips = scenes, img_size, shift, max_depth_m, flips
        self.nominal = nominal_displacement_m
        self.index = [(s, i) for s, scene in enumerate(scenes) for i in range(len(scene))]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx):
        s, i = self.index[idx]
        scene = self.scenes[s]
        n = len(scene)
        gap = int(torch.randint(0, min(2 * self.shift, n - 1) + 1, ()).item())
        i = min(i, n - 1 - gap)
        a, b = i, i + gap
        if torch.rand(()) < 0.5:
            a, b = b, a
        target = load_depth(scene.depths[b], self.max_depth)
        scale = scene.target_scale(gap, self.nominal)
        target = target * scale if scale > 0 else np.full_like(target, self.max_depth)
        target = np.clip(target, 0.0, self.max_depth)
        earlier, later = load_image(scene.imgs[a], self.size), load_image(scene.imgs[b], self.size)
        displacement = (scene.speed_mps * scene.time_step_s * (b - a)).astype(np.float32)
        if self.flips and torch.rand(()) < 0.5:       # left-right: x flips
            earlier, later, target = earlier[:, ::-1], later[:, ::-1], target[:, ::-1]
            displacement[0] = -displacement[0]
        if self.flips and torch.rand(()) < 0.5:       # up-down: y flips
            earlier, later, target = earlier[::-1], later[::-1], target[::-1]
            displacement[1] = -displacement[1]
        return to_input(earlier, later), torch.from_numpy(target.copy()), torch.from_numpy(displacement)


class StillBoxValPairs(Dataset):
    """Pairs (i, i + shift) of the validation scenes, target = depth of frame i + shift."""

    def __init__(self, scenes: list[StillBoxScene], img_size: int, shift: int, max_depth_m: float = 100.0,
                 nominal_displacement_m: float = NOMINAL_DISPLACEMENT_M):
        self.scenes, self.size, self.max_depth = scenes, img_size, max_depth_m
        self.nominal = nominal_displacement_m
        self.index = [(s, i, i + shift) for s, scene in enumerate(scenes) for i in range(len(scene) - shift)]
        self.shift = shift

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx):
        s, a, b = self.index[idx]
        scene = self.scenes[s]
        scale = scene.target_scale(b - a, self.nominal)
        depth = load_depth(scene.depths[b], self.max_depth)
        target = np.clip(depth * scale if scale > 0 else np.full_like(depth, self.max_depth), 0.0, self.max_depth)
        x = to_input(load_image(scene.imgs[a], self.size), load_image(scene.imgs[b], self.size))
        displacement = (scene.speed_mps * scene.time_step_s * self.shift).astype(np.float32)
        return x, torch.from_numpy(target), torch.from_numpy(displacement)
