"""Optional outputs (colored, points, pseudo-RGB-D) are built only while somebody subscribes.

Real rclpy nodes in one process: the node under test owns the publishers, a second node
subscribes, and discovery (not a flag) decides what `DepthOutputs.build` fills.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Image, PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from depth_perception import params as P  # noqa: E402
from depth_perception.ros.outputs import DepthOutputs  # noqa: E402

pytestmark = pytest.mark.ros


class OutputsOwner(Node):
    depth_topic = 'depth/image'

    def colorize(self, depth: np.ndarray) -> np.ndarray:
        return np.zeros(depth.shape + (3,), np.uint8)


@pytest.fixture
def nodes():
    context = rclpy.Context()
    rclpy.init(context=context)
    owner = OutputsOwner('lazy_outputs_owner', context=context)
    listener = rclpy.create_node('lazy_outputs_listener', context=context)
    yield owner, listener
    owner.destroy_node()
    listener.destroy_node()
    rclpy.shutdown(context=context)


def built_topics(outputs: DepthOutputs) -> set[str]:
    depth = np.full((6, 8), 2.0, np.float32)
    rgb = np.zeros((6, 8, 3), np.uint8)
    K = np.array([[8.0, 0, 3.5], [0, 8.0, 2.5], [0, 0, 1]])
    return {pub.topic_name for pub, _ in outputs.build(rgb, K, depth, Header(frame_id='cam'))}


def wait_matched(publisher, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert publisher.get_subscription_count() > 0, f'{publisher.topic_name}: subscriber never matched'


def test_unheard_optional_outputs_are_not_built_and_heard_ones_are(nodes):
    owner, listener = nodes
    params = {**P.defaults(P.ADAPTER_PARAMS), 'pseudo_rgbd': True, 'publish_static_tf': False}
    outputs = DepthOutputs(owner, params)
    always = {'/depth/image', '/depth/camera_info'}
    assert built_topics(outputs) == always

    listener.create_subscription(PointCloud2, 'points', lambda _: None, 1)
    listener.create_subscription(Image, 'camera/depth_registered/image_raw', lambda _: None, 1)
    wait_matched(outputs.optional['points'][0])
    wait_matched(outputs.optional['rgbd'][1])
    # Only the heard half of the RGB-D pair is built; colored still has nobody.
    assert built_topics(outputs) == always | {'/points', '/camera/depth_registered/image_raw'}

    params['lazy_outputs'] = False
    assert built_topics(outputs) == always | {'/points', '/depth/colored', '/camera/rgb/image_raw',
                                              '/camera/depth_registered/image_raw'}
