"""depthnet_node over real DDS, in its own process: metric depth from odometry, tf (with a lever
arm) and constant velocity; skip counters; bad input dropped with nothing published.

Known answer: the checkpoint's network outputs exactly CONST everywhere, so every published
depth pixel must be CONST * |d| / 0.3 m, |d| being the camera displacement between the two
frames computed here from the motion we feed (independently of the node's code).
"""
from __future__ import annotations

import numpy as np
import pytest

from depthnet_node_harness import (CONST, FRAME, K, NOMINAL_M, DepthNetPeer, DepthNetProcess, T_of, base_params,
                                   make_checkpoint, yaw)
from test_node_harness import depth_of, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory)


@pytest.fixture
def peer():
    p = DepthNetPeer()
    yield p
    p.close()


def start(tmp_path, peer, params):
    node = DepthNetProcess(tmp_path, params)
    peer.connect(node)
    if params.get('motion_source') == 'odometry':
        assert wait_for(lambda: peer.pub_odom.get_subscription_count() > 0, 30), node.output()
    if params.get('motion_source') == 'tf':
        assert wait_for(lambda: peer.pub_tf.get_subscription_count() > 0, 30), node.output()
    return node


def expect_depth(peer, sec, disp_m, nanosec=0, timeout_s=60):
    assert wait_for(lambda: peer.with_stamp('depth/image', sec, nanosec), timeout_s), peer.pair_stats()
    depth = depth_of(peer.with_stamp('depth/image', sec, nanosec)[0])
    finite = depth[np.isfinite(depth)]
    assert finite.size > 0.5 * depth.size
    np.testing.assert_allclose(finite, CONST * disp_m / NOMINAL_M, rtol=1e-4)
    for topic in ('depth/camera_info', 'depth/colored', 'points'):
        assert wait_for(lambda: peer.with_stamp(topic, sec, nanosec), 10), topic
    return depth


def nothing_for(peer, sec):
    return not any(peer.with_stamp(t, sec) for t in ('depth/image', 'depth/camera_info', 'depth/colored', 'points'))


def test_odometry_metric_depth_skip_counters_and_bad_input(tmp_path, peer, checkpoint):
    node = start(tmp_path, peer, base_params(checkpoint, motion_source='odometry'))
    try:
        # frame 1: no earlier frame -> nothing published, counted
        peer.odometry(1.0, T_of())
        peer.image(1)
        s = peer.wait_frames(1)
        assert s['shift1_no_earlier_frame'] == 1 and s['frames_without_pair'] == 1
        assert nothing_for(peer, 1)

        # frame 2: moved (0.2, 0.1, 0) m in the body frame -> depth CONST * 0.2236 / 0.3
        peer.odometry(2.0, T_of(t=(0.2, 0.1, 0.0)))
        peer.image(2)
        expect_depth(peer, 2, np.hypot(0.2, 0.1))

        # frame 3: standing still -> displacement_too_small, nothing published
        peer.odometry(3.0, T_of(t=(0.2, 0.1, 0.0)))
        peer.image(3)
        s = peer.wait_frames(3)
        assert s['shift1_displacement_too_small'] == 1 and nothing_for(peer, 3)
        assert 'displacement_too_small' in peer.pair_message()

        # frame 4: an injected 30 deg yaw (> max_rotation_deg 20) -> rotation_too_large
        peer.odometry(4.0, T_of(yaw(30), (0.4, 0.1, 0.0)))
        peer.image(4)
        s = peer.wait_frames(4)
        assert s['shift1_rotation_too_large'] == 1 and nothing_for(peer, 4)

        # frame 5: same heading, 0.15 m forward -> used again
        peer.odometry(5.0, T_of(yaw(30), (0.4 + 0.15 * np.cos(np.radians(30)), 0.1 + 0.15 * np.sin(np.radians(30)), 0)))
        peer.image(5)
        expect_depth(peer, 5, 0.15)
        assert peer.wait_frames(5)['shift1_used'] == 2

        # frame 6 stamped between two odometry messages: the pose is interpolated (midpoint)
        p5 = np.array([0.4 + 0.15 * np.cos(np.radians(30)), 0.1 + 0.15 * np.sin(np.radians(30)), 0])
        peer.odometry(5.8, T_of(yaw(30), p5 + (0.0, 0.0, 0.1)))
        peer.odometry(6.2, T_of(yaw(30), p5 + (0.0, 0.0, 0.5)))
        wait_for(lambda: False, 0.3)
        peer.image(6)
        expect_depth(peer, 6, 0.3)

        # bad input: NaN odometry and a truncated image are dropped; nothing published for them
        rejected = peer.stats().get('rejected', 0)
        peer.odometry(6.5, T_of(), bad=True)
        peer.image(7, step=5)
        assert wait_for(lambda: peer.stats().get('rejected', 0) >= rejected + 2, 30), peer.stats()
        wait_for(lambda: False, 1.0)
        assert nothing_for(peer, 7)
        # and the node keeps working; frame 8 pairs with frame 6 (frame 7 never reached the model)
        peer.odometry(8.0, T_of(yaw(30), p5 + (0.0, 0.0, 0.7)))
        peer.image(8)
        expect_depth(peer, 8, 0.4)

        # max_rotation_deg is live: raised to 40, a 30 deg turn is de-rotated and used
        assert peer.set_param('max_rotation_deg', 40.0).successful
        assert not peer.set_param('motion_source', 'tf').successful      # read-only at run time
        peer.odometry(9.0, T_of(yaw(60), p5 + (0.0, 0.0, 0.9)))
        peer.image(9)
        depth = expect_depth(peer, 9, 0.2)
        assert np.isnan(depth).any()     # the de-rotated earlier frame does not cover the border
    finally:
        assert node.stop() == 0, node.output()


