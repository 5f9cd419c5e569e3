"""Per-frame products of a run for people to open: depth maps, PLY clouds, TUM trajectories."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..pointcloud import depth_to_cloud, write_ply
from ..trajectory_io import write_tum
from ..visualization import colorize_depth


def save_depth_npy(out_dir: Path, stamp_ns: int, depth_m: np.ndarray) -> Path:
    """OUT/depth/<19-digit stamp ns>.npy: float32 metres at the prediction's resolution, NaN invalid."""
    d = Path(out_dir) / 'depth'
    d.mkdir(parents=True, exist_ok=True)
    path = d / f'{int(stamp_ns):019d}.npy'
    np.save(path, np.asarray(depth_m, dtype=np.float32))
    return path


class SequenceExporter:
    """Writes OUT/depth/<stamp>.npy (float32 metres, NaN invalid) and .png (colour map),
    OUT/clouds/<stamp>.ply every `ply_every` frames, and OUT/trajectory.tum (+ the ground
    truth as OUT/groundtruth.tum when known; compare with `evo_ape tum groundtruth.tum
    trajectory.tum -as`)."""

    def __init__(self, out_dir: Path, ply_every: int = 5, cloud_stride: int = 2,
                 display_dir: Path | None = None):
        self.out_dir = Path(out_dir)
        self.display_dir = Path(display_dir or out_dir)    # where the files will be once published
        self.ply_every = max(1, ply_every)
        self.cloud_stride = max(1, cloud_stride)
        for sub in ('depth', 'clouds'):
            (self.out_dir / sub).mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._est: list[tuple[int, np.ndarray]] = []
        self.n_points = 0

    def add(self, stamp_ns: int, rgb: np.ndarray, depth_m: np.ndarray, K: np.ndarray,
            T_world_cam: np.ndarray | None) -> None:
        name = f'{stamp_ns:019d}'
        save_depth_npy(self.out_dir, stamp_ns, depth_m)
        cv2.imwrite(str(self.out_dir / 'depth' / f'{name}.png'), colorize_depth(depth_m)[..., ::-1])
        if self._count % self.ply_every == 0:
            pts, cols = depth_to_cloud(depth_m, K, rgb, organized=False, stride=self.cloud_stride)
            self.n_points += write_ply(self.out_dir / 'clouds' / f'{name}.ply', pts, cols)
        if T_world_cam is not None:
            self._est.append((stamp_ns, T_world_cam))
        self._count += 1

    def close(self, gt_stamps_ns=(), gt_T_world_cam=()) -> dict:
        shown = self.display_dir
        out = {'frames': self._count, 'depth_dir': str(shown / 'depth'),
               'clouds_dir': str(shown / 'clouds'), 'cloud_points': self.n_points}
        if self._est:
            write_tum(self.out_dir / 'trajectory.tum', [s for s, _ in self._est], [T for _, T in self._est])
            out['trajectory_tum'] = str(shown / 'trajectory.tum')
        if len(gt_stamps_ns):
            write_tum(self.out_dir / 'groundtruth.tum', gt_stamps_ns, gt_T_world_cam)
            out['groundtruth_tum'] = str(shown / 'groundtruth.tum')
        return out
