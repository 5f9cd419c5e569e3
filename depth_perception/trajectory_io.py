"""TUM trajectory files: `timestamp tx ty tz qx qy qz qw` per line (seconds, metres)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .geometry import make_T, matrix_from_quaternion_xyzw, quaternion_xyzw_from_matrix


def write_tum(path: str | Path, stamps_ns, T_world_cam) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        f.write('# timestamp tx ty tz qx qy qz qw\n')
        for stamp_ns, T in zip(stamps_ns, T_world_cam):
            q = quaternion_xyzw_from_matrix(T[:3, :3])
            t = T[:3, 3]
            f.write(f'{stamp_ns // 10**9}.{stamp_ns % 10**9:09d} {t[0]:.9f} {t[1]:.9f} {t[2]:.9f} '
                    f'{q[0]:.9f} {q[1]:.9f} {q[2]:.9f} {q[3]:.9f}\n')
    return path


def read_tum(path: str | Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """-> (stamps in seconds, 4x4 poses)."""
    stamps, poses = [], []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        v = line.split()
        if len(v) != 8:
            raise ValueError(f'{path}:{n}: expected 8 values, found {len(v)}')
        v = [float(x) for x in v]
        stamps.append(v[0])
        poses.append(make_T(matrix_from_quaternion_xyzw(v[4:]), v[1:4]))
    return np.array(stamps), poses
