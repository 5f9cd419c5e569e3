"""A synthetic UAV flight (pure translation, exact poses) written to a real rosbag2 by the
synthetic engine, read back and played into depthnet_node over real DDS: images, camera_info
and odometry made from the bag's ground-truth poses.

Known answers: with the constant checkpoint every depth pixel must equal CONST * |d| / 0.3 m,
|d| being the ground-truth camera displacement between the paired frames in the bag; with the
packaged (trained) model the depth must be near the bag's ground-truth depth, without any scale
given, and far better than the best constant depth of the training data, also when the
odometry's orientation drifts and refine_rotation corrects it from the images.
"""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from depthnet_node_harness import CONST, NOMINAL_M, DepthNetPeer, DepthNetProcess, base_params, make_checkpoint
from depth_perception.bags.reader import (BagReader, camera_info_to_K, image_to_depth_m, image_to_rgb,
                                          pose_from_message)
from depth_perception.odometry import T_OPTICAL_BASE
from depth_perception.synthetic import BagTopics, SequenceConfig, make_sequence, write_bag
from test_node_harness import depth_of, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAMES = 5
TRAINED_FRAMES = 8
# The median depth of the Still Box flights the shipped model started from (`evaluate stillbox`: the best constant).
TRAINING_CONSTANT_M = 27.6
# Measured: abs_rel 0.273 against 0.551 for that constant (a hard flight: 0.13-0.18 on others,
# test_depthnet_default_model.py).
TRAINED_MAX_ABS_REL = 0.35
TRAINED_MAX_RATIO_TO_CONSTANT = 0.6


def flight_bag(folder, frames: int, size_wh: tuple[int, int], seed: int):
    seq = make_sequence(SequenceConfig(scene='stillbox', trajectory='uav', frames=frames, width=size_wh[0],
                                       height=size_wh[1], seed=seed))
    write_bag(seq, folder / 'uav_bag', progress=False)
    return folder / 'uav_bag'


@pytest.fixture(scope='module')
def uav_bag(tmp_path_factory):
    return flight_bag(tmp_path_factory.mktemp('uav'), FRAMES, (128, 96), seed=4)


def read_bag(path, frames: int = FRAMES):
    """[(stamp ns, rgb, K, T_world_cam, gt depth m)] in stamp order."""
    topics = BagTopics()
    images, infos, poses, depths = {}, {}, {}, {}
    with BagReader(path).open() as bag:
        for topic, _, msg in bag.messages([topics.image, topics.camera_info, topics.pose, topics.depth]):
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            if topic == topics.image:
                images[stamp] = image_to_rgb(msg, topic)
            elif topic == topics.camera_info:
                infos[stamp] = camera_info_to_K(msg, topic)[0]
            elif topic == topics.depth:
                depths[stamp] = image_to_depth_m(msg, topic)
            else:
                poses[stamp] = pose_from_message(msg, 'geometry_msgs/msg/PoseStamped', topic)[0].T
    assert len(images) == len(poses) == len(depths) == frames
    return [(s, images[s], infos[s], poses[s], depths[s]) for s in sorted(images)]


