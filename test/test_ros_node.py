"""scdepth_node end to end through real DDS: the node runs as its own process (the console
script), this test process publishes camera streams and checks every output topic."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

rclpy = pytest.importorskip('rclpy')
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from depth_perception.geometry import R_BODY_OPTICAL, matrix_from_quaternion_xyzw  # noqa: E402
from depth_perception.ros.conversions import cloud_msg_to_xyz, image_to_rgb  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.slow]

H, W = 48, 64
K = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])
FRAME = 'test_cam_optical'
NODE_PARAMS = {'network_height': 64, 'network_width': 96, 'num_threads': 1, 'device': 'cpu',
               'diagnostics_period_s': 0.5, 'pseudo_rgbd': True, 'points_organized': False,
               'points_stride': 2}
OUTPUTS = {'depth/image': Image, 'depth/camera_info': CameraInfo, 'depth/colored': Image,
           'points': PointCloud2, 'odom': Odometry, 'camera/rgb/image_raw': Image,
           'camera/depth_registered/image_raw': Image}


def node_command() -> list[str]:
    script = Path(sys.executable).with_name('scdepth_node')
    base = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node']
    args = ['--ros-args']
    for k, v in NODE_PARAMS.items():
        args += ['-p', f'{k}:={str(v).lower() if isinstance(v, bool) else v}']
    return base + args


class Peer:
    """Publishes camera streams and records every output, keyed by topic."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('scdepth_test_peer', context=self.context)
        self.lock = threading.Lock()
        self.msgs = defaultdict(list)   # topic -> [(arrival monotonic s, msg)]
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        for topic, kind in OUTPUTS.items():
            self.node.create_subscription(kind, topic, self._recorder(topic), reliable)
        self.node.create_subscription(TFMessage, '/tf', self._recorder('/tf'), reliable)
        latched = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(TFMessage, '/tf_static', self._recorder('/tf_static'), latched)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._recorder('/diagnostics'), reliable)
        self.pub_image = self.node.create_publisher(Image, 'image_raw', reliable)
        self.pub_info = self.node.create_publisher(CameraInfo, 'camera_info', reliable)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _recorder(self, topic):
        def record(msg):
            with self.lock:
                self.msgs[topic].append((time.monotonic(), msg))
        return record

    def get(self, topic):
        with self.lock:
            return [m for _, m in self.msgs[topic]]

    def with_stamp(self, topic, sec):
        return [m for m in self.get(topic) if m.header.stamp.sec == sec]

    def stats(self) -> dict:
        """Latest statistics the node reported on /diagnostics."""
        for msg in reversed(self.get('/diagnostics')):
            for status in msg.status:
                if status.name.startswith('scdepth_node'):
                    return {kv.key: float(kv.value) for kv in status.values}
        return {}

    def publish(self, sec, pixels=None, encoding='rgb8', info_size=(W, H), K_=K, **image_overrides):
        info = CameraInfo(width=info_size[0], height=info_size[1], k=[float(v) for v in np.ravel(K_)])
        info.header.frame_id = FRAME
        info.header.stamp.sec = sec
        self.pub_info.publish(info)
        if pixels is None:
            pixels = np.random.default_rng(sec).integers(0, 255, (H, W, 3), dtype=np.uint8)
        h, w = pixels.shape[:2]
        msg = Image(height=h, width=w, encoding=encoding, step=pixels[0].size, is_bigendian=0)
        msg.header.frame_id = FRAME
        msg.header.stamp.sec = sec
        msg.data = np.ascontiguousarray(pixels).tobytes()
        for k, v in image_overrides.items():
            setattr(msg, k, v)
        self.pub_image.publish(msg)

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


_REFERENCE = {}


def reference_depth(rgb):
    """Depth of the default model at the node's network size for these pixels (in-process)."""
    from depth_perception.estimators import CameraFrame, create_estimator
    if 'est' not in _REFERENCE:
        _REFERENCE['est'] = create_estimator('scdepth', device='cpu', estimate_motion=False,
                                             resolution_hw=(NODE_PARAMS['network_height'],
                                                            NODE_PARAMS['network_width']))
    return _REFERENCE['est'].estimate(CameraFrame(np.ascontiguousarray(rgb), K)).depth_m


def pose_T(odom):
    """4x4 pose of an Odometry message, built with scipy (x, y, z, w order)."""
    p, q = odom.pose.pose.position, odom.pose.pose.orientation
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    T[:3, 3] = [p.x, p.y, p.z]
    return T


