"""Rigid transforms, projection and warping against analytic answers."""
import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from depth_perception import geometry as g


def test_euler_convention_is_rx_ry_rz():
    rx, ry, rz = 0.1, -0.2, 0.3
    R = g.euler_xyz_to_matrix_np(rx, ry, rz)
    # R = Rx @ Ry @ Rz is scipy's intrinsic 'XYZ' sequence (third-party answer)
    np.testing.assert_allclose(R, Rotation.from_euler('XYZ', [rx, ry, rz]).as_matrix(), atol=1e-12)
    assert not np.allclose(R, Rotation.from_euler('xyz', [rx, ry, rz]).as_matrix(), atol=1e-3)
    # small rotation about z turns x towards y (right-handed)
    assert g.euler_xyz_to_matrix_np(0, 0, 0.1)[1, 0] > 0
    vec = torch.tensor([[0.5, -1.0, 2.0, rx, ry, rz]], dtype=torch.float64)
    np.testing.assert_allclose(g.pose_vec_to_T(vec)[0].numpy(), g.pose_vec_to_T_np(vec[0].numpy()), atol=1e-12)


def test_quaternion_round_trip_and_sign():
    rng = np.random.default_rng(0)
    for _ in range(50):
        R = g.euler_xyz_to_matrix_np(*rng.uniform(-3, 3, 3))
        q = g.quaternion_xyzw_from_matrix(R)
        assert q[3] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
        np.testing.assert_allclose(g.matrix_from_quaternion_xyzw(q), R, atol=1e-9)
        ref = Rotation.from_matrix(R).as_quat()          # scipy: x, y, z, w
        np.testing.assert_allclose(q, ref if ref[3] >= 0 else -ref, atol=1e-9)
        np.testing.assert_allclose(g.matrix_from_quaternion_xyzw(ref), R, atol=1e-9)
    np.testing.assert_allclose(g.quaternion_xyzw_from_matrix(np.eye(3)), [0, 0, 0, 1])


def test_invert_T():
    T = g.pose_vec_to_T_np([1, 2, 3, 0.3, -0.1, 0.7])
    np.testing.assert_allclose(g.invert_T(T) @ T, np.eye(4), atol=1e-12)


def test_optical_forward_motion_is_body_forward():
    T_opt = g.make_T(np.eye(3), [0.0, 0.0, 1.0])  # 1 m along the optical axis
    T_body = g.T_body_from_optical(T_opt)
    np.testing.assert_allclose(T_body[:3, 3], [1.0, 0.0, 0.0], atol=1e-12)
    # panning right in the image (rotation about optical -y... i.e. yaw left about body z)
    T_opt = g.make_T(g.euler_xyz_to_matrix_np(0, -0.1, 0), np.zeros(3))
    # -0.1 rad about optical +y (down) is +0.1 rad of yaw about body +z (up): a left turn
    np.testing.assert_allclose(g.T_body_from_optical(T_opt)[:3, :3],
                               Rotation.from_euler('z', 0.1).as_matrix(), atol=1e-12)
    # image down (optical +y) is body -z, image right (optical +x) body -y
    np.testing.assert_allclose(g.T_body_from_optical(g.make_T(np.eye(3), [0.5, 2.0, 0]))[:3, 3],
                               [0, -0.5, -2.0], atol=1e-12)


def test_scale_intrinsics_matches_cv2_resize():
    K = np.array([[100.0, 0, 40.0], [0, 90.0, 30.0], [0, 0, 1]])
    img = np.zeros((60, 80), np.float32)
    img[30, 40] = 1.0  # a dot exactly at the principal point
    small = cv2.resize(img, (40, 30), interpolation=cv2.INTER_AREA)
    v, u = np.unravel_index(np.argmax(small), small.shape)
    K2 = g.scale_intrinsics(K, 0.5, 0.5)
    # the dot's centre lands within half a pixel of the scaled principal point
    assert abs(K2[0, 2] - u) <= 0.5 and abs(K2[1, 2] - v) <= 0.5
    assert K2[0, 0] == 50.0 and K2[1, 1] == 45.0


def test_backproject_project_round_trip():
    K = torch.tensor([[[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]]])
    depth = torch.rand(1, 1, 48, 64) * 5 + 0.5
    uv, z = g.project(g.backproject(depth, K), K)
    v, u = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing='ij')
    torch.testing.assert_close(uv[0, ..., 0], u, atol=1e-3, rtol=0)
    torch.testing.assert_close(uv[0, ..., 1], v, atol=1e-3, rtol=0)
    torch.testing.assert_close(z, depth)
    pts = g.depth_to_points_np(depth[0, 0].numpy(), K[0].numpy())
    np.testing.assert_allclose(pts, g.backproject(depth, K)[0].permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-5)


def test_depth_to_points_marks_invalid_as_nan():
    depth = np.array([[1.0, np.nan], [0.0, 2.0]], np.float32)
    pts = g.depth_to_points_np(depth, np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]))
    assert np.isnan(pts[0, 1]).all() and np.isnan(pts[1, 0]).all()
    np.testing.assert_allclose(pts[1, 1], [1.0, 1.0, 2.0])


def _textured(h, w):
    v, u = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
    img = np.stack([np.sin(u / 3.0), np.cos(v / 4.0), np.sin((u + v) / 5.0)], 0)
    return torch.from_numpy(img).float()[None]


def test_identity_warp_reproduces_the_image():
    img = _textured(32, 48)
    depth = torch.full((1, 1, 32, 48), 3.0)
    K = torch.tensor([[[40.0, 0, 23.5], [0, 40.0, 15.5], [0, 0, 1]]])
    warped, proj_d, comp_d, in_view = g.inverse_warp(img, depth, depth, torch.eye(4)[None], K)
    torch.testing.assert_close(warped, img, atol=1e-5, rtol=0)
    torch.testing.assert_close(comp_d, depth)
    assert in_view.all()


@pytest.mark.parametrize('shift_px', [2.0, -3.0])
def test_sideways_motion_on_a_plane_shifts_the_image(shift_px):
    """Camera translation tx in front of a plane at depth Z shifts pixels by f*tx/Z."""
    f, Z = 40.0, 4.0
    img = _textured(32, 64)
    K = torch.tensor([[[f, 0, 31.5], [0, f, 15.5], [0, 0, 1]]])
    depth = torch.full((1, 1, 32, 64), Z)
    T_ref_tgt = torch.eye(4)[None].clone()
    T_ref_tgt[0, 0, 3] = shift_px * Z / f  # target points appear shift_px to the right in ref
    warped, _, _, in_view = g.inverse_warp(img, depth, depth, T_ref_tgt, K)
    expected = img[..., int(shift_px):] if shift_px > 0 else img[..., :int(shift_px)]
    got = warped[..., :img.shape[-1] - int(shift_px)] if shift_px > 0 else warped[..., -int(shift_px):]
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert not in_view.all()  # pixels that leave the reference image are flagged
