"""depth_perception.odometry: optical -> body motion, integration, twist, covariance."""
import numpy as np
import pytest

from depth_perception.geometry import make_T
from depth_perception.odometry import (T_BASE_OPTICAL, OdometryIntegrator, OdometryNoise,
                                       body_motion_from_optical)


def rot_y(a):  # about the optical y axis (down): positive = turning right in the image
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_optical_forward_motion_is_body_x():
    T_opt = make_T(np.eye(3), [0, 0, 1.0])   # camera moved 1 m along its optical axis
    np.testing.assert_allclose(body_motion_from_optical(T_opt)[:3, 3], [1, 0, 0], atol=1e-12)
    T_opt = make_T(np.eye(3), [1.0, 0, 0])   # 1 m to the image right = body -y
    np.testing.assert_allclose(body_motion_from_optical(T_opt)[:3, 3], [0, -1, 0], atol=1e-12)
    T_opt = make_T(np.eye(3), [0, 1.0, 0])   # image down = body -z
    np.testing.assert_allclose(body_motion_from_optical(T_opt)[:3, 3], [0, 0, -1], atol=1e-12)
    assert np.allclose(T_BASE_OPTICAL[:3, :3] @ [0, 0, 1], [1, 0, 0])


def test_turning_about_optical_y_is_yaw_right():
    T_body = body_motion_from_optical(make_T(rot_y(0.3), np.zeros(3)))
    # a right turn is a negative yaw about body z
    np.testing.assert_allclose(T_body[:3, :3], [[np.cos(0.3), np.sin(0.3), 0],
                                                [-np.sin(0.3), np.cos(0.3), 0], [0, 0, 1]], atol=1e-12)


def test_integration_drives_a_square():
    odo = OdometryIntegrator()
    step = make_T(rot_y(-np.pi / 2), [0, 0, 1.0])  # forward 1 m then turn left 90 deg
    stamp = 0
    state = odo.update(None, stamp)
    np.testing.assert_allclose(state.T_odom_base, np.eye(4))
    # A first pure left turn (facing odom +y) makes the steps non-commuting with the start:
    # composing on the wrong side would drive the square of the unturned robot instead.
    stamp += 500_000_000
    odo.update(make_T(rot_y(-np.pi / 2), np.zeros(3)), stamp)
    corners = []
    for _ in range(4):
        stamp += 500_000_000
        state = odo.update(step, stamp)
        corners.append(state.T_odom_base[:2, 3].copy())
    np.testing.assert_allclose(corners, [[0, 1], [-1, 1], [-1, 0], [0, 0]], atol=1e-9)
    yaw = np.pi / 2   # one extra left turn overall
    np.testing.assert_allclose(state.T_odom_base[:3, :3], [[np.cos(yaw), -np.sin(yaw), 0],
                                                           [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]], atol=1e-9)
    # twist in the child frame: the 1 m forward of the previous frame is -y of the new frame
    # (turned left by 90 deg), over 0.5 s; turning left at pi rad/s
    np.testing.assert_allclose(state.linear_velocity_mps, [0, -2.0, 0], atol=1e-9)
    np.testing.assert_allclose(state.angular_velocity_radps, [0, 0, np.pi], atol=1e-9)


def test_pure_forward_twist():
    odo = OdometryIntegrator()
    odo.update(None, 0)
    s = odo.update(make_T(np.eye(3), [0, 0, 0.1]), 100_000_000)
    np.testing.assert_allclose(s.linear_velocity_mps, [1.0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(s.angular_velocity_radps, 0, atol=1e-12)


def test_covariance_grows_with_distance_and_reflects_scale_uncertainty():
    odo = OdometryIntegrator(OdometryNoise(scale_rel_sigma=0.5, drift_rel_sigma=0.0))
    c0 = odo.update(None, 0).pose_covariance
    s = odo.update(make_T(np.eye(3), [0, 0, 2.0]), 1_000_000_000)
    assert np.allclose(s.pose_covariance[0, 0], 1.0 + 1e-6)  # (0.5 * 2 m)^2
    assert c0[0, 0] < s.pose_covariance[0, 0]
    assert np.all(np.linalg.eigvalsh(s.pose_covariance) > 0)
    # 2 m in 1 s: linear variance (0.5 * 2 m/s)^2 + floor, no rotation: the angular floor
    np.testing.assert_allclose(s.twist_covariance, np.diag([1.0 + 1e-6] * 3 + [1e-6] * 3), rtol=1e-12)


def test_reset_and_bad_motion():
    odo = OdometryIntegrator()
    odo.update(make_T(np.eye(3), [0, 0, 1.0]), 1)
    odo.reset()
    np.testing.assert_allclose(odo.update(None, 2).T_odom_base, np.eye(4))
    with pytest.raises(ValueError):
        odo.update(np.full((4, 4), np.nan), 3)
