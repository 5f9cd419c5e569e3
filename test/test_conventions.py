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
    assert m['rpe_per_frame']['rot_deg']['max'] == pytest.approx(0, abs=1e-6)
    assert m['ate_rot_deg']['max'] == pytest.approx(0, abs=1e-6)
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


def test_tum_reader_on_a_hand_written_file(tmp_path):
    from depth_perception.trajectory_io import read_tum
    rot = Rotation.from_euler('xyz', [-0.2, 0.9, 0.4])
    qx, qy, qz, qw = rot.as_quat()
    path = tmp_path / 'gt.txt'
    path.write_text(f'# timestamp tx ty tz qx qy qz qw\n1305031102.175304 1.25 -0.5 2.0 {qx} {qy} {qz} {qw}\n')
    stamps, poses = read_tum(path)
    assert stamps[0] == pytest.approx(1305031102.175304)
    np.testing.assert_allclose(poses[0][:3, 3], [1.25, -0.5, 2.0])
    np.testing.assert_allclose(poses[0][:3, :3], rot.as_matrix(), atol=1e-12)


def test_odometry_poses_back_in_the_optical_world_of_evaluation():
    """Live evaluation reads /odom (base in odom) back as T_world_cam of the optical frame with
    world = first camera: the by-hand optical path above."""
    from depth_perception.evaluation.offline import optical_pose_from_odom
    for state, p, yaw in zip(run_odometry()[1:], OPTICAL_POSITIONS, OPTICAL_YAWS_DEG):
        T = optical_pose_from_odom(state.T_odom_base)
        np.testing.assert_allclose(T[:3, 3], p, atol=1e-9)
        np.testing.assert_allclose(T[:3, :3], Rotation.from_euler('y', yaw, degrees=True).as_matrix(), atol=1e-9)


@pytest.mark.parametrize('alignment', ['none', 'se3', 'sim3'])
def test_ate_and_rpe_agree_with_evo(alignment):
    """Our (numpy) ATE and per-frame RPE against evo's APE/RPE on a noisy, rotated, scaled copy."""
    import copy

    from evo.core import metrics
    from evo.core.trajectory import PoseTrajectory3D
    gt = _evo_like_gt(30)
    rng = np.random.default_rng(4)
    S = T_of(Rotation.from_euler('xyz', [0.3, -0.6, 0.9]), [1.0, -2.0, 0.5])
    est = []
    for T in gt:
        noise = T_of(Rotation.from_rotvec(rng.normal(0, 0.02, 3)), rng.normal(0, 0.03, 3))
        E = S @ T @ noise
        E[:3, 3] = S[:3, :3] @ (0.7 * T[:3, 3]) + S[:3, 3] + rng.normal(0, 0.02, 3)
        est.append(E)
    stamps = [i * DT_NS for i in range(len(gt))]
    ours = evaluate_trajectory(stamps, gt, stamps, est, alignment=alignment)
    ref = PoseTrajectory3D(poses_se3=gt, timestamps=np.array(stamps) * 1e-9)
    e = PoseTrajectory3D(poses_se3=[T.copy() for T in est], timestamps=np.array(stamps) * 1e-9)
    if alignment != 'none':
        e = copy.deepcopy(e)
        e.align(ref, correct_scale=alignment == 'sim3')
    ape = metrics.APE(metrics.PoseRelation.translation_part)
    ape.process_data((ref, e))
    assert ours['ate_m']['rmse'] == pytest.approx(ape.get_statistic(metrics.StatisticsType.rmse), rel=1e-6)
    for relation, key in ((metrics.PoseRelation.translation_part, 'trans_m'),
                          (metrics.PoseRelation.rotation_angle_deg, 'rot_deg')):
        rpe = metrics.RPE(relation, delta=1, delta_unit=metrics.Unit.frames, all_pairs=False)
        rpe.process_data((ref, e))
        assert ours['rpe_per_frame'][key]['mean'] == pytest.approx(
            rpe.get_statistic(metrics.StatisticsType.mean), rel=1e-6), key


@pytest.mark.parametrize('sx,sy', [(2.0, 3.0), (0.5, 0.25)])
def test_scaled_intrinsics_follow_cv2_resize_pixel_centres(sx, sy):
    """A dot at the principal point, resized by cv2 (INTER_LINEAR up, INTER_AREA down), lands
    with its centroid on the scaled principal point (pixel-centre convention)."""
    import cv2

    from depth_perception.geometry import scale_intrinsics
    h, w = 64, 96
    img = np.zeros((h, w), np.float64)
    if sx > 1:     # a single dot at (40, 28): bilinear upsampling spreads it symmetrically
        cx, cy = 40.0, 28.0
        img[28, 40] = 1.0
    else:          # an 8x4 block aligned with the area cells, centred on (43.5, 29.5)
        cx, cy = 43.5, 29.5
        img[28:32, 40:48] = 1.0
    out = cv2.resize(img, (int(w * sx), int(h * sy)),
                     interpolation=cv2.INTER_LINEAR if sx > 1 else cv2.INTER_AREA)
    v, u = np.mgrid[0:out.shape[0], 0:out.shape[1]]
    centroid = (float((out * u).sum() / out.sum()), float((out * v).sum() / out.sum()))
    K = scale_intrinsics(np.array([[50.0, 0, cx], [0, 50.0, cy], [0, 0, 1]]), sx, sy)
    np.testing.assert_allclose([K[0, 2], K[1, 2]], centroid, atol=1e-9)
    assert (K[0, 0], K[1, 1]) == (50.0 * sx, 50.0 * sy)


def test_kitti_segment_error_with_turns_follows_the_devkit_definition():
    """One segment of a turning path: the devkit's error is inv(dEst) dGT over the segment
    (dX = inv(X_first) X_last), t_err = |translation| / L, r_err = angle / L."""
    def path(turn_rad):
        poses, T = [np.eye(4)], np.eye(4)
        for _ in range(8):
            T = T @ T_of([0, turn_rad, 0], [0, 0, 0]) @ T_of([0, 0, 0], [0, 0, 0.1])
            poses.append(T)
        return poses
    gt, est = path(0.1), path(0.13)
    L = 0.45                                   # GT distance passes 0.45 m at frame 5 (0.5 m)
    seg = kitti_segment_errors(gt, est, lengths_m=[L], step_frames=100)
    assert seg.n_segments == 1
    d_gt = np.linalg.inv(gt[0]) @ gt[5]
    d_est = np.linalg.inv(est[0]) @ est[5]
    E = np.linalg.inv(d_est) @ d_gt
    angle = Rotation.from_matrix(E[:3, :3]).magnitude()
    assert seg.t_err_pct == pytest.approx(100 * np.linalg.norm(E[:3, 3]) / L, rel=1e-9)
    assert seg.r_err_deg_per_100m == pytest.approx(np.degrees(angle / L) * 100, rel=1e-6)
    wrong = d_gt @ np.linalg.inv(d_est)         # the other side gives another number here
    assert abs(np.linalg.norm(wrong[:3, 3]) - np.linalg.norm(E[:3, 3])) > 1e-3
