"""Readers for the real third-party fixtures (shared/fixtures, see its FIXTURES-REPORT.md).

Each reader returns a list of `FixtureFrame`: RGB uint8, ground-truth depth in metres
(NaN = no measurement), K of that image and, where the fixture has poses, T_world_cam
(camera-to-world, optical frame). The unit conversions are the fixtures' documented ones:
7-Scenes uint16 mm (65535 invalid), TUM /5000, slambook NYU-style PGM /1000, Open3D NYU raw
Kinect disparity (byte-swapped) 351.3 / (1092.5 - raw), SUN RGB-D bit-rotated mm, KITTI
depth = bf / disparity (ORB-SLAM2 KITTI00-02.yaml), DGP LiDAR metres projected into the
camera with the per-datum world poses (which absorb the LiDAR-camera time offset).
"""
from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass
class FixtureFrame:
    name: str
    rgb: np.ndarray                      # [H,W,3] uint8 RGB
    depth_m: np.ndarray                  # [H,W] float32 metres, NaN invalid
    K: np.ndarray                        # 3x3
    T_world_cam: np.ndarray | None = None


class FixtureError(ValueError):
    pass


def _read(path: Path, flags=cv2.IMREAD_UNCHANGED) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise FixtureError(f'{path}: missing or not a readable image')
    return img


def _rgb(path: Path) -> np.ndarray:
    img = _read(path, cv2.IMREAD_COLOR)          # grey images become 3 equal channels
    return np.ascontiguousarray(img[:, :, ::-1])


def _K(fx, fy, cx, cy) -> np.ndarray:
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)


