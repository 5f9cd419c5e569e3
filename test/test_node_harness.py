"""Helpers (no tests) for the test_node_* files: a depth node in its own process, fed and
watched over real DDS by a peer in the test process, parameters through the node's services."""
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

rclpy = pytest.importorskip('rclpy')
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rcl_interfaces.srv import DescribeParameters, GetParameters, SetParameters  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
H, W = 48, 64
K = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])
FRAME = 'test_cam_optical'
FAST = {'network_height': 64, 'network_width': 96, 'num_threads': 1, 'device': 'cpu'}
TOPICS = {'depth/image': Image, 'depth/camera_info': CameraInfo, 'depth/colored': Image,
          'points': PointCloud2}


def node_command(params: dict, extra: list[str] = ()) -> list[str]:
    script = Path(sys.executable).with_name('scdepth_node')
    base = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node']
    args = ['--ros-args']
    for k, v in params.items():
        args += ['-p', f'{k}:={str(v).lower() if isinstance(v, bool) else v}']
    return base + args + list(extra)


def wait_for(predicate, timeout_s, period_s=0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return predicate()


class NodeProcess:
    """The console script in its own process; stdout+stderr in `log_path`, ROS log in `ros_log_dir`."""

    def __init__(self, tmp_path: Path, params: dict, extra: list[str] = (), env: dict | None = None):
        self.log_path = tmp_path / 'node.out'
        self.ros_log_dir = tmp_path / 'ros_log'
        env = dict(os.environ if env is None else env)
        env['ROS_LOG_DIR'] = str(self.ros_log_dir)
        env['PYTHONUNBUFFERED'] = '1'
        self._log = self.log_path.open('w')
        self.proc = subprocess.Popen(node_command(params, extra), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def output(self) -> str:
        return self.log_path.read_text(errors='replace')

    def ros_log(self) -> str:
        return ''.join(p.read_text(errors='replace') for p in self.ros_log_dir.rglob('*.log'))

    def wait(self, timeout_s=60) -> int:
        try:
            return self.proc.wait(timeout_s)
        finally:
            self._log.close()

    def stop(self, timeout_s=20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


class Peer:
    """Publishes a camera stream and records the node's outputs by topic."""

    def __init__(self, namespace: str = '', input_qos=None, node_name: str = 'scdepth_node'):
        self.ns = namespace.rstrip('/')
        self.node_fqn = f'{self.ns}/{node_name}'
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('node_test_peer', context=self.context)
        self.lock = threading.Lock()
        self.msgs = defaultdict(list)
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        for topic, kind in TOPICS.items():
            self.node.create_subscription(kind, f'{self.ns}/{topic}', self._recorder(topic), reliable)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._recorder('/diagnostics'), reliable)
        self.node.create_subscription(TFMessage, '/tf', self._recorder('/tf'), reliable)
        latched = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(TFMessage, '/tf_static', self._recorder('/tf_static'), latched)
        qos = input_qos or reliable
        self.pub_image = self.node.create_publisher(Image, f'{self.ns}/image_raw', qos)
        self.pub_info = self.node.create_publisher(CameraInfo, f'{self.ns}/camera_info', qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _recorder(self, topic):
        def record(msg):
            with self.lock:
                self.msgs[topic].append(msg)
        return record

    def get(self, topic):
        with self.lock:
            return list(self.msgs[topic])

    def with_stamp(self, topic, sec, nanosec=0):
        return [m for m in self.get(topic) if (m.header.stamp.sec, m.header.stamp.nanosec) == (sec, nanosec)]

    def connect(self, node: NodeProcess, timeout_s=90) -> None:
        up = wait_for(lambda: node.proc.poll() is not None or (
            self.pub_image.get_subscription_count() > 0
            and self.node.count_publishers(f'{self.ns}/depth/image') > 0), timeout_s, 0.1)
        assert up and node.proc.poll() is None, f'node did not come up:\n{node.output()}'
        time.sleep(1.0)   # transport connections settle after discovery matching

    def statuses(self):
        return [s for m in self.get('/diagnostics') for s in m.status if s.name.startswith('scdepth_node')]

    def stats(self) -> dict:
        st = self.statuses()
        return {kv.key: float(kv.value) for kv in st[-1].values} if st else {}

    def publish(self, sec, pixels=None, nanosec=0, frame_id=FRAME, info=True, K_=K, info_size=None,
                encoding='rgb8', **image_overrides):
        if pixels is None:
            pixels = np.random.default_rng(sec).integers(0, 255, (H, W, 3), dtype=np.uint8)
        h, w = pixels.shape[:2]
        if info:
            iw, ih = info_size or (w, h)
            msg = CameraInfo(width=iw, height=ih, k=[float(v) for v in np.ravel(K_)])
            msg.header.frame_id = frame_id
            msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
            self.pub_info.publish(msg)
        img = Image(height=h, width=w, encoding=encoding, step=pixels[0].size, is_bigendian=0)
        img.header.frame_id = frame_id
        img.header.stamp.sec, img.header.stamp.nanosec = sec, nanosec
        img.data = np.ascontiguousarray(pixels).tobytes()
        for k, v in image_overrides.items():
            setattr(img, k, v)
        self.pub_image.publish(img)

    def process_one(self, sec, timeout_s=30, topics=('depth/image',), **kwargs):
        self.publish(sec, **kwargs)
        ok = wait_for(lambda: all(self.with_stamp(t, sec) for t in topics), timeout_s)
        assert ok, {t: len(self.with_stamp(t, sec)) for t in topics}

    # ------------------------------------------------------------ parameter services
    def _call(self, srv_type, name, request, timeout_s=15):
        client = self.node.create_client(srv_type, f'{self.node_fqn}/{name}')
        try:
            assert client.wait_for_service(timeout_sec=timeout_s), f'no {self.node_fqn}/{name}'
            future = client.call_async(request)
            assert wait_for(future.done, timeout_s), f'{name} timed out'
            return future.result()
        finally:
            self.node.destroy_client(client)

    def set_param(self, name, value):
        """SetParametersResult of `ros2 param set <node> name value`."""
        req = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        return self._call(SetParameters, 'set_parameters', req).results[0]

    def get_param(self, name):
        from rclpy.parameter import parameter_value_to_python
        value = self._call(GetParameters, 'get_parameters', GetParameters.Request(names=[name])).values[0]
        return value.type, parameter_value_to_python(value)

    def describe(self, names):
        return self._call(DescribeParameters, 'describe_parameters',
                          DescribeParameters.Request(names=list(names))).descriptors

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def depth_of(msg: Image) -> np.ndarray:
    return np.frombuffer(msg.data, np.float32).reshape(msg.height, msg.width)


__all__ = ['FAST', 'FRAME', 'H', 'K', 'W', 'NodeProcess', 'Peer', 'ROOT', 'depth_of', 'node_command',
           'qos_profile_sensor_data', 'wait_for']


def publish_stream(width: int, height: int, rate_hz: float, count: int, wait_s: float = 60.0) -> None:
    """Camera-driver stand-in (run as its own process, see __main__): sensor-data QoS, like
    camera drivers, so Fast DDS transport settings of THIS process decide what arrives."""
    rclpy.init()
    node = rclpy.create_node('fake_camera')
    pub_img = node.create_publisher(Image, 'image_raw', qos_profile_sensor_data)
    pub_info = node.create_publisher(CameraInfo, 'camera_info', qos_profile_sensor_data)
    assert wait_for(lambda: pub_img.get_subscription_count() > 0, wait_s), 'no subscriber'
    time.sleep(2.0)
    f = 0.8 * width
    info = CameraInfo(width=width, height=height, k=[f, 0.0, (width - 1) / 2, 0.0, f, (height - 1) / 2, 0.0, 0.0, 1.0])
    data = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8).tobytes()
    period_ns = int(1e9 / rate_hz)
    t0 = time.monotonic()
    for i in range(count):
        img = Image(height=height, width=width, encoding='rgb8', step=width * 3)
        img.header.stamp.sec, img.header.stamp.nanosec = divmod(10**9 + i * period_ns, 10**9)
        img.header.frame_id = info.header.frame_id = FRAME
        info.header.stamp = img.header.stamp
        img.data = data
        pub_info.publish(info)
        pub_img.publish(img)
        time.sleep(max(0.0, t0 + (i + 1) / rate_hz - time.monotonic()))
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == '__main__':   # python test/test_node_harness.py WIDTH HEIGHT RATE_HZ COUNT
    publish_stream(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
