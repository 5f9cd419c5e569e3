"""BagReader and message -> numpy conversions: real fixtures and strict validation."""
import numpy as np
import pytest
from conftest import shared_fixture

from depth_perception.bags.messages import camera_info_msg, image_msg, pose_stamped_msg
from depth_perception.bags.reader import (BagError, BagReader, POSE_STAMPED, TF_MESSAGE, ODOMETRY,
                                          camera_info_to_K, image_to_depth_m, image_to_numpy,
                                          image_to_rgb, pose_from_message)
from depth_perception.bags.writer import BagWriter

SEVEN = 'derived_sevenscenes_rosbag2/sevenscenes_tsdf50'


def test_16uc1_millimetres_with_invalid_values():
    mm = np.array([[0, 1000, 65535], [2500, 1, 65534]], np.uint16)
    d = image_to_depth_m(image_msg(mm, 0, 'cam', '16UC1'))
    assert np.isnan(d[0, 0]) and np.isnan(d[0, 2])
    np.testing.assert_allclose(d[~np.isnan(d)], [1.0, 2.5, 0.001, 65.534], rtol=1e-6)


def test_32fc1_invalid_values_and_bgr():
    m = np.array([[np.nan, -1.0, 0.0, np.inf, 2.5]], np.float32)
    d = image_to_depth_m(image_msg(m, 0, 'cam', '32FC1'))
    assert np.isnan(d[0, :4]).all() and d[0, 4] == 2.5
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[..., 0] = 255                                      # blue in BGR order
    rgb = image_to_rgb(image_msg(bgr, 0, 'cam', 'bgr8'))
    assert (rgb[..., 2] == 255).all() and (rgb[..., 0] == 0).all()


def test_malformed_images_are_rejected():
    msg = image_msg(np.zeros((4, 5), np.uint16), 0, 'cam', '16UC1')
    msg.step = 6                                           # < 5 px * 2 bytes
    with pytest.raises(BagError, match='step 6 is smaller'):
        image_to_numpy(msg, '/d')
    msg = image_msg(np.zeros((4, 5), np.uint16), 0, 'cam', '16UC1')
    msg.data = msg.data[:-2]
    with pytest.raises(BagError, match='expected height\\*step = 40'):
        image_to_numpy(msg, '/d')
    msg = image_msg(np.zeros((4, 5), np.uint8), 0, 'cam', 'mono8')
    msg.encoding = 'yuv422'
    with pytest.raises(BagError, match="unsupported image encoding 'yuv422' on /d"):
        image_to_numpy(msg, '/d')
    with pytest.raises(BagError, match='expected 32FC1'):
        image_to_depth_m(image_msg(np.zeros((2, 2, 3), np.uint8), 0, 'c'), '/d')


def test_camera_info_and_pose_validation():
    K = np.array([[500.0, 0, 32], [0, 500, 24], [0, 0, 1]])
    K2, hw = camera_info_to_K(camera_info_msg(K, 64, 48, 0, 'cam'))
    np.testing.assert_array_equal(K2, K)
    assert hw == (48, 64)
    with pytest.raises(BagError, match='invalid K'):
        camera_info_to_K(camera_info_msg(np.zeros((3, 3)), 64, 48, 0, 'cam'), '/ci')
    msg = pose_stamped_msg(np.eye(4), 5, 'world')
    msg.pose.orientation.w = 0.5
    with pytest.raises(BagError, match='invalid pose'):
        pose_from_message(msg, POSE_STAMPED, '/gt')


def test_open_errors(tmp_path):
    with pytest.raises(BagError, match='does not exist'):
        BagReader(tmp_path / 'nope').open()
    (tmp_path / 'empty_dir').mkdir()
    with pytest.raises(BagError, match='is empty'):
        BagReader(tmp_path / 'empty_dir').open()
    bad = tmp_path / 'junk.mcap'
    bad.write_bytes(b'not a bag at all')
    with pytest.raises(BagError, match='cannot open bag'):
        BagReader(bad).open()


def test_missing_topic_lists_what_the_bag_has(tmp_path):
    with BagWriter(tmp_path / 'b') as w:
        w.write('/cam/image', image_msg(np.zeros((4, 4, 3), np.uint8), 1, 'c'), 1)
    with BagReader(tmp_path / 'b') as bag:
        with pytest.raises(BagError, match=r'topic /nope is not in .*the bag has: /cam/image \[sensor_msgs/msg/Image\] x1'):
            bag.require('/nope')
        with pytest.raises(BagError, match='expected sensor_msgs/msg/CameraInfo'):
            bag.require('/cam/image', 'sensor_msgs/msg/CameraInfo')


def test_truncated_bag_is_reported(tmp_path):
    with BagWriter(tmp_path / 'b', storage='mcap') as w:
        for i in range(20):
            w.write('/cam/image', image_msg(np.full((64, 64, 3), i, np.uint8), i + 1, 'c'), i + 1)
    f = next((tmp_path / 'b').glob('*.mcap'))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(BagError, match='truncated or corrupt|cannot open bag'):
        with BagReader(tmp_path / 'b') as bag:
            list(bag.raw_messages(['/cam/image']))


def test_sevenscenes_bag_depth_matches_png():
    cv2 = pytest.importorskip('cv2')
    bag_path = shared_fixture(SEVEN)
    png = shared_fixture('sevenscenes_tsdf50/data/rgbd-frames/frame-000150.depth.png')
    with BagReader(bag_path) as bag:
        assert bag.topics['/camera/depth/image_raw'].count == 50
        topic, _, msg = next(bag.messages(['/camera/depth/image_raw']))
        depth = image_to_depth_m(msg, topic)
        ci = next(bag.messages(['/camera/color/camera_info']))[2]
        K, hw = camera_info_to_K(ci)
    raw = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    expected = np.where((raw > 0) & (raw < 65535), raw / 1000.0, np.nan)
    np.testing.assert_allclose(depth, expected, rtol=1e-6, equal_nan=True)
    assert hw == (480, 640) and K[0, 0] == 585.0


def test_evo_bags_sqlite_mcap_and_ros1():
    db3 = shared_fixture('evo_trajectories_bags/test/data/tf_example')
    with BagReader(db3) as bag:
        pairs = {(p.parent, p.child) for _, _, m in bag.messages(['/tf'])
                 for p in pose_from_message(m, TF_MESSAGE)}
    assert ('odom', 'base_footprint') in pairs
    mcap = shared_fixture('evo_trajectories_bags/test/data/nav2_turtlebot.mcap')
    with BagReader(mcap) as bag:
        poses = [p for _, _, m in bag.messages(['/odom']) for p in pose_from_message(m, ODOMETRY)]
    assert len(poses) == 2639 and poses[0].parent == 'odom'
    ros1 = shared_fixture('evo_trajectories_bags/test/data/ROS_example.bag')
    with BagReader(ros1) as bag:   # rosbags reads ROS 1 with its embedded definitions
        assert bag.topics['groundtruth'].msgtype == POSE_STAMPED