def wait_for(predicate, timeout_s, period_s=0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return predicate()


@pytest.fixture(scope='module')
def system(tmp_path_factory):
    log_path = tmp_path_factory.mktemp('node') / 'scdepth_node.log'
    log = log_path.open('w')
    proc = subprocess.Popen(node_command(), stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    peer = Peer()
    try:
        matched = wait_for(lambda: peer.pub_image.get_subscription_count() > 0
                           and peer.node.count_publishers('/depth/image') > 0, 60)
        assert matched, f'node did not come up:\n{log_path.read_text()}'
        time.sleep(2.0)   # LARGE_DATA TCP connections come up after discovery matching
        yield peer, proc, log_path
    finally:
        peer.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def process_one(peer, sec, timeout_s=30, **kwargs):
    peer.publish(sec, **kwargs)
    assert wait_for(lambda: all(peer.with_stamp(t, sec) for t in OUTPUTS), timeout_s), \
        {t: len(peer.with_stamp(t, sec)) for t in OUTPUTS}


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'])
def test_every_output_for_every_encoding(system, encoding):
    peer, proc, _ = system
    sec = 100 + ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'].index(encoding)
    rgb = np.random.default_rng(sec).integers(0, 255, (H, W, 3), dtype=np.uint8)
    pixels = {'rgb8': rgb, 'bgr8': rgb[..., ::-1],
              'rgba8': np.dstack([rgb, np.full((H, W), 9, np.uint8)]),
              'bgra8': np.dstack([rgb[..., ::-1], np.full((H, W), 9, np.uint8)]),
              'mono8': rgb[..., :1]}[encoding]
    process_one(peer, sec, pixels=pixels, encoding=encoding)

    for topic in OUTPUTS:
        (msg,) = peer.with_stamp(topic, sec)
        assert msg.header.frame_id == ('odom' if topic == 'odom' else FRAME), topic
        assert msg.header.stamp.nanosec == 0

    depth = peer.with_stamp('depth/image', sec)[0]
    assert (depth.encoding, depth.height, depth.width, depth.step) == ('32FC1', H, W, W * 4)
    depth_m = np.frombuffer(depth.data, np.float32).reshape(H, W)
    # The node publishes the estimator's depth for this very image (channel order and all):
    # the default model at the node's network size, run here in-process on the same pixels.
    np.testing.assert_allclose(depth_m, reference_depth(rgb[..., :1].repeat(3, 2) if encoding == 'mono8' else rgb),
                               rtol=1e-4, atol=1e-6)

    info = peer.with_stamp('depth/camera_info', sec)[0]
    assert (info.width, info.height) == (W, H)
    np.testing.assert_allclose(np.reshape(info.k, (3, 3)), K)
    np.testing.assert_allclose(np.reshape(info.p, (3, 4))[:, :3], K)

    colored = peer.with_stamp('depth/colored', sec)[0]
    assert (colored.encoding, colored.height, colored.width) == ('rgb8', H, W)

    cloud = peer.with_stamp('points', sec)[0]
    assert [f.name for f in cloud.fields] == ['x', 'y', 'z', 'rgb'] and cloud.height == 1
    xyz = cloud_msg_to_xyz(cloud)
    assert 0 < len(xyz) <= (H // 2) * (W // 2) and np.isfinite(xyz).all() and cloud.is_dense

    rgbd_rgb = peer.with_stamp('camera/rgb/image_raw', sec)[0]
    rgbd_depth = peer.with_stamp('camera/depth_registered/image_raw', sec)[0]
    assert rgbd_rgb.header.stamp == rgbd_depth.header.stamp == depth.header.stamp
    expected = np.repeat(rgb[..., :1], 3, 2) if encoding == 'mono8' else rgb
    np.testing.assert_array_equal(image_to_rgb(rgbd_rgb), expected)   # channel order preserved
    assert bytes(rgbd_depth.data) == bytes(depth.data)

    odom = peer.with_stamp('odom', sec)[0]
    assert odom.child_frame_id == 'camera_link'
    p, q = odom.pose.pose.position, odom.pose.pose.orientation
    pose = [p.x, p.y, p.z, q.x, q.y, q.z, q.w]
    assert np.isfinite(pose).all() and np.isclose(np.linalg.norm(pose[3:]), 1.0)
    assert np.isfinite(odom.pose.covariance).all() and odom.pose.covariance[0] > 0
    assert wait_for(lambda: any(t.header.stamp.sec == sec and t.header.frame_id == 'odom'
                                and t.child_frame_id == 'camera_link'
                                for m in peer.get('/tf') for t in m.transforms), 5)
    # /tf carries the same pose of camera_link in odom as the Odometry message.
    (tf,) = [t for m in peer.get('/tf') for t in m.transforms if t.header.stamp.sec == sec
             and t.child_frame_id == 'camera_link']
    tr, r = tf.transform.translation, tf.transform.rotation
    np.testing.assert_allclose([tr.x, tr.y, tr.z], pose[:3], atol=1e-9)
    assert abs(np.dot([r.x, r.y, r.z, r.w], pose[3:])) == pytest.approx(1.0, abs=1e-9)
    # The twist is the motion since the previous odometry pose, in the child frame (scipy):
    # v = R^T t / dt and w = rotvec(R) / dt for T_prev_curr = (R, t); a reset gives identity.
    odoms = peer.get('odom')
    prev = odoms[[m.header.stamp.sec for m in odoms].index(sec) - 1] if odoms[0] is not odom else None
    T_curr = pose_T(odom)
    if prev is None or prev.header.stamp.sec >= sec:
        np.testing.assert_allclose(T_curr, np.eye(4), atol=1e-9)      # reset on the time jump
    else:
        T_rel = np.linalg.inv(pose_T(prev)) @ T_curr
        dt = float(sec - prev.header.stamp.sec)
        lin, ang = odom.twist.twist.linear, odom.twist.twist.angular
        np.testing.assert_allclose([lin.x, lin.y, lin.z], T_rel[:3, :3].T @ T_rel[:3, 3] / dt, atol=1e-6)
        np.testing.assert_allclose([ang.x, ang.y, ang.z],
                                   Rotation.from_matrix(T_rel[:3, :3]).as_rotvec() / dt, atol=1e-6)
    # pose refinement is on by default; diagnostics count how often it replaced the network's motion
    assert wait_for(lambda: {'pose_refinement_accepted', 'pose_refinement_rejected'} <= set(peer.stats()), 5)
    assert proc.poll() is None


def test_static_transform_base_to_optical(system):
    peer, _, _ = system
    process_one(peer, 150)
    assert wait_for(lambda: peer.get('/tf_static'), 5)
    (t,) = peer.get('/tf_static')[-1].transforms
    assert (t.header.frame_id, t.child_frame_id) == ('camera_link', FRAME)
    r = t.transform.rotation
    np.testing.assert_allclose(matrix_from_quaternion_xyzw([r.x, r.y, r.z, r.w]), R_BODY_OPTICAL, atol=1e-9)


def test_bad_messages_are_dropped_and_node_keeps_working(system):
    peer, proc, log_path = system
    process_one(peer, 200)
    assert wait_for(lambda: 'rejected' in peer.stats(), 5)
    rejected0 = peer.stats()['rejected']
    rgb = np.zeros((H, W, 3), np.uint8)
    bad_K = K.copy()
    bad_K[0, 0] = np.nan
    peer.publish(201, rgb, encoding='yuv422')                    # unknown encoding
    time.sleep(0.1)
    peer.publish(202, rgb, step=W * 3 - 1)                       # step too small
    time.sleep(0.1)
    peer.publish(203, rgb, height=H + 1)                         # data size != step * height
    time.sleep(0.1)
    peer.publish(204, rgb, width=0, height=0, step=0, data=b'')  # zero size
    time.sleep(0.1)
    peer.publish(205, np.zeros((H, W + 2, 3), np.uint8))         # no camera_info of this size
    time.sleep(0.1)
    peer.publish(206, np.zeros((H + 4, W, 3), np.uint8), info_size=(W, H + 4), K_=bad_K)  # non-finite K
    time.sleep(0.1)
    # Size announced by a camera_info of another size than the image that follows it.
    peer.publish(207, np.zeros((H, W + 4, 3), np.uint8), info_size=(W + 8, H))
    assert wait_for(lambda: peer.stats().get("rejected", 0) >= rejected0 + 7, 10), (peer.stats(), log_path.read_text())
    process_one(peer, 210)                  # still alive and serving
    for sec in range(201, 208):
        for topic in OUTPUTS:
            assert not peer.with_stamp(topic, sec), (topic, sec)
    assert not [t for m in peer.get('/tf') for t in m.transforms if 201 <= t.header.stamp.sec <= 207]
    assert proc.poll() is None
    log = log_path.read_text()
    assert 'dropped image' in log and 'dropped camera_info' in log


def test_fast_publisher_frames_are_dropped_not_queued(system):
    peer, proc, _ = system
    process_one(peer, 300)
    assert wait_for(lambda: 'dropped' in peer.stats(), 5)
    dropped0 = peer.stats()['dropped']
    first, n = 301, 40
    for sec in range(first, first + n):    # far faster than inference
        peer.publish(sec)
        time.sleep(0.005)
    last = first + n - 1
    assert wait_for(lambda: peer.with_stamp('depth/image', last), 30), 'newest frame never processed'
    t_last = time.monotonic()
    time.sleep(1.5)
    served = [m.header.stamp.sec for m in peer.get('depth/image') if first <= m.header.stamp.sec <= last]
    assert served == sorted(served) and served[-1] == last      # nothing older after the newest
    assert len(served) < n / 2, served                            # most frames were skipped
    with peer.lock:
        late = [t for t, m in peer.msgs['depth/image'] if t > t_last and m.header.stamp.sec <= last]
    assert not late                                               # no backlog drained afterwards
    assert wait_for(lambda: peer.stats().get('dropped', 0) - dropped0 >= n / 2 - 1, 5), peer.stats()
    assert proc.poll() is None


def test_startup_warns_without_large_data_transport_and_exits_cleanly_on_sigint(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'FASTDDS_BUILTIN_TRANSPORTS'}
    env['ROS_DOMAIN_ID'] = str((int(os.environ['ROS_DOMAIN_ID']) + 1) % 100)  # talk to no one
    log_path = tmp_path / 'node.log'
    with log_path.open('w') as log:
        proc = subprocess.Popen(node_command(), stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            assert wait_for(lambda: 'listening on' in log_path.read_text(), 60, 0.2), log_path.read_text()
        finally:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(15)
    text = log_path.read_text()
    assert 'FASTDDS_BUILTIN_TRANSPORTS is unset' in text
    assert rc == 0 and 'Traceback' not in text, text
