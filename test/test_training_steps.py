"""The training module itself: V1/V2/V3 steps run and learn, and `compute_losses` asks the
networks for the right things (pose directions, normal matching).

Wiring checks use oracle networks: scripted modules that return, for an exact render of a
textured plane, the true disparity of each image and the true motion between the two images
they are given, in the order they are given. With the true answers the photometric loss is
~0; any pose asked for in the wrong direction misaligns a pair and raises it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_perception.checkpoints import save_own_checkpoint
from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception.geometry import euler_xyz_to_matrix_np, invert_T, make_T
from depth_perception.models import DispResNet, PoseResNet
from depth_perception_training.analytic_scene import TexturedPlane, default_K, render
from depth_perception_training.config import load_config
from depth_perception_training.data.sequences import to_normalised_tensor
from depth_perception_training.module import SCDepthModule

torch.set_num_threads(1)
H, W = 64, 96
GOOD, BAD = 0.03, 0.08
NAMES = ('tgt', 'prev', 'next')
T_WORLD = {'tgt': np.eye(4),
           'prev': make_T(euler_xyz_to_matrix_np(0.02, -0.04, 0.01), [-0.2, 0.03, -0.1]),
           'next': make_T(euler_xyz_to_matrix_np(-0.02, 0.05, -0.02), [0.18, -0.04, 0.12])}


def pose_vec(T):
    R = T[:3, :3]
    ry = np.arcsin(np.clip(R[0, 2], -1, 1))
    rx, rz = np.arctan2(-R[1, 2], R[2, 2]), np.arctan2(-R[0, 1], R[0, 0])
    assert np.allclose(euler_xyz_to_matrix_np(rx, ry, rz), R, atol=1e-9)
    return torch.tensor([*T[:3, 3], rx, ry, rz], dtype=torch.float32)


def render_views(plane=TexturedPlane(normal=(0.2, -0.25, -1.0), offset_m=-2.5, seed=5)):
    K = default_K(H, W)
    imgs, depths = {}, {}
    for name in NAMES:
        rgb, depth = render(plane, T_WORLD[name], K, H, W)
        imgs[name] = to_normalised_tensor(rgb)
        depths[name] = torch.from_numpy(depth).float()[None]
    return imgs, depths, torch.from_numpy(K).float()


def which(x: torch.Tensor, imgs: dict) -> str:
    for name, img in imgs.items():
        if torch.equal(x, img):
            return name
    raise AssertionError('oracle network was given an image that is not one of the views')


class OracleDepth(torch.nn.Module):
    """Disparity (1 / depth) of the exact render of each input image."""

    def __init__(self, imgs, depths):
        super().__init__()
        self.imgs, self.depths = imgs, depths
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        return torch.stack([self.w / self.depths[which(xi, self.imgs)] for xi in x])


class OraclePose(torch.nn.Module):
    """pose_net(a, b) = T_b_a (maps a-camera points into b), SC-Depth's convention. With
    `corrupt_forward`, the pose asked for with the target first is returned inverted."""

    def __init__(self, imgs, corrupt_forward=False):
        super().__init__()
        self.imgs, self.corrupt_forward = imgs, corrupt_forward
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, a, b):
        out = []
        for ai, bi in zip(a, b):
            na, nb = which(ai, self.imgs), which(bi, self.imgs)
            T_b_a = invert_T(T_WORLD[nb]) @ T_WORLD[na]
            if self.corrupt_forward and na == 'tgt':
                T_b_a = invert_T(T_b_a)
            out.append(pose_vec(T_b_a))
        return torch.stack(out) * self.w


def oracle_module(version='v1', corrupt_forward=False, **cfg):
    imgs, depths, K = render_views()
    c = load_config(None, [], dataset_name='synthetic', img_height=H, img_width=W, image_log_every_n_steps=0,
                    model_version=version, **cfg)
    module = SCDepthModule(c.to_dict())
    module.depth_net = OracleDepth(imgs, depths)
    module.pose_net = OraclePose(imgs, corrupt_forward)
    batch = {'tgt': imgs['tgt'][None], 'refs': torch.stack([imgs['prev'], imgs['next']])[None],
             'K': K[None]}
    return module, batch, depths


def test_module_asks_for_each_pose_in_its_direction_min_optimize_off():
    module, batch, _ = oracle_module(no_min_optimize=True)
    losses = module.compute_losses(batch)
    assert losses['photo'].item() < GOOD


def test_module_backward_pairs_rescue_a_wrong_forward_pose_min_optimize_on():
    """Forward poses inverted on purpose: only right `poses_inv` (pose_net(ref, tgt)) keep
    the min-optimized loss low; the same corruption without the rescue is clearly high."""
    module, batch, _ = oracle_module(corrupt_forward=True)
    assert module.compute_losses(batch)['photo'].item() < GOOD
    module, batch, _ = oracle_module(corrupt_forward=True, no_min_optimize=True)
    assert module.compute_losses(batch)['photo'].item() > BAD


def test_v3_normal_matching_against_analytic_plane_normals():
    """Prediction = the rendered plane; pseudo depth = a plane tilted another way. The
    normal-matching loss is the mean |n_pred - n_pseudo| of the two planes' unit normals."""
    module, batch, depths = oracle_module('v3')
    n_pseudo = np.array([-0.3, 0.1, -1.0])
    _, pseudo = render(TexturedPlane(normal=tuple(n_pseudo), offset_m=-3.0), np.eye(4), default_K(H, W), H, W)
    batch['pseudo_depth'] = torch.from_numpy(pseudo).float()[None, None]
    losses = module.compute_losses(batch)
    n_pred = np.array([0.2, -0.25, -1.0])
    expected = np.abs(n_pred / np.linalg.norm(n_pred) - n_pseudo / np.linalg.norm(n_pseudo)).mean()
    assert losses['normal_matching'].item() == pytest.approx(expected, rel=0.03)
    # and it is zero when the pseudo depth is the prediction's own plane (at another scale)
    batch['pseudo_depth'] = 2.0 * depths['tgt'][None]
    assert module.compute_losses(batch)['normal_matching'].item() < 1e-3


