"""The SC-Depth dataset layout (reference-systems.md §1.7).

    DATASET/training/train.txt, val.txt     scene names, one per line
    DATASET/training/<scene>/*.jpg           frames (sorted by name = time order)
    DATASET/training/<scene>/cam.txt         3x3 K of the stored frames
    DATASET/training/<scene>/frame_index.txt optional: indices of the frames to use
    DATASET/training/<scene>/depth/          validation GT (png, npy or npz), same stems
    DATASET/training/<scene>/leres_depth/    V3 pseudo-depth png, same stems
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png')


def training_root(dataset_dir: str | Path) -> Path:
    root = Path(dataset_dir)
    if (root / 'training').is_dir():
        root = root / 'training'
    if not root.is_dir():
        raise FileNotFoundError(f'dataset folder {root} not found')
    return root


def read_scene_list(root: Path, split: str) -> list[Path]:
    """Scenes named in `<root>/<split>.txt` ('train' or 'val')."""
    listing = root / f'{split}.txt'
    if not listing.is_file():
        raise FileNotFoundError(f'{listing} not found (the SC-Depth layout lists scenes there)')
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    scenes = [root / n for n in names]
    missing = [str(s) for s in scenes if not s.is_dir()]
    if missing:
        raise FileNotFoundError(f'{listing}: scene folders missing: {missing[:3]}')
    return scenes


def list_frames(scene: Path) -> list[Path]:
    frames = sorted(p for p in scene.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not frames:
        raise FileNotFoundError(f'{scene}: no images')
    return frames


def read_intrinsics(scene: Path) -> np.ndarray:
    path = scene / 'cam.txt'
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found')
    K = np.loadtxt(path, dtype=np.float64).reshape(3, 3)
    return K


def read_frame_index(scene: Path) -> list[int]:
    path = scene / 'frame_index.txt'
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found (use_frame_index is set; run '
                                'depth_perception_training.data.frame_index to create it)')
    return [int(v) for v in path.read_text().split()]


def read_rgb(path: Path) -> np.ndarray:
    """uint8 RGB [H,W,3] (the reference reads with imageio, i.e. RGB order)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f'cannot read image {path}')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def find_companion(folder: Path, stem: str, suffixes=('.png', '.npy', '.npz')) -> Path | None:
    for s in suffixes:
        p = folder / (stem + s)
        if p.is_file():
            return p
    return None


def read_depth_m(path: Path, png_scale: float) -> np.ndarray:
    """Depth in metres [H,W] float32 from png (value / png_scale), npy (metres) or npz (sparse or dense)."""
    if path.suffix == '.png':
        raw = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH)
        if raw is None:
            raise OSError(f'cannot read depth {path}')
        return raw.astype(np.float32) / png_scale
    if path.suffix == '.npy':
        return np.load(path).astype(np.float32)
    if path.suffix == '.npz':
        with np.load(path) as z:
            if 'data' in z and 'shape' in z and ('indices' in z or 'row' in z):
                # scipy sparse matrix saved with save_npz (DDAD): rebuild without scipy.
                return _dense_from_sparse_npz(z)
            return z[z.files[0]].astype(np.float32)
    raise ValueError(f'unsupported depth file {path}')


def _dense_from_sparse_npz(z) -> np.ndarray:
    shape = tuple(int(v) for v in z['shape'])
    out = np.zeros(shape, np.float32)
    fmt = bytes(z['format']).decode() if 'format' in z else 'csr'
    if fmt == 'coo':
        out[z['row'], z['col']] = z['data']
        return out
    indptr, indices, data = z['indptr'], z['indices'], z['data']
    for r in range(len(indptr) - 1):
        sl = slice(indptr[r], indptr[r + 1])
        if fmt == 'csr':
            out[r, indices[sl]] = data[sl]
        else:  # csc: indptr runs over columns
            out[indices[sl], r] = data[sl]
    return out


def read_pseudo_depth(path: Path) -> np.ndarray:
    """LeReS pseudo-depth png as float with no scale (only ratios and normals are used)."""
    raw = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH)
    if raw is None:
        raise OSError(f'cannot read pseudo-depth {path}')
    return raw.astype(np.float32)