def play(peer, frames, on_depth, shift: int = 1) -> None:
    """Publish each frame with its odometry; from frame `shift` on (the first with an earlier
    frame to pair with) wait for its depth and hand it to on_depth(i, depth, frame)."""
    for i, (stamp, rgb, K, T_world_cam, _) in enumerate(frames):
        sec, nanosec = divmod(stamp, 10**9)
        # odometry of the camera body: the optical pose turned back into REP 103 axes
        peer.odometry(stamp * 1e-9, T_world_cam @ T_OPTICAL_BASE)
        peer.publish(sec, pixels=rgb, nanosec=nanosec, frame_id='camera_color_optical_frame', K_=K)
        peer.wait_frames(i + 1)
        if i >= shift:
            assert wait_for(lambda: peer.with_stamp('depth/image', sec, nanosec), 60)
            on_depth(i, depth_of(peer.with_stamp('depth/image', sec, nanosec)[0]), frames[i])


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

        def check(i, depth, frame):
            disp_m = float(np.linalg.norm(frame[3][:3, 3] - frames[i - 1][3][:3, 3]))
            assert np.isfinite(depth).all()       # no rotation: nothing to de-rotate, no holes
            np.testing.assert_allclose(depth, CONST * disp_m / NOMINAL_M, rtol=1e-4)
            published.append(disp_m)
        play(peer, frames, check)
        assert len(published) == FRAMES - 1 and min(published) > 0.05
        s = peer.wait_frames(FRAMES)
        assert s['shift1_used'] == FRAMES - 1 and s['shift1_no_earlier_frame'] == 1
    finally:
        rc = node.stop()
        peer.close()
    assert rc == 0, node.output()


@pytest.fixture(scope='module')
def trained_flight(tmp_path_factory):
    return read_bag(flight_bag(tmp_path_factory.mktemp('uav_trained'), TRAINED_FRAMES, (128, 128), seed=777004),
                    TRAINED_FRAMES)


def _drifting(frames, deg_per_frame: float):
    """The frames with an orientation that turns away from the truth by deg_per_frame a frame."""
    axis = np.array([0.3, 1.0, 0.2]) / np.linalg.norm([0.3, 1.0, 0.2])
    out = []
    for i, (stamp, rgb, K, T, depth) in enumerate(frames):
        D = cv2.Rodrigues((axis * np.radians(deg_per_frame * i)).reshape(3, 1))[0]
        out.append((stamp, rgb, K, np.block([[T[:3, :3] @ D, T[:3, 3:]], [T[3:]]]), depth))
    return out


@pytest.mark.parametrize('refine', [False, True], ids=['true_odometry', 'drifting_odometry_refined'])
def test_packaged_model_gives_metric_depth_near_the_bags_ground_truth(tmp_path, trained_flight, refine):
    """No checkpoint parameter: the packaged model, scored against the bag's rendered depth; and
    with odometry whose orientation drifts 0.4 deg a frame (1.2 deg between the frames of a
    pair), which refine_rotation must correct."""
    frames = _drifting(trained_flight, 0.4) if refine else trained_flight
    peer = DepthNetPeer()
    params = base_params('', motion_source='odometry', frame_shifts='3', refine_rotation=refine)
    del params['checkpoint']
    node = DepthNetProcess(tmp_path, params)
    model, constant = [], []

    def score(i, depth, frame):
        gt = frame[4].astype(np.float64)
        gt[gt > 100.0] = np.nan                   # the model's range, as in training
        ok = np.isfinite(gt) & np.isfinite(depth)
        assert ok.mean() > 0.9
        model.append(float(np.mean(np.abs(depth[ok] - gt[ok]) / gt[ok])))
        constant.append(float(np.mean(np.abs(TRAINING_CONSTANT_M - gt[ok]) / gt[ok])))
    try:
        peer.connect(node)
        assert wait_for(lambda: peer.pub_odom.get_subscription_count() > 0, 30)
        play(peer, frames, score, shift=3)
        if refine:
            assert peer.pair_stats()['shift3_rotation_refined'] == TRAINED_FRAMES - 3
            assert re.search(r'corrected by 1\.[12]\d deg', peer.pair_message()), peer.pair_message()
    finally:
        rc = node.stop()
        peer.close()
    assert rc == 0, node.output()
    assert 'depthnet_default.pt' in node.output()
    assert len(model) == TRAINED_FRAMES - 3
    m, c = float(np.mean(model)), float(np.mean(constant))
    print(f'abs_rel {m:.3f}, constant {TRAINING_CONSTANT_M} m {c:.3f}')
    assert m <= TRAINED_MAX_ABS_REL and m <= TRAINED_MAX_RATIO_TO_CONSTANT * c, (m, c)