# --------------------------------------------------------------------- real networks learn
def tiny_batch(n=2, hw=(64, 64)):
    h, w = hw
    K = default_K(h, w)
    tgts, refs, pseudo = [], [], []
    for b in range(n):
        plane = TexturedPlane(normal=(0.2 * b - 0.1, -0.2, -1.0), offset_m=-2.0 - b, seed=b)
        views = []
        for x in (-0.1, 0.0, 0.1):
            rgb, depth = render(plane, make_T(euler_xyz_to_matrix_np(0, 0.02 * x, 0), [x, 0, 0.05 * x]), K, h, w)
            views.append((to_normalised_tensor(rgb), depth))
        tgts.append(views[1][0])
        refs.append(torch.stack([views[0][0], views[2][0]]))
        pseudo.append(torch.from_numpy(np.nan_to_num(views[1][1], nan=1.0)).float()[None])
    Kt = torch.from_numpy(K).float()[None].repeat(n, 1, 1)
    return {'tgt': torch.stack(tgts), 'refs': torch.stack(refs), 'K': Kt, 'pseudo_depth': torch.stack(pseudo)}


# Distinct weights, so a term weighted with another term's weight shows in the total.
WEIGHTS = {'photo_weight': 0.9, 'geometry_weight': 0.5, 'smooth_weight': 0.2, 'rot_t_weight': 0.7,
           'rot_c_weight': 1.3, 'normal_matching_weight': 0.3, 'mask_rank_weight': 0.15,
           'normal_rank_weight': 0.25}
TERM_WEIGHT = {'photo': 'photo_weight', 'geometry': 'geometry_weight', 'smooth': 'smooth_weight',
               'rot_triplet': 'rot_t_weight', 'rot_consistency': 'rot_c_weight',
               'normal_matching': 'normal_matching_weight', 'mask_ranking': 'mask_rank_weight',
               'normal_ranking': 'normal_rank_weight'}


@pytest.mark.slow
@pytest.mark.parametrize('version,terms', [
    ('v1', {'photo', 'geometry', 'smooth'}),
    ('v2', {'photo', 'geometry', 'smooth', 'rot_triplet', 'rot_consistency'}),
    ('v3', {'photo', 'geometry', 'normal_matching', 'mask_ranking', 'normal_ranking'}),
])
def test_training_steps_run_and_decrease_the_loss(version, terms):
    torch.manual_seed(0)
    cfg = load_config(None, [], dataset_name='synthetic', img_height=64, img_width=64,
                      image_log_every_n_steps=0, model_version=version, lr=2e-4, **WEIGHTS)
    module = SCDepthModule(cfg.to_dict())
    assert (module.rectify_net is not None) == (version == 'v2')
    opt = module.configure_optimizers()
    batch = tiny_batch()
    totals = []
    # Adam's first steps move every weight by ~lr whatever its gradient, and BatchNorm sees 2
    # images, so the loss may rise for a few steps (v2 did for 4 on an AVX-512 CPU) before it falls.
    for _ in range(10):
        losses = module.compute_losses(batch)
        assert terms <= set(losses), set(losses)
        for name, v in losses.items():
            if not name.startswith('_'):
                assert torch.isfinite(v).all(), (name, v)
        opt.zero_grad()
        losses['total'].backward()
        opt.step()
        totals.append(losses['total'].item())
        # the total is the configured weighting of its terms (all weights distinct here)
        assert totals[-1] == pytest.approx(sum(WEIGHTS[TERM_WEIGHT[k]] * losses[k].item() for k in terms), rel=1e-5)
    assert np.mean(totals[-3:]) < totals[0], totals
    # every network that takes part in the loss received a gradient
    nets = [module.depth_net, module.pose_net] + ([module.rectify_net] if version == 'v2' else [])
    for net in nets:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize('upsample', ['bilinear', 'nearest'])
def test_own_checkpoint_keeps_its_upsample_mode(tmp_path, upsample):
    """The estimator must rebuild the decoder the checkpoint was trained with."""
    torch.manual_seed(1)
    depth_net = DispResNet(18, upsample).eval()
    path = save_own_checkpoint(tmp_path / 'm.pt', depth_net, PoseResNet(18), model_version='v1',
                               training_resolution_hw=(64, 64))
    rgb = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    est = create_estimator('scdepth', checkpoint=str(path), device='cpu', estimate_motion=False)
    got = est.estimate(CameraFrame(rgb=rgb)).model_depth
    x = (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255 - 0.45) / 0.225
    with torch.no_grad():
        expected = (1.0 / depth_net(x))[0, 0].numpy()
        twin = DispResNet(18, 'nearest' if upsample == 'bilinear' else 'bilinear').eval()
        twin.load_state_dict(depth_net.state_dict())
        other = (1.0 / twin(x))[0, 0].numpy()
    assert np.abs(other - expected).max() > 1e-3 * np.abs(expected).max()   # the modes differ here
    np.testing.assert_allclose(np.squeeze(got), expected, rtol=1e-4)
