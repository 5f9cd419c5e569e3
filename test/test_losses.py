"""SC-Depth V1 losses with known answers, on exact renders of a textured plane."""
import numpy as np
import pytest
import torch

from depth_perception.geometry import invert_T, make_T, euler_xyz_to_matrix_np
from depth_perception.normals import depth_to_normals
from depth_perception_training.analytic_scene import TexturedPlane, default_K, render
from depth_perception_training.data.sequences import to_normalised_tensor
from depth_perception_training.losses import LossOptions, edge_aware_smoothness, photo_and_geometry_loss
from depth_perception_training.losses.photo_geometry import pairwise_terms

torch.set_num_threads(1)
H, W = 64, 80


def pose_vec_from_T(T):
    """Inverse of pose_vec_to_T for R = Rx Ry Rz (small angles, no gimbal lock)."""
    R = T[:3, :3]
    ry = np.arcsin(np.clip(R[0, 2], -1, 1))
    rx = np.arctan2(-R[1, 2], R[2, 2])
    rz = np.arctan2(-R[0, 1], R[0, 0])
    assert np.allclose(euler_xyz_to_matrix_np(rx, ry, rz), R, atol=1e-9)
    return torch.tensor([[*T[:3, 3], rx, ry, rz]], dtype=torch.float32)


@pytest.fixture(scope='module')
def scene():
    """Target and two references of a slanted textured plane with known depth and motion."""
    plane = TexturedPlane(normal=(0.25, -0.3, -1.0), offset_m=-3.0, seed=3)
    K = default_K(H, W)
    T_world = {
        'tgt': np.eye(4),
        'prev': make_T(euler_xyz_to_matrix_np(0.01, -0.02, 0.005), [-0.12, 0.02, -0.05]),
        'next': make_T(euler_xyz_to_matrix_np(-0.015, 0.02, -0.01), [0.1, -0.03, 0.08]),
    }
    imgs, depths = {}, {}
    for name, T in T_world.items():
        rgb, depth = render(plane, T, K, H, W)
        assert np.isfinite(depth).all()
        imgs[name] = to_normalised_tensor(rgb)[None]
        depths[name] = torch.from_numpy(depth).float()[None, None]
    poses = [pose_vec_from_T(invert_T(T_world[r]) @ T_world['tgt']) for r in ('prev', 'next')]      # T_ref_tgt
    poses_inv = [pose_vec_from_T(invert_T(T_world['tgt']) @ T_world[r]) for r in ('prev', 'next')]  # T_tgt_ref
    return dict(imgs=imgs, depths=depths, poses=poses, poses_inv=poses_inv,
                K=torch.from_numpy(K).float()[None])


def _loss(scene, tgt_depth=None, ref_depths=None, poses=None, opts=LossOptions()):
    s = scene
    return photo_and_geometry_loss(
        s['imgs']['tgt'], [s['imgs']['prev'], s['imgs']['next']],
        s['depths']['tgt'] if tgt_depth is None else tgt_depth,
        [s['depths']['prev'], s['depths']['next']] if ref_depths is None else ref_depths,
        s['poses'] if poses is None else poses, s['poses_inv'], s['K'], opts)


def test_identical_frames_identity_pose_give_zero_photometric_error(scene):
    img, depth, K = scene['imgs']['tgt'], scene['depths']['tgt'], scene['K']
    zero = torch.zeros(1, 6)
    # Without the auto-mask every pixel counts, so zero loss means zero error everywhere.
    out = photo_and_geometry_loss(img, [img], depth, [depth], [zero], [zero], K, LossOptions(auto_mask=False))
    assert out.photo.item() < 1e-5
    assert out.geometry.item() < 1e-6
    terms = pairwise_terms(img, img, depth, depth, torch.eye(4)[None], K, LossOptions(auto_mask=False))
    assert terms.valid.mean().item() > 0.95        # the loss above really averaged over the image
    assert terms.diff_img.abs().max().item() < 1e-4


def test_ground_truth_depth_and_pose_give_near_zero_loss(scene):
    out = _loss(scene)
    assert out.photo.item() < 0.02
    assert out.geometry.item() < 0.005
    # Min-optimize keeps the better direction per pixel and could hide a wrong backward warp:
    # without it, both directions must be right on their own.
    both = _loss(scene, opts=LossOptions(min_optimize=False))
    assert both.photo.item() < 0.02
    assert both.geometry.item() < 0.01
    swapped = photo_and_geometry_loss(scene['imgs']['tgt'], [scene['imgs']['prev'], scene['imgs']['next']],
                                      scene['depths']['tgt'], [scene['depths']['prev'], scene['depths']['next']],
                                      scene['poses'], scene['poses'], scene['K'], LossOptions(min_optimize=False))
    assert swapped.photo.item() > 2 * both.photo.item() + 0.02     # backward warped with the forward motion


