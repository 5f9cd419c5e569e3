"""Loss wiring: which pose warps which pair, which pairs build the V3 mask, which direction the
module asks the pose network for. Exact renders of a textured plane give the known answer:
with the true depths and motions the photometric error is ~0 in both directions; any pose
used in the wrong direction misaligns the views and raises it.

Min-optimize picks, per pixel, the better of the forward and backward pair, so a wrong
backward pair can hide behind a right forward one. The tests therefore also corrupt the
forward direction on purpose: then only a right backward pair keeps the loss low.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_perception.geometry import euler_xyz_to_matrix_np, invert_T, make_T
from depth_perception.normals import depth_to_normals
from depth_perception_training.analytic_scene import TexturedPlane, default_K, render
from depth_perception_training.data.sequences import to_normalised_tensor
from depth_perception_training.losses import LossOptions, photo_and_geometry_loss

torch.set_num_threads(1)
H, W = 64, 80
GOOD = 0.03           # photometric loss of the true depths and motions is below this...
BAD = 0.08            # ...and any misaligned pair that decides the loss is above this


def pose_vec(T):
    """[tx, ty, tz, rx, ry, rz] with R = Rx Ry Rz (small angles), solved here by hand."""
    R = T[:3, :3]
    ry = np.arcsin(np.clip(R[0, 2], -1, 1))
    rx = np.arctan2(-R[1, 2], R[2, 2])
    rz = np.arctan2(-R[0, 1], R[0, 0])
    assert np.allclose(euler_xyz_to_matrix_np(rx, ry, rz), R, atol=1e-9)
    return torch.tensor([[*T[:3, 3], rx, ry, rz]], dtype=torch.float32)


@pytest.fixture(scope='module')
def scene():
    plane = TexturedPlane(normal=(0.2, -0.25, -1.0), offset_m=-2.5, seed=5)
    K = default_K(H, W)
    T_world = {'tgt': np.eye(4),
               'prev': make_T(euler_xyz_to_matrix_np(0.02, -0.04, 0.01), [-0.2, 0.03, -0.1]),
               'next': make_T(euler_xyz_to_matrix_np(-0.02, 0.05, -0.02), [0.18, -0.04, 0.12])}
    imgs, depths = {}, {}
    for name, T in T_world.items():
        rgb, depth = render(plane, T, K, H, W)
        assert np.isfinite(depth).all()
        imgs[name] = to_normalised_tensor(rgb)[None]
        depths[name] = torch.from_numpy(depth).float()[None, None]
    refs = ('prev', 'next')
    return dict(
        imgs=imgs, depths=depths, K=torch.from_numpy(K).float()[None],
        T_ref_tgt=[pose_vec(invert_T(T_world[r]) @ T_world['tgt']) for r in refs],
        T_tgt_ref=[pose_vec(invert_T(T_world['tgt']) @ T_world[r]) for r in refs])


def loss(s, poses, poses_inv, **opts):
    return photo_and_geometry_loss(s['imgs']['tgt'], [s['imgs']['prev'], s['imgs']['next']],
                                   s['depths']['tgt'], [s['depths']['prev'], s['depths']['next']],
                                   poses, poses_inv, s['K'], LossOptions(**opts))


@pytest.mark.parametrize('auto_mask', [True, False])
def test_without_min_optimize_both_directions_must_be_right(scene, auto_mask):
    fwd, bwd = scene['T_ref_tgt'], scene['T_tgt_ref']
    right = loss(scene, fwd, bwd, min_optimize=False, auto_mask=auto_mask)
    assert right.photo.item() < GOOD
    # the backward pair warped with the forward motion (pose instead of pose_inv)
    wrong_bwd = loss(scene, fwd, fwd, min_optimize=False, auto_mask=auto_mask)
    assert wrong_bwd.photo.item() > BAD
    wrong_fwd = loss(scene, bwd, bwd, min_optimize=False, auto_mask=auto_mask)
    assert wrong_fwd.photo.item() > BAD
    # and the geometry term notices too
    assert wrong_bwd.geometry.item() > 1.5 * right.geometry.item()


@pytest.mark.parametrize('auto_mask', [True, False])
def test_with_min_optimize_a_right_backward_pair_rescues_a_wrong_forward_one(scene, auto_mask):
    fwd, bwd = scene['T_ref_tgt'], scene['T_tgt_ref']
    # forward pairs given the backward motion: wrong; backward pairs right -> still low
    assert loss(scene, bwd, bwd, auto_mask=auto_mask).photo.item() < GOOD
    # forward right, backward given the forward motion -> low as well
    assert loss(scene, fwd, fwd, auto_mask=auto_mask).photo.item() < GOOD
    # but when neither direction gets its own motion, nothing rescues the loss
    assert loss(scene, bwd, fwd, auto_mask=auto_mask).photo.item() > BAD


def test_v3_dynamic_mask_comes_from_the_forward_pairs(scene):
    """The V3 weight is mean over refs of (1 - forward diff_depth): with the true forward
    motions it is ~1 on (almost) every pixel whatever the backward pairs say; with a forward
    motion 0.8 m off along the optical axis the forward geometry disagrees by ~0.8 / (2 x 2.5)
    and the weight drops to ~0.9 on most pixels."""
    off = [torch.tensor([[0.0, 0.0, 0.8, 0.0, 0.0, 0.0]])] * 2
    good_fwd = loss(scene, scene['T_ref_tgt'], off).dynamic_mask
    assert good_fwd.shape == (1, 1, H, W)
    assert (good_fwd > 0.97).float().mean().item() > 0.9
    bad_fwd = loss(scene, off, scene['T_tgt_ref']).dynamic_mask
    assert (bad_fwd > 0.97).float().mean().item() < 0.3
    assert 0.8 < bad_fwd.median().item() < 0.96
    # A target depth 50 % too far on the left half: the forward geometry disagrees there by
    # |1.5 d - d| / (1.5 d + d) = 0.2, so the weight is ~0.8 on the left, ~1 on the right.
    d = scene['depths']['tgt'].clone()
    d[..., : W // 2] *= 1.5
    wrong = photo_and_geometry_loss(scene['imgs']['tgt'], [scene['imgs']['prev'], scene['imgs']['next']], d,
                                    [scene['depths']['prev'], scene['depths']['next']],
                                    scene['T_ref_tgt'], off, scene['K'], LossOptions())
    left = wrong.dynamic_mask[..., 8:-8, 8: W // 2 - 8]
    right = wrong.dynamic_mask[..., 8:-8, W // 2 + 8: -8]
    assert left.median().item() == pytest.approx(0.8, abs=0.05)
    assert right.median().item() > 0.97


def test_normals_of_an_analytic_plane():
    """depth_to_normals on an exact render of a plane gives the plane's normal (known
    answer, in the optical frame; the sign makes a surface facing the camera point +z...
    i.e. opposite to the plane normal that faces the camera)."""
    n_world = np.array([0.3, 0.2, -1.0])
    K = default_K(H, W)
    _, depth = render(TexturedPlane(normal=tuple(n_world)), np.eye(4), K, H, W)
    d = torch.from_numpy(depth).float()[None, None]
    normals = depth_to_normals(d, torch.from_numpy(K).float()[None])[0]
    expected = -n_world / np.linalg.norm(n_world)       # camera = world frame here
    inner = normals[:, 2:-2, 2:-2].reshape(3, -1).T.numpy()
    np.testing.assert_allclose(inner, np.broadcast_to(expected, inner.shape), atol=1e-3)
