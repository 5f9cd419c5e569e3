"""evaluation.real_fixtures: loaders, units, caps and baselines on the real fixtures.

Known answers come from the fixtures' documented encodings, decoded here independently
(raw bytes, the yaml's bf), and from exact identities (GT fed as the prediction is perfect;
a constant prediction is the constant baseline).
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import shared_fixture
from depth_perception.evaluation import fixture_loaders as L
from depth_perception.evaluation import real_fixtures as RF


def _root():
    # every dataset folder must be there (else skip, or fail under CI)
    for key in ('sevenscenes_tsdf50', 'slambook2_kitti_tum_nyu', 'open3d_rgbd_formats', 'tri_dgp_test_scene'):
        root = shared_fixture(key).parent
    return root


DATASETS = {key: (loader, preset) for key, _, loader, preset, _ in RF.DATASETS}
_CACHE: dict = {}


def _frames(key):
    # decoding the 27 DGP frames takes seconds: load each dataset once per session
    if key not in _CACHE:
        _CACHE[key] = DATASETS[key][0](_root())
    return _CACHE[key]


@pytest.mark.parametrize('key', list(DATASETS))
def test_gt_as_prediction_is_perfect(key):
    preset = DATASETS[key][1]
    frames = _frames(key)
    res = RF.score_depth(frames, [f.depth_m.copy() for f in frames], preset)
    assert res['n_images'] == len(frames)
    assert res['model']['abs_rel'] == 0.0
    assert res['model']['a1'] == 1.0
    assert res['spearman_median'] == pytest.approx(1.0, abs=1e-12)
    # the constant is a real competitor, not perfect
    assert res['constant']['abs_rel'] > 0.05


@pytest.mark.parametrize('key', list(DATASETS))
def test_constant_prediction_scores_the_constant_baseline(key):
    preset = DATASETS[key][1]
    frames = _frames(key)
    res = RF.score_depth(frames, [np.full(f.depth_m.shape, 4.0, np.float32) for f in frames], preset)
    for name in ('abs_rel', 'a1', 'rmse', 'log10'):
        # 4.0 is a power of two: the median ratio scales it without rounding, so equality is exact
        assert res['model'][name] == res['constant'][name]
    assert res['spearman_median'] is None      # a constant has no depth order


def test_caps_per_dataset():
    assert DATASETS['sevenscenes'][1].max_depth_m == 10.0
    assert DATASETS['tum_fr2'][1].max_depth_m == 10.0
    assert DATASETS['nyu_style'][1].max_depth_m == 10.0
    assert DATASETS['kitti'][1].max_depth_m == 80.0
    assert DATASETS['dgp'][1].max_depth_m == 80.0


def test_kitti_depth_is_fB_over_disparity():
    root = _root()
    yaml = (root / 'slambook2_kitti_tum_nyu/ORB_SLAM2/Examples/Stereo/KITTI00-02.yaml').read_text()
    bf = float(re.search(r'^Camera\.bf:\s*(\S+)', yaml, re.M).group(1))
    assert bf == 386.1448
    disp = _read_png_gray8(root / 'slambook2_kitti_tum_nyu/ch8/disparity.png')
    depth = L.load_kitti(root)[0].depth_m
    for v, u in ((200, 600), (300, 100), (150, 1000), (370, 620)):
        d = float(disp[v, u])
        if d > 0:
            assert depth[v, u] == pytest.approx(bf / d, rel=1e-6)
        else:
            assert np.isnan(depth[v, u])
    assert np.array_equal(np.isnan(depth), disp == 0)


def _read_png_gray8(path):
    # decode with PIL, not cv2 (the loader's reader), so the check is independent
    from PIL import Image
    return np.asarray(Image.open(path))


def _read_pgm16(path):
    """A binary PGM, maxval > 255: big-endian 16-bit samples by the Netpbm spec."""
    data = path.read_bytes()
    m = re.match(rb'P5\s+(\d+)\s+(\d+)\s+(\d+)\s', data)
    w, h, _ = (int(x) for x in m.groups())
    return np.frombuffer(data[m.end():m.end() + 2 * w * h], dtype='>u2').reshape(h, w)


def test_depth_units_match_the_documented_encodings():
    root = _root()
    from PIL import Image
    # 7-Scenes: uint16 mm
    raw = np.asarray(Image.open(root / 'sevenscenes_tsdf50/data/rgbd-frames/frame-000150.depth.png')).astype(np.int64)
    d = L.load_sevenscenes(root)[0].depth_m
    ok = (raw > 0) & (raw < 65535)
    assert np.allclose(d[ok], raw[ok] / 1000.0, rtol=1e-6) and np.isnan(d[~ok]).all()
    # slambook NYU-style: PGM mm
    raw = _read_pgm16(root / 'slambook2_kitti_tum_nyu/ch5/rgbd/depth/1.pgm').astype(np.float64)
    d = L.load_nyu_style(root)[0].depth_m
    assert np.allclose(d[raw > 0], raw[raw > 0] / 1000.0, rtol=1e-6)
    # TUM: /5000
    raw = np.asarray(Image.open(root / 'slambook2_kitti_tum_nyu/ch7/1_depth.png')).astype(np.float64)
    d = L.load_tum_pair(root)[0].depth_m
    assert np.allclose(d[raw > 0], raw[raw > 0] / 5000.0, rtol=1e-6)
    # Open3D NYU raw Kinect: samples are little-endian in the file, depth = 351.3/(1092.5-raw)
    big = _read_pgm16(root / 'open3d_rgbd_formats/examples/TestData/RGBD/other_formats/NYU_depth.pgm')
    raw = big.byteswap().astype(np.float64)
    d = L.load_open3d_formats(root)[1].depth_m
    ok = (raw > 0) & (raw < 1092.5)
    assert np.allclose(d[ok], 351.3 / (1092.5 - raw[ok]), rtol=1e-5)
    assert 1.3 < np.nanmin(d) and np.nanmax(d) < 6.8          # FIXTURES-REPORT: 1.4-6.7 m


def test_dgp_lidar_projection_matches_the_fixture_report():
    frames = [f for f in _frames('dgp') if '/CAMERA_01/' in f.name]
    assert len(frames) == 6
    for f in frames:
        n = int(np.isfinite(f.depth_m).sum())
        # FIXTURES-REPORT: ~4.8k-5.3k LiDAR points in CAMERA_01, median 11-25 m
        assert 4000 < n < 6000, (f.name, n)
        assert 9.0 < float(np.nanmedian(f.depth_m)) < 27.0


def test_quat_to_T_known_rotation():
    s = np.sqrt(0.5)
    T = L.quat_to_T((0, 0, s, s), (1, 2, 3))          # 90 deg about z
    assert np.allclose(T[:3, :3], [[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    assert np.allclose(T[:3, 3], [1, 2, 3])


@pytest.mark.slow
def test_open3d_odometry_true_depth_beats_a_plane():
    frames = L.load_sevenscenes(_root())[:12]
    gt_ate = RF.odometry_ate(frames, [f.depth_m for f in frames])
    plane_ate = RF.odometry_ate(frames, [np.full_like(f.depth_m, 2.0) for f in frames])
    assert gt_ate < 0.03
    assert plane_ate > 2 * gt_ate


def test_cli_names_a_missing_fixtures_folder(tmp_path, capsys):
    assert RF.main(['--fixtures', str(tmp_path / 'nope'), '--out', str(tmp_path / 'o')]) == 2
    assert 'nope' in capsys.readouterr().err and not (tmp_path / 'o').exists()


def test_loader_names_the_missing_file(tmp_path):
    (tmp_path / 'sevenscenes_tsdf50' / 'data' / 'rgbd-frames').mkdir(parents=True)
    (tmp_path / 'sevenscenes_tsdf50' / 'data' / 'camera-intrinsics.txt').write_text('585 0 320\n0 585 240\n0 0 1\n')
    with pytest.raises(L.FixtureError, match='no frame-'):
        L.load_sevenscenes(tmp_path)
