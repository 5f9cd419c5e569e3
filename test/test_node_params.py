"""Parameter specs and rules (ROS-free): one validation for yaml, command line and live sets."""
from __future__ import annotations

import math

import pytest

from depth_perception import params as P


@pytest.mark.parametrize('values,message', [
    ({'points_stride': 0}, 'points_stride: 0 is outside [1, 64]'),
    ({'output_queue_depth': -3}, 'output_queue_depth: -3 is outside'),
    ({'depth_scale': -1.0}, 'depth_scale: -1.0 is outside'),
    ({'depth_scale': math.inf}, 'depth_scale: inf is not a finite number'),
    ({'network_height': 64}, 'network_height: set without network_width'),
    ({'network_width': 96}, 'network_width: set without network_height'),
    ({'network_height': 32, 'network_width': 32}, 'below the minimum of 64'),
    ({'network_height': 100, 'network_width': 96}, 'network_height: 100 is not 0 + a multiple of 32'),
    ({'min_depth_m': 3.0, 'max_depth_m': 3.0}, 'must be greater than min'),
    ({'base_frame': 'odom'}, 'base_frame and odom_frame'),
    ({'camera_frame': 'odom'}, 'camera_frame and odom_frame'),
    ({'camera_frame': '/cam'}, 'not a valid tf2 frame id'),
    ({'odom_frame': 'o' * 257}, 'frame id of 257 characters'),
    ({'device': 'tpu'}, "device: 'tpu'"),
    ({'fp16': 1}, 'fp16: expected bool, got int'),
    ({'points_stride': 2.0}, 'points_stride: expected int, got float'),
    ({'input_qos': 'fast'}, 'input_qos'),
])
def test_invalid_values_are_refused_naming_the_parameter(values, message):
    with pytest.raises(ValueError) as exc:
        P.validate(values)
    assert message in str(exc.value)


def test_valid_values_pass_and_whole_numbers_widen_for_decimals():
    out = P.validate({'depth_scale': 2, 'min_depth_m': 1, 'max_depth_m': 80, 'network_height': 256,
                      'network_width': 320, 'device': 'cuda:1', 'camera_frame': 'cam1/optical'})
    assert out['depth_scale'] == 2.0 and type(out['depth_scale']) is float
    assert type(out['min_depth_m']) is float and out['network_height'] == 256


def test_only_run_time_applicable_parameters_are_live():
    live = {s.name for s in P.SCDEPTH_NODE_PARAMS if s.live}
    assert {'depth_scale', 'min_depth_m', 'max_depth_m', 'publish_colored', 'publish_points',
            'points_stride', 'publish_tf'} <= live
    assert not live & {'checkpoint', 'device', 'network_height', 'input_qos', 'base_frame', 'odom_frame',
                       'camera_frame', 'output_queue_depth', 'estimate_motion', 'diagnostics_period_s'}
    for spec in P.SCDEPTH_NODE_PARAMS:       # every number has a range
        if isinstance(spec.default, (int, float)) and not isinstance(spec.default, bool):
            assert spec.range is not None, spec.name
            spec.check(spec.default)


def test_adapter_table_is_part_of_every_method_table():
    names = [s.name for s in P.SCDEPTH_NODE_PARAMS]
    assert len(names) == len(set(names))
    assert set(s.name for s in P.ADAPTER_PARAMS) <= set(names)
