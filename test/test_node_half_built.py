"""A node whose construction fails is destroyed at once, not left to the garbage collector.

A half-built node collected after rclpy.shutdown (or while Python exits) frees its rcl
handles when that is no longer safe; `ros2 run` of a node with a bad checkpoint must end
with exit code 1, never a crash. Real rclpy node in this process.
"""
from __future__ import annotations

import gc

import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.exceptions import InvalidHandle  # noqa: E402

from depth_perception.ros.depth_node import DepthNode  # noqa: E402

pytestmark = pytest.mark.ros


class FailsAfterDeclaring(DepthNode):
    def make_estimator(self):
        raise ValueError('parameter checkpoint: not a model')


def test_failed_construction_destroys_the_node():
    context = rclpy.Context()
    rclpy.init(context=context)
    gc.disable()   # only the node's own cleanup may destroy it
    try:
        with pytest.raises(ValueError, match='not a model') as info:
            FailsAfterDeclaring('half_built', context=context)
        tb, half_built = info.value.__traceback__, None
        while tb is not None:
            half_built = tb.tb_frame.f_locals.get('self', half_built)
            tb = tb.tb_next
        assert isinstance(half_built, FailsAfterDeclaring)
        with pytest.raises(InvalidHandle):
            half_built.get_name()
    finally:
        gc.enable()
        rclpy.shutdown(context=context)
