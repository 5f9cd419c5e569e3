"""SC-Depth V2 (rectify) and V3 (normal matching, mask ranking, normal ranking) terms on constructed inputs."""
import math

import numpy as np
import torch

from depth_perception.geometry import euler_xyz_to_matrix_np, make_T
from depth_perception.normals import depth_to_normals
from depth_perception_training.analytic_scene import TexturedPlane, default_K, render
from depth_perception_training.data.sequences import to_normalised_tensor
from depth_perception_training.losses import edge_guided_normal_ranking_loss, mask_ranking_loss, rectify_references, rotation_warp
from depth_perception_training.losses.mask_ranking import ordinal_labels, unreliable_mask

torch.set_num_threads(1)
H, W = 64, 80


class ScriptedRotations(torch.nn.Module):
    """A stand-in rectify network that returns given rotations in call order (constructed inputs)."""

    def __init__(self, outputs):
        super().__init__()
        self.outputs = list(outputs)
        self.inputs = []

    def forward(self, target, reference):
        self.inputs.append((target, reference))
        return self.outputs.pop(0)


def test_rotation_warp_matches_a_rendered_pure_rotation():
    plane = TexturedPlane(seed=5)
    K = default_K(H, W)
    rot = np.array([0.02, -0.03, 0.01])
    T_world_ref = make_T(euler_xyz_to_matrix_np(*rot).T, np.zeros(3))   # T_ref_tgt = R(rot), no translation
    tgt, _ = render(plane, np.eye(4), K, H, W)
    ref, _ = render(plane, T_world_ref, K, H, W)
    Kt = torch.from_numpy(K).float()[None]
    warped = rotation_warp(to_normalised_tensor(ref)[None], torch.from_numpy(rot[None]).float(), Kt)
    err = (warped - to_normalised_tensor(tgt)[None]).abs()[..., 6:-6, 6:-6]
    unwarped = (to_normalised_tensor(ref) - to_normalised_tensor(tgt)).abs()[..., 6:-6, 6:-6]
    assert err.mean() < 0.1 * unwarped.mean()
    same = rotation_warp(to_normalised_tensor(ref)[None], torch.zeros(1, 3), Kt)
    assert torch.allclose(same[..., 1:-1, 1:-1], to_normalised_tensor(ref)[None][..., 1:-1, 1:-1], atol=1e-4)


def test_triplet_and_consistency_when_rot1_is_trusted():
    img = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    K = torch.tensor([[30.0, 0, 15.5], [0, 30.0, 15.5], [0, 0, 1]]).repeat(2, 1, 1)
    rot1 = torch.tensor([[0.05, -0.04, 0.03], [0.06, 0.02, -0.05]])      # mean |rot1| = 0.0417: trusted
    rot2 = torch.tensor([[0.01, -0.06, 0.0], [0.0, 0.0, 0.1]])
    rot3 = torch.tensor([[0.04, -0.04, 0.02], [0.06, 0.0, -0.05]])
    net = ScriptedRotations([rot1, rot2, rot3])
    out = rectify_references(net, img, [img.flip(-1)], K)
    expected_triplet = (rot2.abs() - rot1.abs() + 0.05).clamp(min=0).mean()
    assert torch.isclose(out.triplet, expected_triplet)
    assert torch.isclose(out.consistency, (rot3 - rot1).abs().mean())
    # The consistency input is the reference warped by rot1, compared with the original reference.
    assert torch.equal(net.inputs[2][0], out.warped_refs[0]) and torch.equal(net.inputs[2][1], img.flip(-1))


def test_consistency_uses_seeded_random_rotations_outside_the_trusted_range():
    img = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    K = torch.tensor([[[30.0, 0, 15.5], [0, 30.0, 15.5], [0, 0, 1]]])
    rot1 = torch.tensor([[0.3, 0.2, 0.25]])                              # mean 0.25 > 0.1: not trusted
    rot3 = torch.tensor([[0.01, 0.02, -0.03]])
    out = rectify_references(ScriptedRotations([rot1, rot1 * 0, rot3]), img, [img], K,
                             generator=torch.Generator().manual_seed(42))
    u = torch.rand(1, 3, generator=torch.Generator().manual_seed(42))
    rot_gt = (2 * u - 1) * 0.05
    assert torch.isclose(out.consistency, (rot3 - rot_gt).abs().mean())
    assert torch.isclose(out.triplet, (0 - rot1.abs() + 0.05).clamp(min=0).mean())   # = 0 here


