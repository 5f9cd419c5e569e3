"""Photometric pose refinement against depth: known answers from the synthetic engine.

A pair rendered at two poses we choose has an exact relative motion; with the engine's exact
depth, refinement started from a wrong guess must land on that motion. With a depth map off by
a constant factor the translation must come out in the depth's units (scaled by the same
factor): that is the property that makes one `depth_scale` metric for depth and odometry.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from depth_perception.geometry import invert_T, make_T
from depth_perception.pose_refinement import RefinementSettings, grey_pyramid, refine_pose


def _rot(axis, deg):
    return Rotation.from_rotvec(np.radians(deg) * np.asarray(axis, float) / np.linalg.norm(axis)).as_matrix()


@pytest.fixture(scope='module')
def pair():
    """Current and previous frames of an indoor scene, 4 cm and 1.5 deg apart."""
    from depth_perception.synthetic import SequenceConfig, make_sequence
    seq = make_sequence(SequenceConfig(scene='indoor', frames=2, width=320, height=256, seed=11))
    T_curr = seq.T_world_cam[0]
    T_prev = T_curr @ make_T(_rot([0.2, 1.0, -0.1], 1.5), np.array([0.03, -0.01, -0.025]))
    curr = seq.renderer.render(T_curr)
    prev = seq.renderer.render(T_prev)
    T_prev_curr = invert_T(T_prev) @ T_curr
    return seq.K, curr, prev, T_prev_curr


def _errors(T, T_true):
    d = invert_T(T_true) @ T
    return float(np.linalg.norm(T[:3, 3] - T_true[:3, 3])), \
        float(np.degrees(Rotation.from_matrix(d[:3, :3]).magnitude()))


def _refine(pair, T_init, depth_factor=1.0, settings=None):
    K, curr, prev, _ = pair
    s = settings or RefinementSettings()
    depth = np.where(np.isfinite(curr.depth_m), curr.depth_m, 0.0) * depth_factor
    return refine_pose(T_init, grey_pyramid(curr.rgb, K, s), grey_pyramid(prev.rgb, K, s), depth, s)


@pytest.mark.parametrize('start', ['identity', 'twice the motion'])
def test_refinement_recovers_the_rendered_motion(pair, start):
    T_true = pair[3]
    T_init = np.eye(4) if start == 'identity' else \
        make_T(T_true[:3, :3] @ T_true[:3, :3], 2 * T_true[:3, 3])
    t0, r0 = _errors(T_init, T_true)
    T, info = _refine(pair, T_init)
    t_err, r_err = _errors(T, T_true)
    assert info['accepted'] and info['cost_final'] < info['cost_init']
    # 4 cm / 1.5 deg apart; the start is wrong by at least as much; the answer within 2 mm / 0.05 deg
    assert t0 > 0.035 and r0 > 1.4
    assert t_err < 0.002 and r_err < 0.05, (t_err, r_err)


def test_translation_comes_out_in_the_depth_units(pair):
    """Depth 3x too large: the same rotation, and 3x the translation."""
    T_true = pair[3]
    T, _ = _refine(pair, np.eye(4), depth_factor=3.0)
    assert np.linalg.norm(T[:3, 3] - 3.0 * T_true[:3, 3]) < 0.006
    assert _errors(make_T(T[:3, :3], T_true[:3, 3]), T_true)[1] < 0.05


def test_a_textureless_pair_keeps_the_guess():
    K = np.array([[160.0, 0, 159.5], [0, 160.0, 127.5], [0, 0, 1]])
    flat = np.full((256, 320, 3), 128, np.uint8)
    s = RefinementSettings()
    guess = make_T(_rot([0, 1, 0], 2.0), np.array([0.1, 0, 0]))
    T, info = refine_pose(guess, grey_pyramid(flat, K, s), grey_pyramid(flat, K, s),
                          np.full((96, 128), 2.0), s)
    assert not info['accepted'] and info['reason'] == 'too little texture'
    np.testing.assert_array_equal(T, guess)


def test_estimator_refines_only_with_intrinsics(pair):
    """Without K there is no geometry to align with: the pose net's motion comes through as is."""
    from depth_perception.estimators import CameraFrame, create_estimator
    K, curr, prev, T_true = pair
    runs = {}
    for refine, k in ((False, K), (True, None), (True, K)):
        est = create_estimator('scdepth', device='cpu', pose_refinement=refine)
        est.estimate(CameraFrame(rgb=prev.rgb, K=k, stamp_ns=0))
        runs[(refine, k is not None)] = est.estimate(CameraFrame(rgb=curr.rgb, K=k, stamp_ns=1)).T_prev_curr
    np.testing.assert_array_equal(runs[(True, False)], runs[(False, True)])
    assert not np.array_equal(runs[(True, True)], runs[(False, True)])
    # refined: the rotation is right whatever the depth scale
    assert _errors(runs[(True, True)], T_true)[1] < 0.3 < _errors(runs[(False, True)], T_true)[1]


