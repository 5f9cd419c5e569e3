"""A synthetic UAV flight (pure translation, exact poses) written to a real rosbag2 by the
synthetic engine, read back and played into depthnet_node over real DDS: images, camera_info
and odometry made from the bag's ground-truth poses.

Known answer: with the constant checkpoint every depth pixel must equal CONST * |d| / 0.3 m,
|d| being the ground-truth camera displacement between the paired frames in the bag. (A
trained DepthNet would be scored against the bag's GT depth; none exists yet.)
"""
from __future__ import annotations

import numpy as np
import pytest

from depthnet_node_harness import CONST, NOMINAL_M, DepthNetPeer, DepthNetProcess, base_params, make_checkpoint
from depth_perception.bags.reader import BagReader, camera_info_to_K, image_to_rgb, pose_from_message
from depth_perception.odometry import T_OPTICAL_BASE
from depth_perception.synthetic import BagTopics, SequenceConfig, make_sequence, write_bag
from test_node_harness import depth_of, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAMES = 5


@pytest.fixture(scope='module')
def uav_bag(tmp_path_factory):
    seq = make_sequence(SequenceConfig(scene='stillbox', trajectory='uav', frames=FRAMES, width=128, height=96,
                                       seed=4))
    path = tmp_path_factory.mktemp('uav') / 'uav_bag'
    write_bag(seq, path, progress=False)
    return path


def read_bag(path):
    topics = BagTopics()
    images, infos, poses = {}, {}, {}
    with BagReader(path).open() as bag:
        for topic, _, msg in bag.messages([topics.image, topics.camera_info, topics.pose]):
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            if topic == topics.image:
                images[stamp] = image_to_rgb(msg, topic)
            elif topic == topics.camera_info:
                infos[stamp] = camera_info_to_K(msg, topic)[0]
            else:
                poses[stamp] = pose_from_message(msg, 'geometry_msgs/msg/PoseStamped', topic)[0].T
    assert len(images) == len(poses) == FRAMES
    return [(s, images[s], infos[s], poses[s]) for s in sorted(images)]


def test_uav_bag_played_into_the_node_gives_metric_depth(tmp_path, uav_bag, tmp_path_factory):
    frames = read_bag(uav_bag)
    rotations = [np.degrees(np.arccos(np.clip((np.trace(a[3][:3, :3].T @ b[3][:3, :3]) - 1) / 2, -1, 1)))
                 for a, b in zip(frames, frames[1:])]
    assert max(rotations) < 1e-3          # the engine's UAV flight is pure translation
    peer = DepthNetPeer()
    node = DepthNetProcess(tmp_path, base_params(make_checkpoint(tmp_path_factory), motion_source='odometry'))
    try:
        peer.connect(node)
        assert wait_for(lambda: peer.pub_odom.get_subscription_count() > 0, 30)
        published = []
        for i, (stamp, rgb, K, T_world_cam) in enumerate(frames):
            sec, nanosec = divmod(stamp, 10**9)
            # odometry of the camera body: the optical pose turned back into REP 103 axes
            peer.odometry(stamp * 1e-9, T_world_cam @ T_OPTICAL_BASE)
            peer.publish(sec, pixels=rgb, nanosec=nanosec, frame_id='camera_color_optical_frame', K_=K)
            peer.wait_frames(i + 1)
            if i == 0:
                continue
            disp_m = float(np.linalg.norm(T_world_cam[:3, 3] - frames[i - 1][3][:3, 3]))
            assert wait_for(lambda: peer.with_stamp('depth/image', sec, nanosec), 60)
            depth = depth_of(peer.with_stamp('depth/image', sec, nanosec)[0])
            assert np.isfinite(depth).all()       # no rotation: nothing to de-rotate, no holes
            np.testing.assert_allclose(depth, CONST * disp_m / NOMINAL_M, rtol=1e-4)
            published.append(disp_m)
        assert len(published) == FRAMES - 1 and min(published) > 0.05
        s = peer.wait_frames(FRAMES)
        assert s['shift1_used'] == FRAMES - 1 and s['shift1_no_earlier_frame'] == 1
    finally:
        rc = node.stop()
        peer.close()
    assert rc == 0, node.output()