def test_normal_matching_is_zero_for_identical_depth_and_positive_otherwise():
    K = torch.from_numpy(default_K(H, W)).float()[None]
    _, depth = render(TexturedPlane(normal=(0.3, 0.2, -1.0)), np.eye(4), K[0].double().numpy(), H, W)
    d = torch.from_numpy(depth).float()[None, None]
    n = depth_to_normals(d, K)
    # known answer: the plane's own unit normal (camera = world frame), sign facing the camera
    expected = -np.array([0.3, 0.2, -1.0]) / np.linalg.norm([0.3, 0.2, -1.0])
    inner = n[0, :, 2:-2, 2:-2].reshape(3, -1).T.numpy()
    np.testing.assert_allclose(inner, np.broadcast_to(expected, inner.shape), atol=1e-3)
    flat = depth_to_normals(torch.full_like(d, 3.0), K)
    assert (n - flat).abs().mean().item() > 0.1


def test_unreliable_mask_takes_the_lowest_fifth():
    weight = torch.arange(100.0).view(1, 1, 10, 10)
    mask = unreliable_mask(weight)
    assert mask.sum() == 20 and mask.view(-1)[:20].all()


def test_ordinal_labels():
    za = torch.tensor([1.2, 1.0, 1.0, 1.15])
    zb = torch.tensor([1.0, 1.2, 1.1, 1.0])
    assert ordinal_labels(za, zb, 0.15, inclusive=False).tolist() == [1, -1, 0, 0]
    # Exactly at the threshold (1.25 / 1.0 with theta 0.25) only the inclusive rule labels the pair.
    at = (torch.tensor([1.25]), torch.tensor([1.0]))
    assert ordinal_labels(*at, 0.25, inclusive=True).tolist() == [1]
    assert ordinal_labels(*at, 0.25, inclusive=False).tolist() == [0]


def test_mask_ranking_known_values():
    g = torch.Generator().manual_seed(0)
    pseudo = torch.where(torch.rand(2, 1, 16, 16, generator=g) > 0.5, 1.0, 2.0)   # two depth levels
    weight = torch.rand(2, 1, 16, 16, generator=g)
    # Constant prediction: every labelled pair costs log(1 + e^0) = log 2.
    flat = torch.ones(2, 1, 16, 16)
    assert math.isclose(mask_ranking_loss(flat, pseudo, weight, torch.Generator().manual_seed(1)).item(),
                        math.log(2), rel_tol=1e-6)
    # Correct ordering with a large margin: near zero; inverted ordering: large.
    right = mask_ranking_loss(10 * pseudo, pseudo, weight, torch.Generator().manual_seed(1)).item()
    wrong = mask_ranking_loss(10 / pseudo, pseudo, weight, torch.Generator().manual_seed(1)).item()
    assert right < 1e-3 and wrong > 4.0
    # Constant pseudo-depth: no labelled pairs, the loss is 0 (the reference would divide by zero).
    assert mask_ranking_loss(flat, torch.ones_like(pseudo), weight).item() == 0


def test_normal_ranking_zero_for_matching_normals_and_positive_for_flattened_ones():
    K = torch.from_numpy(default_K(H, W)).float()[None]
    # Pseudo-depth: two planes meeting in a crease (a normal edge without a depth jump).
    v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing='ij')
    inv_depth = 0.3 + 0.004 * (u - W / 2).abs()
    pseudo = (1 / inv_depth)[None, None]
    img = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(0))
    pseudo_n = depth_to_normals(pseudo, K)
    same = edge_guided_normal_ranking_loss(pseudo, img, pseudo_n, pseudo_n, torch.Generator().manual_seed(0))
    assert same.item() == 0
    flat_n = depth_to_normals(torch.full_like(pseudo, 3.0), K)
    differs = edge_guided_normal_ranking_loss(pseudo, img, flat_n, pseudo_n, torch.Generator().manual_seed(0))
    assert differs.item() > 0.01
    # Seeded: the same generator state gives the same samples.
    again = edge_guided_normal_ranking_loss(pseudo, img, flat_n, pseudo_n, torch.Generator().manual_seed(0))
    assert again.item() == differs.item()