def test_unknown_motion_is_counted_not_published(tmp_path, peer, checkpoint):
    node = start(tmp_path, peer, base_params(checkpoint, motion_source='odometry', motion_max_age_s=0.5,
                                             motion_wait_s=1.0))
    try:
        peer.odometry(1.0, T_of())
        peer.image(1)
        assert peer.wait_frames(1)['frames_motion_unknown'] == 0
        peer.image(3)             # newest pose 2 s old (> motion_max_age_s): motion unknown
        s = peer.wait_frames(2)
        assert s['frames_motion_unknown'] == 1 and s['shift1_rotation_unknown'] == 1
        assert nothing_for(peer, 3)

        # odometry arriving just after its image: the frame waits (motion_wait_s 1 s) for it
        peer.odometry(4.0, T_of(t=(0.0, 0.0, 0.1)))
        peer.image(4)          # pairs with frame 3, whose pose is unknown: skipped
        peer.wait_frames(3)
        peer.image(5)
        wait_for(lambda: False, 0.05)
        peer.odometry(5.0, T_of(t=(0.0, 0.0, 0.25)))
        expect_depth(peer, 5, 0.15)
        assert peer.wait_frames(4)['frames_motion_unknown'] == 1
    finally:
        assert node.stop() == 0, node.output()


def test_tf_with_lever_arm(tmp_path, peer, checkpoint):
    """odom -> base_link (moving) -> camera_link (static, 0.5 m forward, 0.2 m up) -> optical
    (published by the node). A yaw of the base in place moves the camera by the lever arm."""
    node = start(tmp_path, peer, base_params(checkpoint, motion_source='tf', world_frame='odom',
                                             base_frame='camera_link'))
    try:
        lever = np.array([0.5, 0.0, 0.2])
        peer.transform(0.0, 'base_link', 'camera_link', T_of(t=lever), static=True)
        poses = {1: T_of(), 2: T_of(yaw(10)), 3: T_of(yaw(10), (0.0, 0.3, 0.0))}
        for sec, T in poses.items():
            peer.transform(float(sec), 'odom', 'base_link', T)
        wait_for(lambda: False, 0.5)
        peer.image(1)
        peer.wait_frames(1)
        # pure yaw of 10 deg about the base: the camera moves on a circle of radius 0.5 m
        peer.image(2)
        expect_depth(peer, 2, 2 * 0.5 * np.sin(np.radians(5)))
        # translation of the base only: the camera moves the same 0.3 m
        peer.image(3)
        expect_depth(peer, 3, 0.3)
        s = peer.wait_frames(3)
        assert s['shift1_used'] == 2 and s['frames_motion_unknown'] == 0
        # the de-rotated pair leaves the uncovered border invalid (NaN), not garbage
        depth2 = depth_of(peer.with_stamp('depth/image', 2)[0])
        assert np.isnan(depth2).any()
    finally:
        assert node.stop() == 0, node.output()


def test_constant_velocity(tmp_path, peer, checkpoint):
    node = start(tmp_path, peer, base_params(checkpoint, motion_source='constant_velocity',
                                             velocity_x_mps=0.6, velocity_z_mps=0.8))   # |v| = 1 m/s
    try:
        peer.image(1)
        peer.wait_frames(1)
        peer.image(1, nanosec=250_000_000)
        expect_depth(peer, 1, 0.25, nanosec=250_000_000)
        peer.image(1, nanosec=255_000_000)       # 5 mm: below min_displacement_m 0.02
        s = peer.wait_frames(3)
        assert s['shift1_displacement_too_small'] == 1

        # a rejected image (warning), then one the estimator refuses (error: too small for the
        # network at its focal length), then a good one: the node logs both and keeps working
        peer.image(2, step=5)
        assert wait_for(lambda: peer.stats().get('rejected', 0) >= 1, 30), peer.stats()
        peer.publish(3, pixels=np.zeros((40, 40, 3), np.uint8), frame_id=FRAME, K_=K)
        assert wait_for(lambda: peer.stats().get('failed', 0) >= 1, 30), peer.stats()
        peer.image(4)
        expect_depth(peer, 4, 4.0 - 1.255)
        assert nothing_for(peer, 2) and nothing_for(peer, 3)
        assert 'too small for DepthNet' in node.output()
    finally:
        assert node.stop() == 0, node.output()

