"""Publishers of a depth node and the messages of one processed frame (method-agnostic).

Every message of a frame is built before any is published, so a failure publishes nothing
for that frame. Optional outputs are switched by live parameters: a publisher is created the
first time its output is enabled and kept (destroying it under a publishing worker would race).
With `lazy_outputs` (the default) an enabled optional output is built only while its topic has
a subscriber: at 512x512 the false-colour image and the cloud cost DepthNet's node ~17 ms a frame
that nobody may be reading (bench/README.md).
"""
from __future__ import annotations

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from ..odometry import T_BASE_OPTICAL
from ..pointcloud import depth_to_cloud, pack_cloud
from . import conversions as C


def reliable_qos(depth: int) -> QoSProfile:
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(1, depth),
                      reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def latched_qos() -> QoSProfile:
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def input_qos(name: str) -> QoSProfile:
    return qos_profile_sensor_data if name == 'sensor_data' else reliable_qos(5)


# optional output -> (switch parameter, [(topic, type)])
OPTIONAL = {
    'colored': ('publish_colored', [('depth/colored', Image)]),
    'points': ('publish_points', [('points', PointCloud2)]),
    'rgbd': ('pseudo_rgbd', [('camera/rgb/image_raw', Image), ('camera/depth_registered/image_raw', Image)]),
}


class DepthOutputs:
    def __init__(self, node: Node, params):
        self.node, self.params = node, params
        self.qos = reliable_qos(params['output_queue_depth'])
        self.depth = node.create_publisher(Image, node.depth_topic, self.qos)
        self.info = node.create_publisher(CameraInfo, 'depth/camera_info', self.qos)
        self.optional: dict[str, list] = {}
        self.tf_static = None
        self._static_child: str | None = None
        self.refresh()

    def refresh(self) -> None:
        """Create the publishers of outputs switched on (called at start and on param changes)."""
        for key, (switch, topics) in OPTIONAL.items():
            if self.params[switch] and key not in self.optional:
                self.optional[key] = [self.node.create_publisher(t, name, self.qos) for name, t in topics]
        if self.params['publish_static_tf'] and self.tf_static is None:
            from tf2_msgs.msg import TFMessage  # absent from some pip-only installs
            self.tf_static = self.node.create_publisher(TFMessage, '/tf_static', latched_qos())

    def _on(self, key: str) -> list:
        """The output's publishers to fill this frame ([None] in place of one skipped as unheard)."""
        if not self.params[OPTIONAL[key][0]] or key not in self.optional:
            return []
        pubs = self.optional[key]
        if not self.params['lazy_outputs']:
            return pubs
        heard = [p if p.get_subscription_count() > 0 else None for p in pubs]
        return heard if any(heard) else []

    def build(self, rgb: np.ndarray, K: np.ndarray, depth_m: np.ndarray, header: Header) -> list:
        """[(publisher, message)] for depth, camera_info and the enabled optional outputs."""
        p = self.params
        h, w = depth_m.shape
        depth_msg = C.depth_m_to_image(depth_m, header)
        out = [(self.depth, depth_msg), (self.info, C.make_camera_info(header, w, h, K))]
        if pubs := self._on('colored'):
            out.append((pubs[0], C.rgb_to_image(self.node.colorize(depth_m), header)))
        if pubs := self._on('points'):
            points, colors = depth_to_cloud(depth_m, K, rgb if p['points_color'] else None,
                                            organized=p['points_organized'], stride=p['points_stride'])
            out.append((pubs[0], C.cloud_to_msg(pack_cloud(points, colors), header)))
        if pubs := self._on('rgbd'):
            rgb_pub, depth_pub = pubs
            if rgb_pub is not None:
                out.append((rgb_pub, C.rgb_to_image(rgb, header)))
            if depth_pub is not None:
                out.append((depth_pub, depth_msg))
        if p['publish_static_tf'] and self.tf_static is not None and self._static_child != header.frame_id:
            static = C.transform_stamped(T_BASE_OPTICAL, header.stamp, p['base_frame'], header.frame_id)
            out.append((self.tf_static, C.tf_message([static])))
            self._static_child = header.frame_id
        return out
