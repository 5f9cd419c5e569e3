"""DepthNet estimator: metric scaling, focal rescaling, de-rotation, fusion rule, skip counters.

Known answers: a checkpoint whose network outputs a constant c gives exactly c*|d|/0.3;
the de-rotated earlier frame of a rendered rotated pair matches the render from the
stabilised pose; fusion picks the shift the rule names for hand-computed outputs."""
import numpy as np
import pytest
import torch

from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
from depth_perception.estimators.depthnet_fusion import fuse, fusion_target
from depth_perception.geometry import make_T
from depth_perception.models.depthnet import DepthNet
from depth_perception.stabilization import derotate, rotation_angle_deg

CONST = 15.0   # network output of the constant checkpoint (ELU(14) + 1)


def constant_checkpoint(path, value=CONST):
    """A released-layout (2017) file whose network outputs `value` everywhere."""
    torch.manual_seed(0)
    net = DepthNet()
    with torch.no_grad():
        net.predict_depth2.weight.zero_()
        net.predict_depth2.bias.fill_(value - 1.0)   # ELU(x) + 1 = x + 1 for x > 0
    state = {k: v for k, v in net.state_dict().items() if not k.endswith('num_batches_tracked')}
    torch.save({'epoch': 1, 'arch': 'DepthNet', 'state_dict': state, 'best_EPE': 4.65, 'bn': True,
                'with_confidence': False, 'activation_function': 'elu', 'clamp': False,
                'mean': [0.5] * 3, 'std': [0.2] * 3}, path, _use_new_zipfile_serialization=False)
    return path


@pytest.fixture(scope='module')
def const_ckpt(tmp_path_factory):
    torch.set_num_threads(1)
    return str(constant_checkpoint(tmp_path_factory.mktemp('dn') / 'DepthNet_elu_bn_64.pth.tar'))


def _frame(rng, w=128, h=96, f=64.0, stamp_ns=0):
    K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
    return CameraFrame(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), K, stamp_ns)


def _rot(axis, deg):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.radians(deg)
    Kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * Kx + (1 - np.cos(a)) * Kx @ Kx


def test_constant_network_gives_constant_times_displacement_over_nominal(const_ckpt):
    est = create_estimator('depthnet', checkpoint=const_ckpt)
    assert est.network_focal_px == 32.0    # from the file name: 64 px Still Box, f = W/2
    rng = np.random.default_rng(0)
    step = np.array([0.03, -0.02, 0.04])   # |d| = 0.05385 m per frame
    with pytest.raises(PairsSkipped, match='shift 1: no_earlier_frame'):
        est.estimate(_frame(rng), T_world_cam=make_T(np.eye(3), np.zeros(3)))
    for i in (1, 2):
        res = est.estimate(_frame(rng), T_world_cam=make_T(np.eye(3), i * step))
        # focal 64 px -> 32 px: the network saw 64x48, its output is 16x12
        assert res.model_depth.shape == (12, 16)
        np.testing.assert_allclose(res.model_depth, CONST, rtol=1e-6)
        assert res.depth_m.shape == (96, 128)
        np.testing.assert_allclose(res.depth_m, CONST * np.linalg.norm(step) / 0.3, rtol=1e-5)
    assert est.counters['shift1_used'] == 2 and est.counters['shift1_no_earlier_frame'] == 1


def test_nominal_displacement_is_a_parameter_and_velocity_gives_displacement(const_ckpt):
    est = DepthNetEstimator(checkpoint=const_ckpt, velocity_mps=(0.0, 0.0, 2.0),
                            assume_stabilized=True, nominal_displacement_m=0.5)
    rng = np.random.default_rng(1)
    with pytest.raises(PairsSkipped):
        est.estimate(_frame(rng, stamp_ns=0))
    res = est.estimate(_frame(rng, stamp_ns=100_000_000))        # 0.1 s at 2 m/s = 0.2 m
    np.testing.assert_allclose(res.depth_m, CONST * 0.2 / 0.5, rtol=1e-5)
    assert res.pairs[0].displacement_m == pytest.approx(0.2)


def test_focal_rescaling_changes_the_network_input_size(const_ckpt):
    est = DepthNetEstimator(checkpoint=const_ckpt, network_focal_px=48.0)
    rgb, K = est.network_image(_frame(np.random.default_rng(2), w=200, h=100, f=100.0))
    assert rgb.shape == (48, 96, 3) and K[0, 0] == pytest.approx(48.0)   # 200x100 * 48/100
    rgb, K = est.network_image(CameraFrame(np.zeros((60, 120, 3), np.uint8)))   # no K: 90 deg FOV
    assert rgb.shape[:2] == (48, 96)   # f = 120/2 = 60 px -> x 48/60


