"""Frame and composition conventions against answers derived by hand or with scipy / evo.

Every trajectory here has steps that do NOT commute (turn, then move), so composing on the
wrong side, publishing an inverse, or expressing a twist in the wrong frame changes the answer.
Expected poses are written out by hand (positions) or built with scipy.spatial.transform
(orientations); none is computed with the package's own geometry helpers.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from depth_perception.evaluation.trajectory import evaluate_trajectory, integrate, kitti_segment_errors
from depth_perception.odometry import OdometryIntegrator
from depth_perception.trajectory_io import write_tum

DT_NS = 500_000_000   # 0.5 s between frames


def T_of(rotvec_or_rot, t) -> np.ndarray:
    R = rotvec_or_rot if isinstance(rotvec_or_rot, Rotation) else Rotation.from_rotvec(rotvec_or_rot)
    T = np.eye(4)
    T[:3, :3] = R.as_matrix()
    T[:3, 3] = t
    return T


def quat_close(q_xyzw, rot: Rotation, atol=1e-9) -> bool:
    """Same rotation (q and -q are the same) in ROS x, y, z, w order."""
    ref = rot.as_quat()                     # scipy is scalar-last: x, y, z, w
    q = np.asarray(q_xyzw, float)
    return np.allclose(q, ref, atol=atol) or np.allclose(q, -ref, atol=atol)


# Optical-frame motions T_prev_curr (x right, y down, z forward):
#   step 1: turn right by 90 deg (rotation +90 deg about optical y, which points down);
#   step 2: move 1 m forward (optical +z);
#   step 3: move 0.5 m right (optical +x) while turning right by another 90 deg.
TURN_RIGHT = T_of([0, np.pi / 2, 0], [0, 0, 0])
FORWARD_1M = T_of([0, 0, 0], [0, 0, 1.0])
RIGHT_AND_TURN = T_of([0, np.pi / 2, 0], [0.5, 0, 0])
STEPS = [TURN_RIGHT, FORWARD_1M, RIGHT_AND_TURN]

# By hand, REP 103 body frame of the odometry (x forward, y left, z up), odom = first pose:
#   after step 1: at the origin, yaw -90 deg (facing odom -y);
#   after step 2: 1 m along its heading -> (0, -1, 0), yaw -90 deg;
#   after step 3: 0.5 m to its right (odom -x) -> (-0.5, -1, 0), yaw -180 deg.
BODY_POSITIONS = [(0, 0, 0), (0, -1, 0), (-0.5, -1, 0)]
BODY_YAWS_DEG = [-90, -90, -180]
# Same path in the optical frame of the first camera (world = first camera, as evaluation
# integrates it): forward is +z, right is +x, a right turn is +90 deg about +y.
OPTICAL_POSITIONS = [(0, 0, 0), (1, 0, 0), (1, 0, -0.5)]
OPTICAL_YAWS_DEG = [90, 90, 180]


def run_odometry():
    odo = OdometryIntegrator()
    states = [odo.update(None, 0)]
    for k, step in enumerate(STEPS, 1):
        states.append(odo.update(step, k * DT_NS))
    return states


def test_odometry_pose_after_non_commuting_steps():
    states = run_odometry()
    np.testing.assert_allclose(states[0].T_odom_base, np.eye(4), atol=1e-12)
    for state, p, yaw in zip(states[1:], BODY_POSITIONS, BODY_YAWS_DEG):
        np.testing.assert_allclose(state.T_odom_base[:3, 3], p, atol=1e-9)
        expected = Rotation.from_euler('z', yaw, degrees=True).as_matrix()
        np.testing.assert_allclose(state.T_odom_base[:3, :3], expected, atol=1e-9)


def test_odometry_twist_is_in_the_child_frame():
    states = run_odometry()
    dt = DT_NS * 1e-9
    # step 1: pure right turn, no translation: yaw rate -pi/2 / 0.5 s about body z
    np.testing.assert_allclose(states[1].linear_velocity_mps, [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(states[1].angular_velocity_radps, [0, 0, -np.pi / 2 / dt], atol=1e-9)
    # step 2: 1 m forward in 0.5 s: +x of the body
    np.testing.assert_allclose(states[2].linear_velocity_mps, [2.0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(states[2].angular_velocity_radps, [0, 0, 0], atol=1e-9)
    # step 3: the camera slid 0.5 m to its (previous) right while turning right by 90 deg. In
    # the new (child) body frame that displacement points straight ahead: +x. Expressed in the
    # previous frame it would be -y, in odom -x.
    np.testing.assert_allclose(states[3].linear_velocity_mps, [0.5 / dt, 0, 0], atol=1e-9)
    np.testing.assert_allclose(states[3].angular_velocity_radps, [0, 0, -np.pi / 2 / dt], atol=1e-9)




def test_odometry_message_and_tf_carry_the_pose_of_base_in_odom():
    pytest.importorskip('nav_msgs')
    from builtin_interfaces.msg import Time
    from depth_perception.ros.conversions import odometry_msg, transform_stamped
    states = run_odometry()
    for state, p, yaw in zip(states[1:], BODY_POSITIONS, BODY_YAWS_DEG):
        msg = odometry_msg(state, Time(sec=3, nanosec=7), 'odom', 'camera_link')
        assert (msg.header.frame_id, msg.child_frame_id) == ('odom', 'camera_link')
        pos, q = msg.pose.pose.position, msg.pose.pose.orientation
        np.testing.assert_allclose([pos.x, pos.y, pos.z], p, atol=1e-9)
        assert quat_close([q.x, q.y, q.z, q.w], Rotation.from_euler('z', yaw, degrees=True))
        lin = msg.twist.twist.linear
        np.testing.assert_allclose([lin.x, lin.y, lin.z], state.linear_velocity_mps, atol=1e-12)

        tf = transform_stamped(state.T_odom_base, Time(sec=3), 'odom', 'camera_link')
        assert (tf.header.frame_id, tf.child_frame_id) == ('odom', 'camera_link')
        tr, r = tf.transform.translation, tf.transform.rotation
        np.testing.assert_allclose([tr.x, tr.y, tr.z], p, atol=1e-9)
        assert quat_close([r.x, r.y, r.z, r.w], Rotation.from_euler('z', yaw, degrees=True))
    # The last odometry twist in the message, by hand: 1 m/s ahead, turning right at pi rad/s.
    lin, ang = msg.twist.twist.linear, msg.twist.twist.angular
    np.testing.assert_allclose([lin.x, lin.y, lin.z], [1.0, 0, 0], atol=1e-9)
    np.testing.assert_allclose([ang.x, ang.y, ang.z], [0, 0, -np.pi], atol=1e-9)


def test_odometry_message_quaternion_of_a_tilted_pose():
    """A pose with roll, pitch and yaw at once: a transposed rotation would show."""
    pytest.importorskip('nav_msgs')
    from builtin_interfaces.msg import Time
    from depth_perception.odometry import OdometryState
    from depth_perception.ros.conversions import odometry_msg
    rot = Rotation.from_euler('xyz', [0.3, -0.5, 1.1])
    T = T_of(rot, [1.0, 2.0, 3.0])
    state = OdometryState(T, np.zeros(3), np.zeros(3), np.eye(6), np.eye(6))
    q = odometry_msg(state, Time(), 'odom', 'base').pose.pose.orientation
    assert quat_close([q.x, q.y, q.z, q.w], rot)
    assert not quat_close([q.x, q.y, q.z, q.w], rot.inv())


def test_evaluation_integrates_relative_motion_on_the_right():
    poses = integrate([None] + STEPS)
    for T, p, yaw in zip(poses[1:], OPTICAL_POSITIONS, OPTICAL_YAWS_DEG):
        np.testing.assert_allclose(T[:3, 3], p, atol=1e-9)
        np.testing.assert_allclose(T[:3, :3], Rotation.from_euler('y', yaw, degrees=True).as_matrix(), atol=1e-9)
    np.testing.assert_allclose(poses[0], np.eye(4))


def _evo_like_gt(n=24):
    """A curving, climbing GT path of T_world_cam built with scipy (non-commuting steps)."""
    s = np.linspace(0, 1, n)
    rots = Rotation.from_euler('yxz', np.stack([1.2 * s, 0.3 * np.sin(4 * s), 0.2 * s], 1))
    pos = np.stack([2 * np.sin(2 * s), 0.3 * s ** 2, 2 * s + 0.2 * np.cos(5 * s)], 1)
    return [T_of(r, p) for r, p in zip(rots, pos)]


def test_evaluation_of_relative_motions_integrated_with_alignment_none():
    """Relative motions of the GT, chained by `integrate`, are the GT itself (ATE 0, no
    alignment to hide a wrong side); the relative motions are built here from scipy poses."""
    gt = _evo_like_gt()
    rel = [None] + [np.linalg.inv(gt[i - 1]) @ gt[i] for i in range(1, len(gt))]
    # world = first camera, as the evaluation defines it
    gt0 = [np.linalg.inv(gt[0]) @ T for T in gt]
    stamps = [i * DT_NS for i in range(len(gt))]
    m = evaluate_trajectory(stamps, gt0, stamps, integrate(rel), alignment='none')
    assert m['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert m['orientation_drift_deg']['max'] == pytest.approx(0, abs=1e-4)


def test_rpe_of_a_known_per_step_error_matches_evo_by_hand():
    """Each estimated step is the GT step followed by a 2 cm sideways slip in the camera frame:
    RPE per frame (translation) is exactly 2 cm for every pair."""
    gt = _evo_like_gt()
    slip = T_of([0, 0, 0], [0.02, 0, 0])
    est = [gt[0]]
    for i in range(1, len(gt)):
        est.append(est[-1] @ (np.linalg.inv(gt[i - 1]) @ gt[i]) @ slip)
    stamps = [i * DT_NS for i in range(len(gt))]
    m = evaluate_trajectory(stamps, gt, stamps, est, alignment='none')
    # evo's RPE error is inv(inv(Q_i) Q_j) (inv(P_i) P_j): with P = est, Q = gt, the error of
    # a pair is the slip itself, 2 cm long, whatever the trajectory.
    assert m['rpe_per_frame']['trans_m']['mean'] == pytest.approx(0.02, abs=1e-9)
    assert m['rpe_per_frame']['trans_m']['std'] == pytest.approx(0, abs=1e-9)


def test_kitti_segment_error_of_a_known_drift():
    """Straight 10 m GT; the estimate reports 10 % too much forward motion on every step.
    For every segment the error is 10 % of its length: t_err = 10 %, r_err = 0."""
    n = 101
    gt = [T_of([0, 0, 0], [0, 0, 0.1 * i]) for i in range(n)]
    est = [T_of([0, 0, 0], [0, 0, 0.11 * i]) for i in range(n)]
    seg = kitti_segment_errors(gt, est)
    assert seg.mode == 'proportional' and seg.n_segments > 0
    # segment of GT length L: first frame beyond L is reached after ceil-ish steps; the
    # estimated length is 1.1 x the GT one, the error 0.1 x GT length; divided by L (slightly
    # smaller than the GT length covered), so t_err is 10 % times (covered / L) >= 10 %.
    assert 10.0 <= seg.t_err_pct < 10.0 * 1.2
    assert seg.r_err_deg_per_100m == pytest.approx(0, abs=1e-6)


def test_tum_file_columns_and_quaternion_order(tmp_path):
    """TUM is `t tx ty tz qx qy qz qw`: read back with evo's own reader and by hand."""
    from evo.tools import file_interface
    rot = Rotation.from_euler('zyx', [0.7, -0.4, 0.25])
    T = T_of(rot, [1.5, -2.0, 0.25])
    path = write_tum(tmp_path / 'traj.tum', [1_500_000_000, 2_000_000_001], [np.eye(4), T])
    rows = [line.split() for line in path.read_text().splitlines() if not line.startswith('#')]
    assert [float(v) for v in rows[0]] == [1.5, 0, 0, 0, 0, 0, 0, 1]
    values = [float(v) for v in rows[1]]
    assert values[0] == pytest.approx(2.000000001, abs=1e-12)
    np.testing.assert_allclose(values[1:4], [1.5, -2.0, 0.25], atol=1e-9)
    assert quat_close(values[4:8], rot)
    traj = file_interface.read_tum_trajectory_file(str(path))
    np.testing.assert_allclose(traj.poses_se3[1], T, atol=1e-8)
    np.testing.assert_allclose(traj.timestamps, [1.5, 2.000000001])
