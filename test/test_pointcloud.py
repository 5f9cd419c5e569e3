"""depth_perception.pointcloud: back-projection, strided/unorganised clouds, packing, PLY."""
import numpy as np
import pytest

from depth_perception.pointcloud import (depth_to_cloud, pack_cloud, pack_rgb_as_float, read_ply,
                                         unpack_rgb_from_float, write_ply)

K = np.array([[100.0, 0, 3.5], [0, 80.0, 2.5], [0, 0, 1]])


def depth_with_holes():
    d = np.full((6, 8), 2.0, np.float32)
    d[1, 2] = np.nan
    d[3, 4] = np.inf
    d[0, 0] = 0.0
    d[5, 7] = -1.0
    return d


def test_organised_points_reproject_to_their_pixels():
    d = depth_with_holes()
    pts, cols = depth_to_cloud(d, K)
    assert pts.shape == (6, 8, 3) and cols is None
    valid = np.isfinite(pts).all(-1)
    assert valid.sum() == 48 - 4
    v, u = np.nonzero(valid)
    p = pts[valid]
    np.testing.assert_allclose(K[0, 0] * p[:, 0] / p[:, 2] + K[0, 2], u, atol=1e-4)
    np.testing.assert_allclose(K[1, 1] * p[:, 1] / p[:, 2] + K[1, 2], v, atol=1e-4)
    np.testing.assert_allclose(p[:, 2], 2.0)


def test_unorganised_strided_cloud_is_finite_and_matches_full_resolution_points():
    d = depth_with_holes()
    rgb = np.random.default_rng(0).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    full, _ = depth_to_cloud(d, K)
    pts, cols = depth_to_cloud(d, K, rgb, organized=False, stride=2)
    assert np.isfinite(pts).all()
    expect = full[::2, ::2].reshape(-1, 3)
    expect_cols = rgb[::2, ::2].reshape(-1, 3)
    keep = np.isfinite(expect).all(1)
    np.testing.assert_allclose(pts, expect[keep], rtol=1e-5)
    np.testing.assert_array_equal(cols, expect_cols[keep])


def test_rgb_packing_round_trips_and_uses_0x00RRGGBB():
    rgb = np.array([[255, 0, 0], [0, 255, 0], [1, 2, 3]], np.uint8)
    f = pack_rgb_as_float(rgb)
    assert f.view(np.uint32).tolist() == [0xFF0000, 0x00FF00, 0x010203]
    np.testing.assert_array_equal(unpack_rgb_from_float(f), rgb)


def test_pack_layouts():
    pts, cols = depth_to_cloud(depth_with_holes(), K, np.zeros((6, 8, 3), np.uint8))
    xyzrgb = pack_cloud(pts, cols)
    assert (xyzrgb.height, xyzrgb.width, xyzrgb.point_step, xyzrgb.row_step) == (6, 8, 16, 128)
    assert [f[:2] for f in xyzrgb.fields] == [('x', 0), ('y', 4), ('z', 8), ('rgb', 12)]
    assert not xyzrgb.is_dense and xyzrgb.data.shape == (48, 4)
    flat, _ = depth_to_cloud(depth_with_holes(), K, organized=False)
    xyz = pack_cloud(flat)
    assert (xyz.height, xyz.width, xyz.point_step) == (1, 44, 12) and xyz.is_dense
    with pytest.raises(ValueError):
        pack_cloud(np.zeros((4, 2)))


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        depth_to_cloud(np.zeros((0, 4), np.float32), K)
    with pytest.raises(ValueError):
        depth_to_cloud(np.ones((4, 4), np.float32), K, np.zeros((3, 4, 3), np.uint8))


def test_ply_round_trip_drops_invalid_points(tmp_path):
    pts = np.array([[0, 0, 1], [np.nan, 0, 1], [1, 2, 3]], np.float32)
    cols = np.array([[10, 20, 30], [0, 0, 0], [40, 50, 60]], np.uint8)
    assert write_ply(tmp_path / 'c.ply', pts, cols) == 2
    back, back_cols = read_ply(tmp_path / 'c.ply')
    np.testing.assert_array_equal(back, pts[[0, 2]])
    np.testing.assert_array_equal(back_cols, cols[[0, 2]])
    assert (tmp_path / 'c.ply').read_bytes().startswith(b'ply\nformat binary_little_endian 1.0\n')
    assert write_ply(tmp_path / 'n.ply', pts) == 2 and read_ply(tmp_path / 'n.ply')[1] is None


@pytest.mark.parametrize('K', [
    np.array([[1e-300, 0, 2.0], [0, 40.0, 1.5], [0, 0, 1]]),
    np.array([[50.0, 0, 1e300], [0, 40.0, 1.5], [0, 0, 1]]),
    np.array([[1e-30, 0, -3e38], [0, 1e-30, 3e38], [0, 0, 1]]),
])
@pytest.mark.parametrize('organized', [True, False])
def test_absurd_intrinsics_never_give_non_finite_points_or_numpy_warnings(K, organized):
    import warnings
    depth = np.full((4, 5), 3e38, np.float32)
    depth[0, 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter('error')                  # a numpy RuntimeWarning fails the test
        points, _ = depth_to_cloud(depth, K, organized=organized)
        cloud = pack_cloud(points)
    pts = points.reshape(-1, 3)
    finite = np.isfinite(pts)
    assert (finite.all(1) | ~finite.any(1)).all()        # each point all-finite or all-NaN
    assert not np.isinf(pts).any()
    if not organized:
        assert finite.all() and cloud.is_dense
