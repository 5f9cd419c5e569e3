"""depthnet_node over real DDS: a yaw of the camera BODY (REP 103, about z up) read from odometry
is a turn about the optical y axis, so the de-rotated earlier frame lacks a band of whole columns
on the side the camera turned to (NaN there), not the corners a roll would leave.

Known answer (pinhole geometry, computed here): a camera turning left by theta sees, at
column u of its middle row, the ray atan((u - cx) / f); the earlier frame saw that ray at
atan((u - cx) / f) + theta, inside its image only while that angle stays above the left
edge's -atan((cx + 0.5) / f) -- so the lost columns are the leftmost ones.
"""
from __future__ import annotations

import numpy as np
import pytest

from depthnet_node_harness import CONST, K, NOMINAL_M, DepthNetPeer, DepthNetProcess, T_of, base_params, make_checkpoint, yaw
from test_node_harness import depth_of, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

YAW_DEG = 15.0


def lost_fraction_of_middle_row(theta_deg: float, f_px: float, w_px: int) -> float:
    cx = (w_px - 1) / 2
    u = np.arange(w_px)
    seen_before = np.arctan((u - cx) / f_px) + np.radians(theta_deg)   # earlier frame's ray angle
    x_before = cx + f_px * np.tan(seen_before)
    return float(np.mean((x_before < -0.5) | (x_before > w_px - 0.5)))


def test_body_yaw_from_odometry_leaves_nan_columns_on_the_turn_side(tmp_path, tmp_path_factory):
    checkpoint = make_checkpoint(tmp_path_factory)
    peer = DepthNetPeer()
    node = DepthNetProcess(tmp_path, base_params(checkpoint, motion_source='odometry'))
    try:
        peer.connect(node)
        assert wait_for(lambda: peer.pub_odom.get_subscription_count() > 0, 30), node.output()
        peer.odometry(1.0, T_of())
        peer.image(1)
        peer.wait_frames(1)
        peer.odometry(2.0, T_of(yaw(YAW_DEG), (0.3, 0.0, 0.0)))   # forward 0.3 m, turning left
        peer.image(2)
        assert wait_for(lambda: peer.with_stamp('depth/image', 2), 60), peer.pair_stats()
        depth = depth_of(peer.with_stamp('depth/image', 2)[0])
        finite = depth[np.isfinite(depth)]
        np.testing.assert_allclose(finite, CONST * 0.3 / NOMINAL_M, rtol=1e-4)
        middle = np.isnan(depth[depth.shape[0] // 2])
        h, w = depth.shape
        expected = lost_fraction_of_middle_row(YAW_DEG, K[0, 0] * w / (2 * K[0, 2] + 1), w)
        assert 0.1 < expected < 0.4
        assert abs(middle.mean() - expected) < 0.05, (middle.mean(), expected)
        lost = int(middle.sum())
        assert middle[:lost].all() and not middle[lost:].any(), middle   # one band, at the left edge
    finally:
        assert node.stop() == 0, node.output()
        peer.close()
