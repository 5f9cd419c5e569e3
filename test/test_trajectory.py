"""Known-answer tests for trajectory integration, association, evo ATE/RPE and KITTI errors."""
import numpy as np
import pytest

from depth_perception.evaluation.association import associate
from depth_perception.evaluation.trajectory import (TrajectoryError, evaluate_trajectory, integrate,
                                                    kitti_segment_errors)
from depth_perception.geometry import euler_xyz_to_matrix_np, make_T


def _Rz(a):
    return euler_xyz_to_matrix_np(0.0, 0.0, a)


def _wiggly_gt(n=40):
    """A non-degenerate 3-D camera path (Umeyama needs non-collinear points)."""
    t = np.linspace(0, 2, n)
    return [make_T(euler_xyz_to_matrix_np(0.1 * np.sin(s), 0.3 * s, 0.05 * s),
                   [np.cos(s), 0.2 * np.sin(3 * s), 0.5 * s]) for s in t]


def test_association_tolerance_and_one_to_one():
    a = [0, 100, 200, 300]
    b = [5, 104, 150, 290, 311]
    r = associate(a, b, tolerance_ns=10)
    assert r.pairs == [(0, 0), (1, 1), (3, 3)]     # 200 has nothing within 10 ns; 300 -> 290 (10) beats... 311 (11)
    assert r.max_diff_ns == 10 and r.unmatched_a == 1 and r.unmatched_b == 2
    # one-to-one: two stamps nearest the same b, the closer one wins
    r2 = associate([0, 3], [2], tolerance_ns=5)
    assert r2.pairs == [(1, 0)]
    assert associate([], [1], 5).pairs == []


def test_integrate_chains_relative_motion():
    turn = make_T(_Rz(np.pi / 2), [0, 0, 0])
    forward = make_T(np.eye(3), [1, 0, 0])
    poses = integrate([None, turn, forward])     # different steps: the order matters
    np.testing.assert_allclose(poses[0], np.eye(4))
    np.testing.assert_allclose(poses[2][:3, 3], [0, 1, 0], atol=1e-12)   # turn left, then forward along +y
    np.testing.assert_allclose(poses[2][:3, :3], _Rz(np.pi / 2), atol=1e-12)
    step = make_T(_Rz(np.pi / 2), [1, 0, 0])
    poses = integrate([None, step, step])
    np.testing.assert_allclose(poses[2][:3, 3], [1, 1, 0], atol=1e-12)   # forward, turn left, forward
    np.testing.assert_allclose(poses[2][:3, :3], _Rz(np.pi), atol=1e-12)


def test_shifted_copy_known_ate_per_alignment():
    """The GT moved by a fixed world offset d: ATE is |d| without alignment, 0 with se3/sim3;
    relative motions are unchanged, so RPE is 0 in every case."""
    gt = _wiggly_gt()
    stamps = [i * 33_000_000 for i in range(len(gt))]
    d = np.array([0.3, -0.4, 1.2])                   # |d| = 1.3
    est = []
    for T in gt:
        E = T.copy()
        E[:3, 3] += d
        est.append(E)
    for alignment, ate in (('none', 1.3), ('se3', 0.0), ('sim3', 0.0)):
        m = evaluate_trajectory(stamps, gt, stamps, est, alignment=alignment)
        assert m['ate_m']['rmse'] == pytest.approx(ate, abs=1e-9), alignment
        assert m['ate_m']['std'] == pytest.approx(0, abs=1e-9)
        assert m['rpe_per_frame']['trans_m']['rmse'] == pytest.approx(0, abs=1e-9)
        assert m['association']['matched'] == len(gt)


def test_scaled_rotated_copy_zero_only_under_sim3():
    gt = _wiggly_gt()
    stamps = [i * 33_000_000 for i in range(len(gt))]
    S = make_T(euler_xyz_to_matrix_np(0.4, -0.2, 1.0), [3.0, -1.0, 2.0])
    est = []
    for T in gt:
        E = S @ T
        E[:3, 3] = S[:3, :3] @ (0.3 * T[:3, 3]) + S[:3, 3]     # similarity with scale 0.3
        est.append(E)
    sim3 = evaluate_trajectory(stamps, gt, stamps, est, alignment='sim3')
    se3 = evaluate_trajectory(stamps, gt, stamps, est, alignment='se3')
    assert sim3['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert sim3['sim3_scale'] == pytest.approx(1 / 0.3)
    assert se3['ate_m']['rmse'] > 0.05


def test_nothing_associates_is_an_error():
    gt = _wiggly_gt(5)
    with pytest.raises(TrajectoryError, match='0 of 5 estimated poses'):
        evaluate_trajectory([0, 1, 2, 3, 4], gt, [10**9 + i for i in range(5)], gt)


def _straight_line(n, spacing_m=1.0):
    return [make_T(np.eye(3), [i * spacing_m, 0, 0]) for i in range(n)]


def test_kitti_t_err_known_answer():
    gt = _straight_line(1001)                      # 1000 m straight
    est = [make_T(np.eye(3), 1.02 * T[:3, 3]) for T in gt]   # 2 % too long
    # One length of 100 m: the devkit takes the first frame *beyond* 100 m, i.e. 101 m away;
    # error 0.02*101 m over 100 m = 2.02 %.
    seg = kitti_segment_errors(gt, est, lengths_m=[100.0])
    assert seg.t_err_pct == pytest.approx(2.02)
    assert seg.r_err_deg_per_100m == pytest.approx(0.0, abs=1e-9)
    assert seg.n_segments == len(range(0, 891, 10))   # starts 0..890 have frame start+101 <= 1000
    default = kitti_segment_errors(gt, est)
    assert default.mode == 'kitti' and default.step_frames == 10
    assert 2.0 < default.t_err_pct < 2.02


def test_kitti_r_err_known_answer():
    gt = _straight_line(1001)
    rate = 1e-4                                    # rad of heading error per metre
    est = [make_T(_Rz(rate * T[0, 3]), T[:3, 3]) for T in gt]
    seg = kitti_segment_errors(gt, est, lengths_m=[100.0])
    # relative rotation error over a 101 m segment = 101e-4 rad, per 100 m of length
    assert seg.r_err_deg_per_100m == pytest.approx(np.degrees(rate * 101 / 100) * 100)


def test_short_trajectory_falls_back_to_proportional_segments():
    gt = _straight_line(50, spacing_m=0.01)        # 0.49 m
    seg = kitti_segment_errors(gt, gt)
    assert seg.mode == 'proportional' and seg.step_frames == 1
    assert seg.lengths_m == pytest.approx([0.049 * k for k in range(1, 9)])
    assert seg.n_segments > 0 and seg.t_err_pct == pytest.approx(0, abs=1e-9)
