"""Issue 9 #1, #3, #10: start-up errors are one line naming the cause (console and ROS log), exit
code 1, no traceback; every parameter is validated the same way; whole numbers are accepted
for decimal parameters. The node runs as its own process, as `ros2 run` starts it."""
from __future__ import annotations

import re

import numpy as np
import pytest

from test_node_harness import FAST, NodeProcess, Peer, depth_of

pytestmark = [pytest.mark.ros]


def run_to_exit(tmp_path, params, extra=()):
    node = NodeProcess(tmp_path, params, extra)
    try:
        rc = node.wait(90)
    except Exception:
        node.proc.kill()                  # a node that started despite the bad value
        node.proc.wait()
        rc = 'still running'
    return rc, node.output(), node.ros_log()


BAD_STARTS = {
    'missing_checkpoint': ({'checkpoint': '/nonexistent/model.pt'}, r'parameter checkpoint: .*/nonexistent/model\.pt'),
    'cuda_without_cuda': ({'device': 'cuda'}, r'parameter device: .*cuda.* not available'),
    'bad_device': ({'device': 'gpu0'}, r'parameter device: .*gpu0'),
    'negative_depth_scale': ({'depth_scale': -1.0}, r'parameter depth_scale: -1\.0 is outside'),
    'stride_zero': ({'points_stride': 0}, r'parameter points_stride: 0 is outside \[1, 64\]'),
    'queue_negative': ({'output_queue_depth': -3}, r'parameter output_queue_depth: -3 is outside'),
    'height_without_width': ({'network_height': 64}, r'parameter network_height: set without network_width'),
    'max_below_min_depth': ({'min_depth_m': 5.0, 'max_depth_m': 2.0}, r'max 2\.0 m must be greater than min 5\.0 m'),
    'string_for_number': ({'depth_scale': 'abc'}, r'parameter depth_scale: expected float, got str'),
    'camera_is_base_frame': ({'camera_frame': 'camera_link'}, r'parameters camera_frame and base_frame'),
    'odom_is_base_frame': ({'odom_frame': 'camera_link'}, r'parameters base_frame and odom_frame'),
    'long_frame_id': ({'base_frame': 'b' * 300}, r'parameter base_frame: frame id of 300 characters'),
}


QUICK = {'missing_checkpoint', 'negative_depth_scale'}   # the rest are slow: a process start each


@pytest.mark.parametrize('case', [c if c in QUICK else pytest.param(c, marks=pytest.mark.slow)
                                  for c in sorted(BAD_STARTS)])
def test_start_up_error_is_one_line_naming_the_cause(tmp_path, case):
    params, pattern = BAD_STARTS[case]
    if case == 'cuda_without_cuda':
        import torch
        if torch.cuda.is_available():
            pytest.skip('CUDA is available here')
    rc, out, ros_log = run_to_exit(tmp_path, {'num_threads': 1, **params})
    assert rc == 1, out
    assert 'Traceback' not in out and 'AttributeError' not in out, out
    lines = [ln for ln in out.splitlines() if 'cannot start' in ln]
    assert len(lines) == 1 and re.search(pattern, lines[0]), out
    message = lines[0][lines[0].index('cannot start'):]
    assert message in ros_log, ros_log               # the same text in the ROS log file
    assert not [ln for ln in out.splitlines() if ln.strip() and 'cannot start' not in ln and 'WARN' not in ln
                and 'INFO' not in ln], out           # nothing else: one line, not a traceback


@pytest.mark.slow
def test_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / 'random.pt'
    bad.write_bytes(np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    rc, out, ros_log = run_to_exit(tmp_path, {'num_threads': 1, 'device': 'cpu', 'checkpoint': str(bad)})
    assert rc == 1 and 'Traceback' not in out, out
    (line,) = [ln for ln in out.splitlines() if 'cannot start' in ln]
    assert str(bad) in line, line
    assert line[line.index('cannot start'):] in ros_log


@pytest.mark.slow
def test_whole_numbers_for_decimal_parameters_from_yaml_and_command_line(tmp_path):
    """`depth_scale: 2` in a params file and `-p max_depth_m:=1000` start the node (as 2.0, 1000.0)."""
    params_file = tmp_path / 'ints.yaml'
    params_file.write_text('/**:\n  ros__parameters:\n    depth_scale: 2\n    diagnostics_period_s: 1\n')
    node = NodeProcess(tmp_path, {**FAST, 'max_depth_m': 1000},
                       ['--params-file', str(params_file)])
    peer = Peer()
    try:
        peer.connect(node)
        assert peer.get_param('depth_scale') == (3, 2.0)          # 3 = PARAMETER_DOUBLE
        assert peer.get_param('max_depth_m') == (3, 1000.0)
        assert peer.get_param('diagnostics_period_s') == (3, 1.0)
        peer.process_one(7)
        assert np.isfinite(depth_of(peer.with_stamp('depth/image', 7)[0])).any()
    finally:
        peer.close()
        rc = node.stop()
    assert rc == 0 and 'Traceback' not in node.output(), node.output()
