"""The output bag of an evaluation: what the node would publish, as a rosbag2 (MCAP by default).

Topics (the node's names, so `ros2 bag play` drives the same rviz config):
  /depth/image        sensor_msgs/Image 32FC1 metres, NaN invalid, input stamp and frame id
  /depth/camera_info  sensor_msgs/CameraInfo of the depth image
  /points             sensor_msgs/PointCloud2 (pointcloud.py layout, optical frame)
  /odom               nav_msgs/Odometry odom -> base (REP 105, body frame)
  /tf                 odom -> base;  /tf_static  base -> optical frame
Bag receive times equal the header stamps, so playback with --clock replays the input timing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..bags.messages import (TYPESTORE, camera_info_msg, header_msg, image_msg, tf_message,
                             transform_stamped_msg)
from ..bags.writer import BagWriter
from ..odometry import T_BASE_OPTICAL, OdometryState
from ..geometry import quaternion_xyzw_from_matrix
from ..pointcloud import PackedCloud, depth_to_cloud, pack_cloud

_T = TYPESTORE.types

TOPIC_DEPTH = '/depth/image'
TOPIC_DEPTH_INFO = '/depth/camera_info'
TOPIC_POINTS = '/points'
TOPIC_ODOM = '/odom'
TOPIC_TF = '/tf'
TOPIC_TF_STATIC = '/tf_static'


def point_cloud2_msg(cloud: PackedCloud, t_ns: int, frame_id: str) -> Any:
    fields = [_T['sensor_msgs/msg/PointField'](name=n, offset=o, datatype=d, count=c)
              for n, o, d, c in cloud.fields]
    return _T['sensor_msgs/msg/PointCloud2'](
        header=header_msg(t_ns, frame_id), height=cloud.height, width=cloud.width,
        fields=fields, is_bigendian=False, point_step=cloud.point_step, row_step=cloud.row_step,
        data=np.ascontiguousarray(cloud.data).view(np.uint8).reshape(-1), is_dense=cloud.is_dense)


def _pose_cov(T: np.ndarray, cov: np.ndarray) -> Any:
    q = quaternion_xyzw_from_matrix(T[:3, :3])
    pose = _T['geometry_msgs/msg/Pose'](
        position=_T['geometry_msgs/msg/Point'](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
        orientation=_T['geometry_msgs/msg/Quaternion'](x=q[0], y=q[1], z=q[2], w=q[3]))
    return _T['geometry_msgs/msg/PoseWithCovariance'](pose=pose, covariance=np.asarray(cov, np.float64).reshape(36))


def odometry_msg(state: OdometryState, t_ns: int, odom_frame: str, base_frame: str) -> Any:
    V3 = _T['geometry_msgs/msg/Vector3']
    lin, ang = state.linear_velocity_mps, state.angular_velocity_radps
    twist = _T['geometry_msgs/msg/Twist'](linear=V3(x=lin[0], y=lin[1], z=lin[2]),
                                          angular=V3(x=ang[0], y=ang[1], z=ang[2]))
    return _T['nav_msgs/msg/Odometry'](
        header=header_msg(t_ns, odom_frame), child_frame_id=base_frame,
        pose=_pose_cov(state.T_odom_base, state.pose_covariance),
        twist=_T['geometry_msgs/msg/TwistWithCovariance'](
            twist=twist, covariance=np.asarray(state.twist_covariance, np.float64).reshape(36)))


class OutputBag:
    """Writes one evaluated frame at a time; `cloud_stride` thins the cloud (1 = every pixel)."""

    def __init__(self, path: str | Path, storage: str = 'mcap', odom_frame: str = 'odom',
                 base_frame: str = 'camera_link', cloud_stride: int = 4):
        self.writer = BagWriter(path, storage=storage)
        self.odom_frame = odom_frame
        self.base_frame = base_frame
        self.cloud_stride = max(1, int(cloud_stride))
        self._static_written = False

    def __enter__(self) -> 'OutputBag':
        self.writer.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.writer.close()

    @property
    def path(self) -> Path:
        return self.writer.path

    def write_frame(self, t_ns: int, optical_frame: str, depth_m: np.ndarray, K: np.ndarray,
                    odom: OdometryState | None, rgb: np.ndarray | None = None) -> None:
        w = self.writer
        h, wd = depth_m.shape
        w.write(TOPIC_DEPTH, image_msg(np.asarray(depth_m, np.float32), t_ns, optical_frame, '32FC1'), t_ns)
        w.write(TOPIC_DEPTH_INFO, camera_info_msg(K, wd, h, t_ns, optical_frame), t_ns)
        colors = rgb if rgb is not None and rgb.shape[:2] == depth_m.shape else None
        points, cols = depth_to_cloud(depth_m, K, colors, organized=True, stride=self.cloud_stride)
        w.write(TOPIC_POINTS, point_cloud2_msg(pack_cloud(points, cols), t_ns, optical_frame), t_ns)
        if odom is not None:
            if not self._static_written:
                w.write(TOPIC_TF_STATIC, tf_message([transform_stamped_msg(
                    T_BASE_OPTICAL, t_ns, self.base_frame, optical_frame)]), t_ns)
                self._static_written = True
            w.write(TOPIC_ODOM, odometry_msg(odom, t_ns, self.odom_frame, self.base_frame), t_ns)
            w.write(TOPIC_TF, tf_message([transform_stamped_msg(
                odom.T_odom_base, t_ns, self.odom_frame, self.base_frame)]), t_ns)
