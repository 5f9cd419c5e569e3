"""bags.messages + bags.writer: numpy -> rosbags messages -> MCAP/sqlite3 -> AnyReader -> numpy."""
from __future__ import annotations

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from depth_perception.bags import (TYPESTORE, BagWriter, camera_info_msg, decode_image, image_msg,
                                   pose_stamped_msg, T_from_pose_msg, T_from_transform_msg,
                                   tf_message, transform_stamped_msg)
from depth_perception.geometry import euler_xyz_to_matrix_np, make_T


def _read_all(path):
    out = []
    with AnyReader([path], default_typestore=TYPESTORE) as reader:
        for conn, t_ns, raw in reader.messages():
            out.append((conn.topic, conn.msgtype, t_ns, reader.deserialize(raw, conn.msgtype)))
    return out


@pytest.mark.parametrize('storage,suffix', [('mcap', '.mcap'), ('sqlite3', '.db3')])
def test_roundtrip_all_message_kinds(tmp_path, storage, suffix):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    mono = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (5, 7), dtype=np.uint16)
    depth = rng.uniform(0.5, 9, (5, 7)).astype(np.float32)
    depth[0, 0] = np.nan
    K = np.array([[50.0, 0, 3.0], [0, 51.0, 2.0], [0, 0, 1]])
    T = make_T(euler_xyz_to_matrix_np(0.1, -0.4, 2.0), [1.0, -2.0, 3.5])
    t0 = 1_700_000_000_123_456_789
    path = tmp_path / 'bag'
    with BagWriter(path, storage=storage) as bag:
        for k in range(2):
            t = t0 + k * 100_000_000
            bag.write('/rgb', image_msg(rgb, t, 'cam'), t)
            bag.write('/mono', image_msg(mono, t, 'cam'), t)
            bag.write('/u16', image_msg(u16, t, 'cam'), t)
            bag.write('/depth', image_msg(depth, t, 'cam'), t)
            bag.write('/info', camera_info_msg(K, 7, 5, t, 'cam'), t)
            bag.write('/pose', pose_stamped_msg(T, t, 'world'), t)
            bag.write('/tf', tf_message([transform_stamped_msg(T, t, 'world', 'cam')]), t)
    assert bag.message_counts == {k: 2 for k in ('/rgb', '/mono', '/u16', '/depth', '/info', '/pose', '/tf')}
    assert (path / f'bag{suffix}').is_file() and (path / 'metadata.yaml').is_file()
    msgs = _read_all(path)
    assert len(msgs) == 14
    types = {topic: msgtype for topic, msgtype, _, _ in msgs}
    assert types == {'/rgb': 'sensor_msgs/msg/Image', '/mono': 'sensor_msgs/msg/Image',
                     '/u16': 'sensor_msgs/msg/Image', '/depth': 'sensor_msgs/msg/Image',
                     '/info': 'sensor_msgs/msg/CameraInfo', '/pose': 'geometry_msgs/msg/PoseStamped',
                     '/tf': 'tf2_msgs/msg/TFMessage'}
    expected_images = {'/rgb': (rgb, 'rgb8'), '/mono': (mono, 'mono8'), '/u16': (u16, '16UC1'),
                       '/depth': (depth, '32FC1')}
    for topic, _, t_ns, msg in msgs:
        header = msg.transforms[0].header if topic == '/tf' else msg.header
        assert header.stamp.sec * 1_000_000_000 + header.stamp.nanosec == t_ns
        assert (t_ns - t0) % 100_000_000 == 0
        if topic in expected_images:
            array, encoding = expected_images[topic]
            assert msg.encoding == encoding and header.frame_id == 'cam'
            np.testing.assert_array_equal(decode_image(msg), array)  # NaN == NaN here
        elif topic == '/info':
            np.testing.assert_array_equal(msg.k.reshape(3, 3), K)
            np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], K)
            assert msg.distortion_model == 'plumb_bob' and not np.any(msg.d)
            assert (msg.width, msg.height) == (7, 5)
        elif topic == '/pose':
            assert header.frame_id == 'world'
            np.testing.assert_allclose(T_from_pose_msg(msg), T, atol=1e-12)
        else:
            tf = msg.transforms[0]
            assert (tf.header.frame_id, tf.child_frame_id) == ('world', 'cam')
            np.testing.assert_allclose(T_from_transform_msg(tf), T, atol=1e-12)


def test_metadata_carries_type_hashes(tmp_path):
    with BagWriter(tmp_path / 'b', storage='mcap') as bag:
        bag.write('/info', camera_info_msg(np.eye(3), 2, 2, 1, 'c'), 1)
    text = (tmp_path / 'b' / 'metadata.yaml').read_text()
    assert TYPESTORE.hash_rihs01('sensor_msgs/msg/CameraInfo') in text
    assert 'version: 8' in text


def test_refuses_to_overwrite_and_rejects_bad_input(tmp_path):
    (tmp_path / 'exists').mkdir()
    with pytest.raises(FileExistsError, match='refusing to overwrite'):
        BagWriter(tmp_path / 'exists').open()
    with pytest.raises(ValueError, match='unknown bag storage'):
        BagWriter(tmp_path / 'x', storage='rosbag1')
    with pytest.raises(ValueError, match='encoding'):
        image_msg(np.zeros((2, 2), np.float64), 0, 'c')
    with pytest.raises(ValueError, match='needs 3 channel'):
        image_msg(np.zeros((2, 2), np.uint8), 0, 'c', encoding='rgb8')
    with BagWriter(tmp_path / 'y') as bag:
        bag.write('/a', image_msg(np.zeros((2, 2), np.uint8), 0, 'c'), 0)
        with pytest.raises(Exception, match='already carries'):
            bag.write('/a', pose_stamped_msg(np.eye(4), 0, 'w'), 0)
