"""Synthetic GT engine: geometry of the rendered depth, view consistency, motion, determinism.

All tests ray-cast real scenes (open3d) at small sizes; nothing is mocked.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_perception.geometry import depth_to_points_np, intrinsics_from_fov, invert_T, inverse_warp
from depth_perception.synthetic import Renderer, SequenceConfig, make_sequence
from depth_perception.synthetic import primitives as prim
from depth_perception.synthetic.scenes import CameraRegion, Scene
from depth_perception.synthetic.textures import MaterialTable
from depth_perception.synthetic.trajectories import R_world_cam_from_ypr


def _plane_scene(distance_m: float) -> Scene:
    """A single 200 m x 200 m wall whose near face is the plane world x = distance_m."""
    v, t = prim.box([1.0, 200.0, 200.0])
    v = prim.transform(v, np.array([[1, 0, 0, distance_m + 0.5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
    mats = MaterialTable(np.full((1, 3), 0.5, np.float32), np.ones(1, np.float32), np.zeros((1, 2), np.float32))
    return Scene('plane', v, t, np.zeros(len(t), np.int32), mats,
                 CameraRegion(np.zeros(3), np.ones(3)), np.array([0, 0, 1.0], np.float32))


def _pose(yaw=0.0, pitch=0.0, roll=0.0, position=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R_world_cam_from_ypr(yaw, pitch, roll)
    T[:3, 3] = position
    return T


def test_fronto_parallel_plane_has_constant_z_depth():
    K = intrinsics_from_fov(64, 48, 90.0)
    frame = Renderer(_plane_scene(4.0), K, 64, 48).render(_pose(position=(1.0, 2.0, -0.5)))
    # z-depth (not ray length): every pixel, corners included, sees the plane at z = 3 m.
    np.testing.assert_allclose(frame.depth_m, 3.0, rtol=1e-5)
    assert frame.depth_m.dtype == np.float32


def test_tilted_plane_depth_matches_analytic_intersection():
    K = intrinsics_from_fov(48, 40, 70.0)
    T = _pose(yaw=0.3, pitch=0.2, roll=-0.1, position=(0.5, -0.2, 0.3))
    depth = Renderer(_plane_scene(6.0), K, 48, 40).render(T).depth_m
    # Plane x_world = 6: a pixel ray r_cam = K^-1 [u, v, 1] (z = 1) hits it at
    # o + z * R r_cam, so its z-depth is (6 - o_x) / (R r_cam)_x.
    v, u = np.mgrid[0:40, 0:48]
    rays = np.linalg.inv(K) @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    expected = (6.0 - T[0, 3]) / (T[:3, :3] @ rays)[0]
    np.testing.assert_allclose(depth.ravel(), expected, rtol=1e-4)


def test_miss_gives_nan_and_rooms_have_no_holes():
    K = intrinsics_from_fov(32, 24, 60.0)
    looking_away = Renderer(_plane_scene(4.0), K, 32, 24).render(_pose(yaw=np.pi))
    assert np.isnan(looking_away.depth_m).all()
    seq = make_sequence(scene='indoor', frames=3, width=64, height=48, seed=5)
    for frame in seq:
        assert np.isfinite(frame.depth_m).all()
        assert 0.3 < np.min(frame.depth_m) and np.max(frame.depth_m) < 10.0
        assert frame.rgb.shape == (48, 64, 3) and frame.rgb.dtype == np.uint8


def _warp(seq, i_ref: int, i_tgt: int, T_ref_tgt=None):
    ref, tgt = seq.render(i_ref), seq.render(i_tgt)
    if T_ref_tgt is None:
        T_ref_tgt = invert_T(ref.T_world_cam) @ tgt.T_world_cam
    img = lambda f: torch.from_numpy(f.rgb).permute(2, 0, 1)[None].float() / 255
    dep = lambda f: torch.from_numpy(np.nan_to_num(f.depth_m))[None, None].float()
    warped, proj_depth, comp_depth, in_view = inverse_warp(
        img(ref), dep(tgt), dep(ref), torch.from_numpy(T_ref_tgt)[None].float(),
        torch.from_numpy(seq.K)[None].float())
    # Visible = lands in the reference image, has depth, and is not occluded there.
    visible = ((in_view[0, 0] > 0) & ((proj_depth - comp_depth).abs()[0, 0] < 0.01 * comp_depth[0, 0])
               & torch.from_numpy(np.isfinite(tgt.depth_m) & ~tgt.dynamic_mask & ~ref.dynamic_mask))
    err = (warped - img(tgt)).abs().mean(1)[0]
    return err, visible


# Mean tolerances (image in 0-1): what remains is resampling of texture near the band limit,
# worst at grazing angles (corridor walls) and far away (street); the median is ~0.005 or less.
@pytest.mark.parametrize('scene,tol', [('indoor', 0.008), ('corridor', 0.015), ('stillbox', 0.005),
                                       ('street', 0.015)])
def test_gt_warp_reproduces_other_frame(scene, tol):
    seq = make_sequence(scene=scene, frames=4, seed=11, width=160, height=128)
    err, visible = _warp(seq, 0, 3)
    assert visible.float().mean() > 0.5
    wrong_err, _ = _warp(seq, 0, 3, T_ref_tgt=np.eye(4))   # same depths, no motion
    assert err[visible].median() < 0.006
    assert err[visible].mean() < tol
    assert err[visible].mean() < 0.35 * wrong_err[visible].mean()


def test_gt_warp_with_moving_objects_on_static_pixels():
    seq = make_sequence(scene='indoor', frames=8, seed=2, width=160, height=128, dynamic_objects=3)
    with_objects = [i for i, f in enumerate(seq) if f.dynamic_mask.mean() > 0.01]
    pairs = [(i, j) for i in with_objects for j in with_objects if j - i >= 2]
    assert pairs, 'the moving objects should be in view in at least two frames'
    i, j = pairs[0]
    err, visible = _warp(seq, i, j)
    assert err[visible].median() < 0.006
    assert err[visible].mean() < 0.01


def test_backprojected_depth_of_two_views_agrees_in_world():
    seq = make_sequence(scene='indoor', frames=5, seed=4, width=96, height=80)
    a, b = seq.render(0), seq.render(4)
    pts_a = depth_to_points_np(a.depth_m, seq.K).reshape(-1, 3).astype(np.float64)
    world = pts_a @ a.T_world_cam[:3, :3].T + a.T_world_cam[:3, 3]
    in_b = (world - b.T_world_cam[:3, 3]) @ b.T_world_cam[:3, :3]
    uvw = in_b @ seq.K.T
    u, v = uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2]
    ui, vi = np.round(u).astype(int), np.round(v).astype(int)
    ok = (in_b[:, 2] > 0) & (ui >= 0) & (ui < 96) & (vi >= 0) & (vi < 80)
    assert ok.mean() > 0.5
    # Back-project B's own depth at that pixel centre and compare world points: equal up to the
    # rounding of the pixel (<= half a pixel of lateral offset), except where occluded.
    pts_b = depth_to_points_np(b.depth_m, seq.K)[vi[ok], ui[ok]].astype(np.float64)
    world_b = pts_b @ b.T_world_cam[:3, :3].T + b.T_world_cam[:3, 3]
    dist = np.linalg.norm(world_b - world[ok], axis=1)
    half_pixel_m = 0.5 * in_b[ok, 2] / seq.K[0, 0] * 1.5
    assert np.mean(dist < half_pixel_m + 1e-3) > 0.95


def test_moving_objects_only_change_masked_pixels():
    static = make_sequence(scene='street', frames=4, seed=9, width=128, height=96)
    moving = make_sequence(scene='street', frames=4, seed=9, width=128, height=96, dynamic_objects=4)
    seen = 0
    for i in range(4):
        fs, fm = static.render(i), moving.render(i)
        m = fm.dynamic_mask
        same = ~m
        np.testing.assert_array_equal(np.isnan(fs.depth_m[same]), np.isnan(fm.depth_m[same]))
        np.testing.assert_allclose(np.nan_to_num(fs.depth_m[same]), np.nan_to_num(fm.depth_m[same]), rtol=1e-6)
        assert np.all(fm.depth_m[m] < np.nan_to_num(fs.depth_m[m], nan=np.inf))  # objects occlude
        seen += m.sum()
    assert seen > 0


def test_trajectories_kinds():
    hand = make_sequence(scene='indoor', trajectory='handheld', frames=30, seed=1, width=8, height=8)
    R0, R1 = hand.T_world_cam[0, :3, :3], hand.T_world_cam[-1, :3, :3]
    angle = np.degrees(np.arccos(np.clip((np.trace(R0.T @ R1) - 1) / 2, -1, 1)))
    assert angle > 10  # real rotation over 3 s
    r = hand.scene.region
    pos = hand.T_world_cam[:, :3, 3]
    assert np.all(np.abs(pos - r.centre_m) <= r.half_extent_m + 1e-9)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1) * hand.config.fps
    assert 0.2 < steps.mean() < 1.0  # ~0.5 m/s requested

    uav = make_sequence(scene='stillbox', frames=10, seed=1, width=8, height=8, speed_mps=2.0)
    T = uav.T_world_cam
    np.testing.assert_allclose(T[:, :3, :3], np.broadcast_to(T[0, :3, :3], T[:, :3, :3].shape), atol=1e-12)
    d = np.diff(T[:, :3, 3], axis=0)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 2.0 / uav.config.fps, rtol=1e-9)
    np.testing.assert_allclose(d, np.broadcast_to(d[0], d.shape), atol=1e-12)

    # In a room the requested 5 m path does not fit: the flight is slowed to stay in the
    # camera region, and its course is not tied to the view direction (sideways parallax).
    lateral = []
    for seed in range(6):
        room = make_sequence(scene='indoor', trajectory='uav', frames=20, fps=4.0, speed_mps=1.0,
                             seed=seed, width=8, height=8)
        r, pos = room.scene.region, room.T_world_cam[:, :3, 3]
        assert np.all(np.abs(pos - r.centre_m) <= r.half_extent_m + 1e-9)
        step = np.diff(pos, axis=0)
        assert np.linalg.norm(step, axis=1).max() < 1.0 / 4.0 - 1e-3
        view = room.T_world_cam[0, :3, 2]
        lateral.append(abs(view @ step[0]) / np.linalg.norm(step[0]))
    assert min(lateral) < 0.7

    drive = make_sequence(scene='street', frames=10, seed=1, width=8, height=8)
    fwd_cam = np.einsum('nij,j->ni', drive.T_world_cam[:, :3, :3], [0, 0, 1.0])
    motion = np.diff(drive.T_world_cam[:, :3, 3], axis=0)
    # Moves forward (along the optical axis, mostly +x in the world) at ~10 m/s.
    assert np.all(np.einsum('ni,ni->n', fwd_cam[:-1], motion) > 0.9)
    assert np.all(motion[:, 0] > 0.9)


def test_same_seed_identical_different_seed_not():
    cfg = SequenceConfig(scene='indoor', frames=2, width=64, height=48, seed=3, dynamic_objects=1)
    a = [f for f in make_sequence(cfg)]
    b = [f for f in make_sequence(cfg)]
    c = [f for f in make_sequence(cfg, seed=4)]
    for fa, fb in zip(a, b):
        assert fa.rgb.tobytes() == fb.rgb.tobytes() and fa.depth_m.tobytes() == fb.depth_m.tobytes()
        np.testing.assert_array_equal(fa.T_world_cam, fb.T_world_cam)
    assert a[0].rgb.tobytes() != c[0].rgb.tobytes()


def test_texture_has_multiscale_contrast():
    # Photometric losses need gradients at several scales; flat shading would fail this.
    frame = make_sequence(scene='indoor', frames=1, seed=8, width=160, height=128).render(0)
    grey = frame.rgb.astype(np.float32).mean(2)
    for step in (1, 4, 16):
        g = np.abs(grey[:, step:] - grey[:, :-step])
        assert np.median(g) > 1.0, step


def test_plain_materials_keep_the_geometry_and_lose_only_the_texture():
    cfg = SequenceConfig(scene='stillbox', frames=2, width=64, height=64, hfov_deg=90.0, seed=5, shading=False)
    textured = [f for f in make_sequence(cfg)]
    plain = [f for f in make_sequence(cfg, flat_materials=1.0)]
    n_materials = len(make_sequence(cfg).scene.materials.base_rgb)
    for t, p in zip(textured, plain):
        assert t.depth_m.tobytes() == p.depth_m.tobytes()           # same seed: same boxes, same flight
        np.testing.assert_array_equal(t.T_world_cam, p.T_world_cam)
        colours = lambda f: len(np.unique(f.rgb.reshape(-1, 3), axis=0))
        # unshaded and untextured, a pixel's colour is its material's base colour
        assert colours(p) <= n_materials < 200 < colours(t)
    half = make_sequence(cfg, flat_materials=0.5).scene.materials.contrast
    assert set(np.unique(half)) == {0.0, 1.0}
    assert make_sequence(cfg, flat_materials=0.0).render(0).rgb.tobytes() == textured[0].rgb.tobytes()
