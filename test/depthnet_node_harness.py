"""Helpers (no tests) for test_depthnet_node*.py: depthnet_node in its own process, fed images,
camera_info, odometry and tf over real DDS by a peer in the test process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import TransformStamped  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from depth_perception.geometry import quaternion_xyzw_from_matrix  # noqa: E402
from test_depthnet_estimator import constant_checkpoint  # noqa: E402
from test_node_harness import NodeProcess, Peer, wait_for  # noqa: E402

CONST = 15.0                  # the constant checkpoint's network output
NOMINAL_M = 0.3
H, W = 96, 128
K = np.array([[64.0, 0, (W - 1) / 2], [0, 64.0, (H - 1) / 2], [0, 0, 1]])   # network sees 64x48
FRAME = 'dn_cam_optical'


def depthnet_command(params: dict) -> list[str]:
    script = Path(sys.executable).with_name('depthnet_node')
    base = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.depthnet_node']
    args = ['--ros-args']
    for k, v in params.items():
        args += ['-p', f'{k}:={str(v).lower() if isinstance(v, bool) else v}']
    return base + args


class DepthNetProcess(NodeProcess):
    def __init__(self, tmp_path: Path, params: dict):   # noqa: D107 - NodeProcess with our command
        self.log_path = tmp_path / 'node.out'
        self.ros_log_dir = tmp_path / 'ros_log'
        env = dict(os.environ, ROS_LOG_DIR=str(self.ros_log_dir), PYTHONUNBUFFERED='1')
        self._log = self.log_path.open('w')
        self.proc = subprocess.Popen(depthnet_command(params), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def make_checkpoint(tmp_path_factory) -> str:
    import torch
    torch.set_num_threads(1)
    return str(constant_checkpoint(tmp_path_factory.mktemp('dn') / 'DepthNet_elu_bn_64.pth.tar', CONST))


def base_params(checkpoint: str, **extra) -> dict:
    return {'checkpoint': checkpoint, 'device': 'cpu', 'num_threads': 1, 'diagnostics_period_s': 0.2,
            'input_qos': 'reliable', 'motion_wait_s': 0.3, **extra}


def T_of(R=np.eye(3), t=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def yaw(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def _fill(pose_or_transform, T, translation_field):
    p = getattr(pose_or_transform, translation_field)
    p.x, p.y, p.z = (float(v) for v in T[:3, 3])
    q = pose_or_transform.orientation if hasattr(pose_or_transform, 'orientation') else pose_or_transform.rotation
    q.x, q.y, q.z, q.w = (float(v) for v in quaternion_xyzw_from_matrix(T[:3, :3]))


def stamp_of(msg, t_s: float) -> None:
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t_s), int(round((t_s % 1) * 1e9))


class DepthNetPeer(Peer):
    def __init__(self):
        super().__init__(node_name='depthnet_node')
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_odom = self.node.create_publisher(Odometry, 'odom', reliable)
        self.pub_tf = self.node.create_publisher(TFMessage, '/tf', reliable)
        latched = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pub_tf_static = self.node.create_publisher(TFMessage, '/tf_static', latched)

    def statuses(self):
        return [s for m in self.get('/diagnostics') for s in m.status if s.name == 'depthnet_node: inference']

    def _values(self) -> dict:
        st = self.statuses()
        return {kv.key: kv.value for kv in st[-1].values} if st else {}

    def stats(self) -> dict:
        return {k: float(v) for k, v in self._values().items() if k != 'last_frame_pairs'}

    def pair_stats(self) -> dict:
        """Pair counters (shift<k>_<used|reason>, frames, frames_without_pair, frames_motion_unknown)."""
        return {k: int(v) for k, v in self.stats().items() if k.startswith(('shift', 'frames'))}

    def pair_message(self) -> str:
        return self._values().get('last_frame_pairs', '')

    def wait_frames(self, n: int, timeout_s=60) -> dict:
        """Wait until the node has run the estimator on n frames (diagnostics counter)."""
        assert wait_for(lambda: self.pair_stats().get('frames', 0) >= n, timeout_s), self.pair_stats()
        wait_for(lambda: False, 0.5)    # one more diagnostics period: counters of frame n settled
        return self.pair_stats()

    def odometry(self, t_s: float, T_odom_body: np.ndarray, bad: bool = False) -> None:
        msg = Odometry()
        msg.header.frame_id, msg.child_frame_id = 'odom', 'camera_link'
        stamp_of(msg, t_s)
        _fill(msg.pose.pose, T_odom_body, 'position')
        if bad:
            msg.pose.pose.orientation.w = float('nan')
        self.pub_odom.publish(msg)

    def transform(self, t_s: float, parent: str, child: str, T: np.ndarray, static=False) -> None:
        msg = TransformStamped()
        msg.header.frame_id, msg.child_frame_id = parent, child
        stamp_of(msg, t_s)
        _fill(msg.transform, T, 'translation')
        (self.pub_tf_static if static else self.pub_tf).publish(TFMessage(transforms=[msg]))

    def image(self, sec: int, nanosec: int = 0, **kwargs) -> None:
        pixels = np.random.default_rng(sec * 1000 + nanosec // 1000000).integers(0, 255, (H, W, 3), dtype=np.uint8)
        self.publish(sec, pixels=pixels, nanosec=nanosec, frame_id=FRAME, K_=K, **kwargs)
