"""The SC-Depth estimator behind the one interface: shapes, scale, validation."""
import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from depth_perception.estimators import CameraFrame, InputError, create_estimator

RES = (64, 96)


@pytest.fixture(scope='module')
def est():
    return create_estimator('scdepth', device='cpu', resolution_hw=RES)


def frames(n, hw=(120, 160)):
    rng = np.random.default_rng(0)
    return [(rng.random((*hw, 3)) * 255).astype(np.uint8) for _ in range(n)]


def test_depth_at_input_resolution_and_motion_after_first_frame(est):
    est.reset()
    a, b = frames(2)
    K = np.array([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]])
    r1 = est.estimate(CameraFrame(a, K, 10))
    r2 = est.estimate(CameraFrame(b, K, 20))
    assert r1.depth_m.shape == (120, 160) and r1.depth_m.dtype == np.float32
    assert r1.model_depth.shape == RES
    assert r1.T_prev_curr is None and r2.T_prev_curr.shape == (4, 4)
    assert r2.stamp_ns == 20 and np.all(np.isfinite(r1.depth_m))
    # metric depth = network depth (depth_scale 1) resized bilinearly to the input size
    np.testing.assert_allclose(r1.depth_m, cv2.resize(r1.model_depth, (160, 120), interpolation=cv2.INTER_LINEAR),
                               rtol=1e-6)
    # motion = pose_net(current, previous), as a rigid transform with R = Rx Ry Rz (scipy's
    # intrinsic 'XYZ'); the opposite call order gives another answer
    with torch.inference_mode():
        xa, xb = est.preprocess(a), est.preprocess(b)
        vec = est.pose_net(xb, xa)[0].numpy().astype(np.float64)
        swapped = est.pose_net(xa, xb)[0].numpy().astype(np.float64)
    assert np.abs(vec - swapped).max() > 1e-4
    np.testing.assert_allclose(r2.T_prev_curr[:3, 3], vec[:3], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r2.T_prev_curr[:3, :3], Rotation.from_euler('XYZ', vec[3:]).as_matrix(), atol=1e-6)
    np.testing.assert_allclose(r2.T_prev_curr[3], [0, 0, 0, 1])
    est.reset()
    assert est.estimate(CameraFrame(a)).T_prev_curr is None


def test_depth_scale_applies_to_depth_and_motion_alike():
    a, b = frames(2)
    out = []
    for scale in (1.0, 2.5):
        e = create_estimator('scdepth', device='cpu', resolution_hw=RES, depth_scale=scale)
        e.estimate(CameraFrame(a))
        out.append(e.estimate(CameraFrame(b)))
    np.testing.assert_allclose(out[1].depth_m, 2.5 * out[0].depth_m, rtol=1e-5)
    np.testing.assert_allclose(out[1].T_prev_curr[:3, 3], 2.5 * out[0].T_prev_curr[:3, 3], rtol=1e-5)
    np.testing.assert_allclose(out[1].T_prev_curr[:3, :3], out[0].T_prev_curr[:3, :3])


def test_depth_range_limits_become_nan():
    a = frames(1)[0]
    e = create_estimator('scdepth', device='cpu', resolution_hw=RES)
    d = e.estimate(CameraFrame(a)).depth_m
    lo, hi = np.percentile(d, [20, 80])
    e2 = create_estimator('scdepth', device='cpu', resolution_hw=RES, min_depth_m=float(lo), max_depth_m=float(hi))
    d2 = e2.estimate(CameraFrame(a)).depth_m
    assert np.isnan(d2[d < lo]).all() and np.isnan(d2[d > hi]).all()
    inside = (d >= lo) & (d <= hi)
    np.testing.assert_array_equal(d2[inside], d[inside])


@pytest.mark.parametrize('rgb,K,match', [
    (np.zeros((10, 10), np.uint8), None, 'HxWx3 uint8'),
    (np.zeros((10, 10, 3), np.float32), None, 'HxWx3 uint8'),
    (np.zeros((1, 10, 3), np.uint8), None, 'too small'),
    (np.zeros((10, 10, 3), np.uint8), np.full((3, 3), np.nan), 'invalid intrinsics'),
    (np.zeros((10, 10, 3), np.uint8), np.zeros((3, 3)), 'invalid intrinsics'),
])
def test_bad_frames_are_refused(est, rgb, K, match):
    with pytest.raises(InputError, match=match):
        est.estimate(CameraFrame(rgb, K))


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match='multiples of 32'):
        create_estimator('scdepth', device='cpu', resolution_hw=(100, 96))
    with pytest.raises(ValueError, match='at least 64x64'):
        create_estimator('scdepth', device='cpu', resolution_hw=(32, 64))
    with pytest.raises(ValueError, match='depth_scale'):
        create_estimator('scdepth', device='cpu', depth_scale=0.0)
    with pytest.raises(ValueError, match='unknown method'):
        create_estimator('midas')


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_request_without_cuda_is_refused():
    with pytest.raises(RuntimeError, match='CUDA is not available'):
        create_estimator('scdepth', device='cuda')


def test_describe_names_the_weights(est):
    assert 'SC-Depth DispResNet-18 at 64x96 on cpu' in est.describe()
