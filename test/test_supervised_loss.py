"""Supervised warm-start losses (training/losses/supervised.py) and the GT the dataset feeds them.

Known answers: a prediction equal to the ground truth scores 0; depth off by a factor 2 scores
log 2; a pose off by 3 cm scores 0.03; a pose off by 2 degrees scores 2 degrees in radians.
The dataset's relative poses are checked on a camera sliding 0.1 m along x per frame, where
T_ref_tgt is a +-0.1 m x translation, mirrored (sign flipped) exactly when the image is.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from depth_perception.geometry import pose_vec_to_T_np
from depth_perception_training.data.sequences import SequenceDataset
from depth_perception_training.losses.supervised import depth_supervision_loss, pose_supervision_loss


def _gt_depth(seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(0.5, 12.0, (2, 1, 8, 10)).astype(np.float32))


@pytest.mark.parametrize('metres_per_unit', [1.0, 10.0])
def test_depth_loss_is_zero_for_the_truth_and_log2_for_double(metres_per_unit):
    gt = _gt_depth()
    truth = gt / metres_per_unit
    assert float(depth_supervision_loss(truth, gt, metres_per_unit)) == pytest.approx(0.0, abs=1e-6)
    assert float(depth_supervision_loss(2 * truth, gt, metres_per_unit)) == pytest.approx(math.log(2), abs=1e-5)
    # the wrong scale is an error too: metres predicted where units were asked for
    if metres_per_unit != 1.0:
        assert float(depth_supervision_loss(gt, gt, metres_per_unit)) == pytest.approx(math.log(metres_per_unit), abs=1e-5)


def test_depth_loss_splits_shape_and_overall_scale():
    gt = _gt_depth(2)
    # twice too far everywhere: no shape error, scale error log 2, weighted
    assert float(depth_supervision_loss(2 * gt, gt, scale_weight=0.25)) == pytest.approx(0.25 * math.log(2), abs=1e-5)
    # half the pixels e^0.1 too far, half e^-0.1 too near: right overall scale, shape error 0.1
    factor = torch.ones_like(gt)
    factor[..., :5] = math.exp(0.1)
    factor[..., 5:] = math.exp(-0.1)
    assert float(depth_supervision_loss(gt * factor, gt, scale_weight=0.25)) == pytest.approx(0.1, abs=1e-5)
    assert float(depth_supervision_loss(gt * factor, gt, scale_weight=0.0)) == pytest.approx(0.1, abs=1e-5)


def test_depth_loss_ignores_invalid_pixels():
    gt = _gt_depth(1)
    pred = gt.clone()
    gt[0, 0, :3] = 0.0              # no hit
    gt[1, 0, 5:, 2] = float('nan')
    pred[0, 0, :3] = 50.0           # garbage where there is no GT
    pred[1, 0, 5:, 2] = 0.01
    assert float(depth_supervision_loss(pred, gt)) == pytest.approx(0.0, abs=1e-6)
    empty = torch.zeros_like(gt)
    loss = depth_supervision_loss(pred.requires_grad_(), empty)
    assert float(loss.detach()) == 0.0 and loss.requires_grad


def test_depth_loss_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match='shape'):
        depth_supervision_loss(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 5))


def _T(vec):
    return torch.from_numpy(np.stack([pose_vec_to_T_np(v) for v in vec]).astype(np.float32))


VECS = np.array([[0.05, -0.02, 0.10, 0.01, -0.03, 0.02],
                 [-0.08, 0.01, 0.02, -0.02, 0.04, 0.00]])


def test_pose_loss_zero_for_truth_and_known_translation_and_rotation_errors():
    pred = torch.from_numpy(VECS.astype(np.float32))
    assert float(pose_supervision_loss(pred, _T(VECS))) == pytest.approx(0.0, abs=1e-5)
    # 3 cm off in translation, rotation exact
    shifted = VECS.copy()
    shifted[:, 1] += 0.03
    assert float(pose_supervision_loss(pred, _T(shifted))) == pytest.approx(0.03, abs=1e-5)
    # the same truth at 10 m per unit: the prediction must be a tenth
    T_m = _T(VECS)
    T_m[:, :3, 3] *= 10.0
    assert float(pose_supervision_loss(pred, T_m, metres_per_unit=10.0)) == pytest.approx(0.0, abs=1e-5)
    # 2 degrees of extra rotation about the optical axis, weighted 1 and 3
    extra = np.radians(2.0)
    T_rot = _T(VECS).numpy().astype(np.float64)
    Rz = np.array([[math.cos(extra), -math.sin(extra), 0], [math.sin(extra), math.cos(extra), 0], [0, 0, 1]])
    T_rot[:, :3, :3] = T_rot[:, :3, :3] @ Rz
    T_rot = torch.from_numpy(T_rot.astype(np.float32))
    assert float(pose_supervision_loss(pred, T_rot)) == pytest.approx(extra, abs=2e-4)
    assert float(pose_supervision_loss(pred, T_rot, rotation_weight=3.0)) == pytest.approx(3 * extra, abs=5e-4)


def test_pose_loss_gradient_is_finite_at_the_truth():
    pred = torch.from_numpy(VECS.astype(np.float32)).requires_grad_()
    pose_supervision_loss(pred, _T(VECS)).backward()
    assert torch.isfinite(pred.grad).all()


def _scene(tmp_path, n=5, step_m=0.1):
    scene = tmp_path / 'scene'
    (scene / 'depth').mkdir(parents=True)
    h, w = 32, 48
    img = np.zeros((h, w, 3), np.uint8)
    img[:, w // 2:] = 220                          # bright right half: shows a mirror
    rows = []
    for i in range(n):
        cv2.imwrite(str(scene / f'{i:06d}.jpg'), img)
        cv2.imwrite(str(scene / 'depth' / f'{i:06d}.png'), np.full((h, w), 2000 + 100 * i, np.uint16))
        T = np.eye(4)
        T[0, 3] = step_m * i                       # camera slides along its own x axis
        rows.append(T[:3].reshape(-1))
    np.savetxt(scene / 'poses.txt', np.array(rows))
    np.savetxt(scene / 'cam.txt', np.array([[40.0, 0, 23.5], [0, 40.0, 15.5], [0, 0, 1]]))
    return scene


def test_dataset_gives_exact_relative_poses_mirrored_with_the_image(tmp_path):
    scene = _scene(tmp_path)
    ds = SequenceDataset([scene], 3, 1, (32, 32), augment=True, with_supervision=True, png_depth_scale=1000.0)
    seen = set()
    for seed in range(16):
        for index in range(len(ds)):
            item = ds[(index, seed)]
            tgt = item['tgt'][0]
            mirrored = bool(tgt[:, :8].mean() > tgt[:, -8:].mean())
            seen.add(mirrored)
            T = item['gt_T_ref_tgt'].numpy()          # refs: previous, next frame
            sign = -1.0 if mirrored else 1.0
            # a target point p lies at p + 0.1 x in the previous camera and p - 0.1 x in the next
            np.testing.assert_allclose(T[0, :3, 3], [sign * 0.1, 0, 0], atol=1e-6)
            np.testing.assert_allclose(T[1, :3, 3], [-sign * 0.1, 0, 0], atol=1e-6)
            np.testing.assert_allclose(T[:, :3, :3], np.tile(np.eye(3), (2, 1, 1)), atol=1e-6)
            # GT depth of the target (frame index+1): 2.1, 2.2, 2.3 m, resized with the images
            assert item['gt_depth_m'].shape == (1, 32, 32)
            np.testing.assert_allclose(item['gt_depth_m'].numpy(), 2.0 + 0.1 * (index + 1), atol=1e-5)
    assert seen == {True, False}


def test_dataset_names_a_bad_pose_file(tmp_path):
    scene = _scene(tmp_path)
    np.savetxt(scene / 'poses.txt', np.zeros((3, 12)))
    with pytest.raises(ValueError, match='poses.txt.*5 lines'):
        SequenceDataset([scene], 3, 1, (32, 32), with_supervision=True)
    (scene / 'poses.txt').unlink()
    with pytest.raises(FileNotFoundError, match='poses.txt'):
        SequenceDataset([scene], 3, 1, (32, 32), with_supervision=True)


def test_supervised_module_step_uses_only_the_supervised_terms_and_learns(tmp_path):
    from depth_perception_training.config import load_config
    from depth_perception_training.module import SCDepthModule
    torch.manual_seed(0)
    cfg = load_config(None, [], dataset_name='synthetic', img_height=64, img_width=64, image_log_every_n_steps=0,
                      photo_weight=0.0, geometry_weight=0.0, smooth_weight=0.0, depth_supervision_weight=0.7,
                      pose_supervision_weight=1.3, lr=1e-3)
    module = SCDepthModule(cfg.to_dict())
    opt = module.configure_optimizers()
    b = 2
    T = torch.eye(4).repeat(b, 2, 1, 1)
    T[:, 0, 0, 3], T[:, 1, 0, 3] = 0.1, -0.1                          # previous / next frame: +-10 cm along x
    batch = {'tgt': torch.randn(b, 3, 64, 64), 'refs': torch.randn(b, 2, 3, 64, 64),
             'K': torch.tensor([[50.0, 0, 31.5], [0, 50.0, 31.5], [0, 0, 1]]).repeat(b, 1, 1),
             'gt_depth_m': torch.linspace(1.0, 4.0, 64).repeat(b, 1, 64, 1), 'gt_T_ref_tgt': T}
    first = None
    for _ in range(8):
        losses = module.compute_losses(batch)
        assert 'photo' not in losses                                   # no warps in a purely supervised run
        expected = 0.7 * losses['depth_supervised'] + 1.3 * losses['pose_supervised']
        assert float(losses['total']) == pytest.approx(float(expected), rel=1e-6)
        first = first if first is not None else (float(losses['depth_supervised']), float(losses['pose_supervised']))
        opt.zero_grad()
        losses['total'].backward()
        opt.step()
    assert float(losses['depth_supervised']) < first[0] and float(losses['pose_supervised']) < first[1], (first, losses)