def test_skip_counters_react_to_rotation_stillness_and_missing_motion(const_ckpt):
    est = DepthNetEstimator(checkpoint=const_ckpt, max_rotation_deg=10.0, min_displacement_m=0.02)
    rng = np.random.default_rng(3)
    poses = [make_T(np.eye(3), [0, 0, 0]),
             make_T(_rot([0, 1, 0], 25.0), [0, 0, 0.1]),    # 25 deg > 10: rotation_too_large
             make_T(_rot([0, 1, 0], 25.0), [0, 0, 0.105]),  # 5 mm: displacement_too_small
             make_T(_rot([0, 1, 0], 28.0), [0, 0, 0.2])]    # 3 deg, 9.5 cm: used
    for T in poses:
        try:
            est.estimate(_frame(rng), T_world_cam=T)
        except PairsSkipped:
            pass
    with pytest.raises(PairsSkipped, match='rotation_unknown'):
        est.estimate(_frame(rng))                         # no pose at all
    est.reset()
    with pytest.raises(PairsSkipped):
        est.estimate(_frame(rng), R_world_cam=np.eye(3))
    with pytest.raises(PairsSkipped, match='displacement_unknown'):
        est.estimate(_frame(rng), R_world_cam=np.eye(3))   # orientation only, no velocity
    assert dict(est.counters) == {
        'frames': 7, 'frames_with_depth': 1, 'frames_without_pair': 6, 'shift1_used': 1,
        'shift1_no_earlier_frame': 2, 'shift1_rotation_too_large': 1,
        'shift1_displacement_too_small': 1, 'shift1_rotation_unknown': 1,
        'shift1_displacement_unknown': 1}


def test_hard_fusion_rule_known_answers():
    # softness 0, band (10, 60): target sqrt(600) = 24.49; the output closest to it in log space wins.
    assert fusion_target() == pytest.approx(24.4949, abs=1e-4)
    outputs = [np.array([[5.0, 30.0, 24.0, 2.0]]),      # shift 1, |d| = 0.1 m
               np.array([[20.0, 90.0, 24.0, 8.0]]),     # shift 3, |d| = 0.3 m
               np.array([[70.0, 200.0, 26.0, 23.0]])]   # shift 9, |d| = 0.9 m
    depth, chosen = fuse(outputs, [0.1, 0.3, 0.9], 0.3, softness=0.0)
    # px0: |ln 5-ln 24.5|=1.59, |ln 20-..|=0.20, |ln 70-..|=1.05 -> shift 3
    # px1: 30 (0.20) beats 90 (1.30), 200 (2.10)             -> shift 1
    # px2: 24 ties with 24 (0.021), 26 is 0.060               -> shift 1 (first on ties)
    # px3: 23 (0.063) beats 8 and 2                           -> shift 9
    assert chosen.tolist() == [[1, 0, 0, 2]]
    np.testing.assert_allclose(depth, [[20 * 1.0, 30 / 3, 24 / 3, 23 * 3]], rtol=1e-6)


def test_soft_fusion_known_answers():
    o_star = np.sqrt(600.0)
    # px0: shift 1 at the band centre (dist 0, weight 1), shift 3 one e-fold above (dist 1,
    #      weight exp(-1/2) = 0.60653): metric 24.4949 * 1/3 = 8.16497 and e * 24.4949 = 66.5840;
    #      exp((ln 8.16497 + 0.60653 ln 66.5840) / 1.60653) = exp((2.09985 + 0.60653 * 4.19846) / 1.60653)
    #      = exp(2.89216) = 18.0323
    # px1: the two shifts agree on the metric depth (5 m): any weights give 5 m
    # px2: shift 3 does not cover this pixel: shift 1 alone, 10 * 1/3
    outputs = [np.array([[o_star, 15.0, 10.0]]), np.array([[o_star * np.e, 5.0, 24.0]])]
    valid = [None, np.array([[True, True, False]])]
    depth, chosen = fuse(outputs, [0.1, 0.3], 0.3, softness=1.0, valid=valid)
    np.testing.assert_allclose(depth, [[18.0323, 5.0, 10 / 3]], rtol=1e-4)
    assert chosen.tolist() == [[0, 0, 0]]
    # a wider softness moves px0 towards the plain log-average sqrt(8.16497 * 66.5840) = 23.3164
    wide, _ = fuse(outputs, [0.1, 0.3], 0.3, softness=100.0)
    assert wide[0, 0] == pytest.approx(23.3164, rel=1e-4)
    with pytest.raises(ValueError, match='softness'):
        fuse(outputs, [0.1, 0.3], 0.3, softness=-1.0)