def quat_to_T(q_xyzw, t) -> np.ndarray:
    x, y, z, w = (float(v) for v in q_xyzw)
    n = np.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / n, y / n, z / n, w / n
    T = np.eye(4)
    T[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    T[:3, 3] = [float(v) for v in t]
    return T


def _mm_to_m(raw: np.ndarray, scale: float, invalid=(0,)) -> np.ndarray:
    d = raw.astype(np.float32) / np.float32(scale)
    for v in invalid:
        d[raw == v] = np.nan
    return d


def load_sevenscenes(root: Path) -> list[FixtureFrame]:
    base = root / 'sevenscenes_tsdf50' / 'data'
    K = np.loadtxt(base / 'camera-intrinsics.txt')
    frames = []
    for c in sorted((base / 'rgbd-frames').glob('frame-*.color.png')):
        stem = c.name[:-len('.color.png')]
        raw = _read(c.with_name(stem + '.depth.png'))
        frames.append(FixtureFrame(stem, _rgb(c), _mm_to_m(raw, 1000.0, (0, 65535)), K,
                                   np.loadtxt(c.with_name(stem + '.pose.txt'))))
    if not frames:
        raise FixtureError(f'{base}: no frame-*.color.png')
    return frames


def load_tum_pair(root: Path) -> list[FixtureFrame]:
    d = root / 'slambook2_kitti_tum_nyu' / 'ch7'
    K = _K(520.9, 521.0, 325.1, 249.7)
    return [FixtureFrame(f'tum_fr2_{i}', _rgb(d / f'{i}.png'), _mm_to_m(_read(d / f'{i}_depth.png'), 5000.0), K)
            for i in (1, 2)]


def load_nyu_style(root: Path) -> list[FixtureFrame]:
    d = root / 'slambook2_kitti_tum_nyu' / 'ch5' / 'rgbd'
    K = _K(518.0, 519.0, 325.5, 253.5)
    rows = np.loadtxt(d / 'pose.txt')
    if rows.shape != (5, 7):
        raise FixtureError(f'{d / "pose.txt"}: expected 5 rows of tx ty tz qx qy qz qw, got {rows.shape}')
    return [FixtureFrame(f'nyu_style_{i}', _rgb(d / 'color' / f'{i}.png'),
                         _mm_to_m(_read(d / 'depth' / f'{i}.pgm'), 1000.0), K,
                         quat_to_T(rows[i - 1, 3:7], rows[i - 1, :3])) for i in range(1, 6)]


def kitti_bf_fx(root: Path) -> tuple[float, float]:
    path = root / 'slambook2_kitti_tum_nyu' / 'ORB_SLAM2' / 'Examples' / 'Stereo' / 'KITTI00-02.yaml'
    text = path.read_text()
    vals = {}
    for key in ('fx', 'bf'):
        m = re.search(rf'^Camera\.{key}:\s*([-+0-9.eE]+)', text, re.M)
        if m is None:
            raise FixtureError(f'{path}: no Camera.{key}')
        vals[key] = float(m.group(1))
    return vals['bf'], vals['fx']


def disparity_to_depth_m(disparity_px: np.ndarray, bf_m_px: float) -> np.ndarray:
    """depth = f*B / d; d <= 0 (no match) is invalid (NaN)."""
    d = disparity_px.astype(np.float32)
    with np.errstate(divide='ignore'):
        depth = np.float32(bf_m_px) / d
    depth[d <= 0] = np.nan
    return depth


def load_kitti(root: Path) -> list[FixtureFrame]:
    d = root / 'slambook2_kitti_tum_nyu' / 'ch8'
    bf, fx = kitti_bf_fx(root)
    K = _K(fx, fx, 607.1928, 185.2157)
    return [FixtureFrame('kitti_left', _rgb(d / 'left.png'),
                         disparity_to_depth_m(_read(d / 'disparity.png'), bf), K)]


def load_open3d_formats(root: Path) -> list[FixtureFrame]:
    d = root / 'open3d_rgbd_formats' / 'examples' / 'TestData' / 'RGBD' / 'other_formats'
    K = _K(525.0, 525.0, 319.5, 239.5)
    out = [FixtureFrame('open3d_tum', _rgb(d / 'TUM_color.png'), _mm_to_m(_read(d / 'TUM_depth.png'), 5000.0), K)]
    raw = _read(d / 'NYU_depth.pgm').byteswap().astype(np.float64)
    with np.errstate(divide='ignore'):
        nyu = (351.3 / (1092.5 - raw)).astype(np.float32)
    nyu[(raw <= 0) | (raw >= 1092.5)] = np.nan
    out.append(FixtureFrame('open3d_nyu', _rgb(d / 'NYU_color.ppm'), nyu, K))
    v = _read(d / 'SUN_depth.png').astype(np.uint32)
    sun = (((v >> 3) | (v << 13)) & 0xFFFF).astype(np.uint16)
    out.append(FixtureFrame('open3d_sun', _rgb(d / 'SUN_color.jpg'), _mm_to_m(sun, 1000.0), K))
    return out


def _pose(p: dict) -> np.ndarray:
    r, t = p['rotation'], p['translation']
    return quat_to_T((r['qx'], r['qy'], r['qz'], r['qw']), (t['x'], t['y'], t['z']))


def project_points(points_cam: np.ndarray, K: np.ndarray, hw: tuple[int, int],
                   min_z_m: float = 0.1) -> np.ndarray:
    """Sparse depth image of 3-D points in the optical frame; nearest point wins a pixel."""
    h, w = hw
    p = points_cam[points_cam[:, 2] > min_z_m]
    uvw = p @ K.T
    u = np.floor(uvw[:, 0] / uvw[:, 2]).astype(np.int64)
    v = np.floor(uvw[:, 1] / uvw[:, 2]).astype(np.int64)
    ok = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    u, v, z = u[ok], v[ok], p[ok, 2]
    depth = np.full((h, w), np.nan, dtype=np.float32)
    order = np.argsort(-z)                    # far first, so the nearest is written last
    depth[v[order], u[order]] = z[order]
    return depth


def load_dgp(root: Path) -> list[FixtureFrame]:
    base = root / 'tri_dgp_test_scene' / 'tests' / 'data' / 'dgp' / 'test_scene'
    out = []
    for scene_dir in sorted(p for p in base.glob('scene_*') if p.is_dir()):
        files = glob.glob(str(scene_dir / 'scene_*.json'))
        if len(files) != 1:
            raise FixtureError(f'{scene_dir}: expected one scene_*.json, found {len(files)}')
        scene = json.loads(Path(files[0]).read_text())
        data = {d['key']: d for d in scene['data']}
        for sample in scene['samples']:
            calib = json.loads((scene_dir / 'calibration' / f'{sample["calibration_key"]}.json').read_text())
            intr = dict(zip(calib['names'], calib['intrinsics']))
            datums = [data[k] for k in sample['datum_keys']]
            lidar = [d for d in datums if 'point_cloud' in d['datum']]
            if len(lidar) != 1:
                raise FixtureError(f'{files[0]}: sample {sample["id"]["index"]} has {len(lidar)} point clouds')
            pc = lidar[0]['datum']['point_cloud']
            xyz = np.load(scene_dir / pc['filename'])['data'][:, :3]
            T_world_lidar = _pose(pc['pose'])
            pts_world = xyz @ T_world_lidar[:3, :3].T + T_world_lidar[:3, 3]
            for d in datums:
                if 'image' not in d['datum']:
                    continue
                im = d['datum']['image']
                name = d['id']['name']
                i = intr[name]
                K = np.array([[i['fx'], i.get('skew', 0.0), i['cx']], [0, i['fy'], i['cy']], [0, 0, 1]])
                T_cam_world = np.linalg.inv(_pose(im['pose']))
                pts_cam = pts_world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
                depth = project_points(pts_cam, K, (int(im['height']), int(im['width'])))
                out.append(FixtureFrame(f'{scene_dir.name}/{name}/{sample["id"]["index"]}',
                                        _rgb(scene_dir / im['filename']), depth, K))
    if not out:
        raise FixtureError(f'{base}: no camera datums')
    return out