def test_refined_translation_gain_from_the_checkpoint_scales_refined_motion_only(pair, tmp_path):
    """A model finalised with refined_translation_gain 1.25 gives exactly 1.25x the refined
    translation of the same weights with gain 1 (same rotation, same depth); the network's own
    motion (no refinement) is untouched; a broken gain in the file is refused in one line."""
    import torch

    from depth_perception.checkpoints import CheckpointError
    from depth_perception.estimators import CameraFrame, create_estimator
    from depth_perception.estimators.scdepth import default_checkpoint
    from depth_perception_training.finalise_model import finalise
    K, curr, prev, _ = pair
    runs = {}
    for gain in (1.0, 1.25):
        model = finalise(default_checkpoint(), tmp_path / f'g{gain}.pt', half=False, refined_gain=gain)
        for refine in (True, False):
            est = create_estimator('scdepth', checkpoint=str(model), device='cpu', pose_refinement=refine)
            est.estimate(CameraFrame(rgb=prev.rgb, K=K, stamp_ns=0))
            res = est.estimate(CameraFrame(rgb=curr.rgb, K=K, stamp_ns=1))
            runs[(gain, refine)] = res.T_prev_curr, res.depth_m, est.describe()
    (T1, d1, text1), (T2, d2, text2) = runs[(1.0, True)], runs[(1.25, True)]
    assert 'refined translation gain 1.2500' in text2 and 'refined translation gain' not in text1
    assert np.linalg.norm(T1[:3, 3]) > 0.01
    np.testing.assert_allclose(T2[:3, 3], 1.25 * T1[:3, 3], rtol=1e-12)
    np.testing.assert_array_equal(T2[:3, :3], T1[:3, :3])
    np.testing.assert_array_equal(d2, d1)
    np.testing.assert_array_equal(runs[(1.25, False)][0], runs[(1.0, False)][0])

    bad = torch.load(tmp_path / 'g1.25.pt', weights_only=True)
    bad['provenance']['refined_translation_gain'] = -2.0
    torch.save(bad, tmp_path / 'bad.pt')
    with pytest.raises(CheckpointError, match='refined_translation_gain must be a positive number'):
        create_estimator('scdepth', checkpoint=str(tmp_path / 'bad.pt'), device='cpu')


def test_midpoint_motion_halves_the_difference():
    from depth_perception.pose_refinement import midpoint_motion
    axis = np.array([0.3, -1.0, 0.5])
    T_a = make_T(_rot(axis, 2.0), np.array([0.1, 0.0, 0.2]))
    T_b = make_T(_rot(axis, 4.0), np.array([0.3, -0.2, 0.0]))
    T = midpoint_motion(T_a, T_b)
    np.testing.assert_allclose(T[:3, :3], _rot(axis, 3.0), atol=1e-12)
    np.testing.assert_allclose(T[:3, 3], [0.2, -0.1, 0.1], atol=1e-12)
    np.testing.assert_allclose(midpoint_motion(T_b, T_a), T, atol=1e-12)