def test_fusion_over_several_shifts_in_the_estimator(const_ckpt):
    est = DepthNetEstimator(checkpoint=const_ckpt, frame_shifts=(3, 1))
    rng = np.random.default_rng(4)
    step = np.array([0.0, 0.0, 0.06])
    results = []
    for i in range(4):
        try:
            results.append(est.estimate(_frame(rng), T_world_cam=make_T(np.eye(3), i * step)))
        except PairsSkipped:
            results.append(None)
    assert results[0] is None and results[1] is not None
    assert [s.shift for s in results[1].pairs if s.used] == [1]
    last = results[3]
    assert [(s.shift, s.used) for s in last.pairs] == [(1, True), (3, True)]
    assert last.pairs[1].displacement_m == pytest.approx(0.18)
    # equal outputs tie: equal weights, so the log-average of the two metric depths
    # CONST * 0.06 / 0.3 and CONST * 0.18 / 0.3; the shorter shift is reported
    assert np.all(last.shift_map == 1)
    np.testing.assert_allclose(last.depth_m, CONST * np.sqrt(0.06 * 0.18) / 0.3, rtol=1e-5)


def test_rotation_angle():
    assert rotation_angle_deg(_rot([1, 2, 3], 17.0)) == pytest.approx(17.0)
    assert rotation_angle_deg(np.eye(3)) == 0.0


@pytest.fixture(scope='module')
def rendered_rotated_pair():
    """Renders from the synthetic engine: earlier frame stabilised and rotated by 8 deg,
    and the later frame after 10 cm of pure translation from the stabilised pose."""
    from depth_perception.synthetic import SequenceConfig, make_sequence
    seq = make_sequence(SequenceConfig(scene='indoor', frames=2, width=160, height=120,
                                       hfov_deg=90.0, seed=5))
    T0 = seq.T_world_cam[0]
    R0, p0 = T0[:3, :3], T0[:3, 3]
    T_rot = make_T(R0 @ _rot([0.3, 1.0, 0.2], 8.0), p0)
    T_curr = make_T(R0, p0 + R0 @ np.array([0.03, 0.0, 0.1]))
    r = seq.renderer
    return seq.K, (T0, r.render(T0).rgb), (T_rot, r.render(T_rot).rgb), (T_curr, r.render(T_curr).rgb)


def test_derotation_reproduces_the_stabilised_frame(rendered_rotated_pair):
    K, (T0, stab), (T_rot, rotated), (_, _) = rendered_rotated_pair
    R_prev_curr = T_rot[:3, :3].T @ T0[:3, :3]
    warped, valid = derotate(rotated, K, R_prev_curr)
    assert 0.6 < valid.mean() < 0.99
    err = lambda a: np.abs(a.astype(float) - stab.astype(float))[valid].mean()  # noqa: E731
    with_derotation, without = err(warped), err(rotated)
    assert with_derotation < 0.25 * without, (with_derotation, without)
    assert with_derotation < 6.0       # grey levels; resampling of a textured render


def test_estimator_feeds_the_derotated_earlier_frame(rendered_rotated_pair, const_ckpt):
    K, (T0, stab), (T_rot, rotated), (T_curr, curr) = rendered_rotated_pair
    est = DepthNetEstimator(checkpoint=const_ckpt, network_focal_px=float(K[0, 0]))  # no resizing
    with pytest.raises(PairsSkipped):
        est.estimate(CameraFrame(rotated, K, 0), T_world_cam=T_rot)
    res = est.estimate(CameraFrame(curr, K, 1), T_world_cam=T_curr)
    earlier, later = est.last_inputs[1]
    assert later is not None and np.array_equal(later, curr)
    _, valid = derotate(rotated, K, T_rot[:3, :3].T @ T_curr[:3, :3])
    err = np.abs(earlier.astype(float) - stab.astype(float))[valid].mean()
    raw = np.abs(rotated.astype(float) - stab.astype(float))[valid].mean()
    assert err < 0.25 * raw
    assert res.pairs[0].rotation_deg == pytest.approx(8.0, abs=1e-6)
    # pixels the rotated earlier frame never saw are NaN, the rest metric
    assert np.isnan(res.depth_m).any() and np.isfinite(res.depth_m).mean() > 0.6
    d = np.linalg.norm(T_curr[:3, 3] - T0[:3, 3])
    np.testing.assert_allclose(res.depth_m[np.isfinite(res.depth_m)], CONST * d / 0.3, rtol=1e-5)