def test_wrong_depth_or_pose_gives_clearly_larger_loss(scene):
    good = _loss(scene)
    d = scene['depths']
    wrong_depth = _loss(scene, tgt_depth=d['tgt'] * 1.6, ref_depths=[d['prev'] * 1.6, d['next'] * 1.6])
    assert wrong_depth.photo.item() > 3 * good.photo.item() + 0.02
    flat = torch.full_like(d['tgt'], float(d['tgt'].mean()))
    wrong_geometry = _loss(scene, tgt_depth=flat)
    assert wrong_geometry.geometry.item() > 5 * good.geometry.item() + 0.005
    # Zero motion in both directions; without the auto-mask, which would hide exactly these pixels.
    s, zeros = scene, [torch.zeros(1, 6), torch.zeros(1, 6)]
    opts = LossOptions(auto_mask=False)
    no_motion = photo_and_geometry_loss(s['imgs']['tgt'], [s['imgs']['prev'], s['imgs']['next']], d['tgt'],
                                        [d['prev'], d['next']], zeros, zeros, s['K'], opts)
    assert no_motion.photo.item() > 3 * _loss(scene, opts=opts).photo.item() + 0.02


def test_scaling_depth_and_translation_together_changes_nothing(scene):
    """Monocular scale ambiguity: the loss is invariant to a common scale of depth and motion."""
    d, k = scene['depths'], 2.5
    scaled = [p.clone() for p in scene['poses']]
    for p in scaled:
        p[:, :3] *= k
    a = _loss(scene, opts=LossOptions(auto_mask=False, min_optimize=False))
    s = scene
    inv = [p.clone() for p in s['poses_inv']]
    for p in inv:
        p[:, :3] *= k
    b = photo_and_geometry_loss(s['imgs']['tgt'], [s['imgs']['prev'], s['imgs']['next']], d['tgt'] * k,
                                [d['prev'] * k, d['next'] * k], scaled, inv, s['K'],
                                LossOptions(auto_mask=False, min_optimize=False))
    assert abs(a.photo.item() - b.photo.item()) < 1e-4
    assert abs(a.geometry.item() - b.geometry.item()) < 1e-4


def test_auto_mask_drops_pixels_the_unwarped_reference_explains(scene):
    img, depth, K = scene['imgs']['tgt'], scene['depths']['tgt'], scene['K']
    # A static reference identical to the target: warping cannot beat "no warping" anywhere.
    terms = pairwise_terms(img, img, depth, depth, torch.eye(4)[None], K, LossOptions())
    assert terms.valid.sum().item() == 0


def test_self_discovered_mask_scales_photometric_error_by_depth_consistency(scene):
    img, K = scene['imgs']['tgt'], scene['K']
    ref, depth = scene['imgs']['next'], scene['depths']['tgt']
    from depth_perception.geometry import pose_vec_to_T
    T = pose_vec_to_T(scene['poses'][1])
    bad_ref_depth = scene['depths']['next'] * 1.5
    on = pairwise_terms(img, ref, depth, bad_ref_depth, T, K, LossOptions(auto_mask=False))
    off = pairwise_terms(img, ref, depth, bad_ref_depth, T, K, LossOptions(auto_mask=False, self_discovered_mask=False))
    assert on.diff_depth.mean() > 0.1
    assert torch.allclose(on.diff_img, off.diff_img * (1 - on.diff_depth), atol=1e-6)


def test_min_optimize_picks_the_better_reference(scene):
    s, d = scene, scene['depths']
    noise = torch.randn_like(s['imgs']['next'], generator=torch.Generator().manual_seed(0))
    args = (s['imgs']['tgt'], [s['imgs']['prev'], noise], d['tgt'], [d['prev'], d['next']], s['poses'], s['poses_inv'], s['K'])
    with_min = photo_and_geometry_loss(*args, LossOptions(auto_mask=False))
    without = photo_and_geometry_loss(*args, LossOptions(auto_mask=False, min_optimize=False))
    assert with_min.photo.item() < 0.5 * without.photo.item()


def test_smoothness_is_zero_for_constant_depth_scale_invariant_and_edge_aware():
    img = torch.zeros(1, 3, 16, 16)
    assert edge_aware_smoothness(torch.full((1, 1, 16, 16), 2.0), img).item() == 0
    depth = 1 + torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    assert abs(edge_aware_smoothness(depth, img).item() - edge_aware_smoothness(7 * depth, img).item()) < 1e-6
    step = torch.ones(1, 1, 16, 16)
    step[..., 8:] = 2.0
    edge_img = torch.zeros(1, 3, 16, 16)
    edge_img[..., 8:] = 3.0                            # an image edge where the depth steps
    assert edge_aware_smoothness(step, edge_img).item() < 0.1 * edge_aware_smoothness(step, img).item()


def test_normals_of_planes():
    K = torch.from_numpy(default_K(H, W)).float()[None]
    plane = TexturedPlane(normal=(0.25, -0.3, -1.0), offset_m=-3.0)
    _, depth = render(plane, np.eye(4), K[0].double().numpy(), H, W)
    n = depth_to_normals(torch.from_numpy(depth).float()[None, None], K)
    expected = torch.tensor(plane.normal) / torch.tensor(plane.normal).norm()
    inner = n[0, :, 2:-2, 2:-2].reshape(3, -1)
    cos = (inner * expected[:, None]).sum(0).abs()
    assert cos.min().item() > 0.9999
    fronto = depth_to_normals(torch.full((1, 1, 8, 8), 2.0), K)
    assert torch.allclose(fronto[0, :, 2:-2, 2:-2].abs(), torch.tensor([0.0, 0.0, 1.0])[:, None, None].expand(3, 4, 4), atol=1e-6)
