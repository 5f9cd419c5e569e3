"""depthnet_node chooses its inference backend by the same parameters as scdepth_node
(`backend`, `precision`, `onnx_dir`); bad choices stop it at start in one line."""
from __future__ import annotations

import os
import subprocess

import pytest

from depth_perception import params as P
from depth_perception import params_depthnet as PD


def test_depthnet_node_declares_the_backend_parameters_of_scdepth_node():
    specs = {s.name: s for s in PD.DEPTHNET_NODE_PARAMS}
    for name in ('backend', 'precision', 'onnx_dir'):
        assert specs[name] == P.SPECS_BY_NAME[name]
    with pytest.raises(ValueError, match="parameter backend: 'fast' is not one of eager, torch, onnxruntime, auto"):
        P.validate({'backend': 'fast'}, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)
    assert P.validate({'backend': 'onnxruntime', 'onnx_dir': '/x'}, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.parametrize('params,pattern', [
    ({'backend': 'onnxruntime', 'precision': 'bf16'},
     'cannot start: parameters backend=onnxruntime precision=bf16: onnxruntime on CPU runs fp32 only'),
    ({'backend': 'onnxruntime', 'onnx_dir': '/nonexistent/onnx'},
     'cannot start: parameter onnx_dir: /nonexistent/onnx does not exist'),
])
def test_bad_backend_stops_depthnet_node_in_one_line(tmp_path, params, pattern):
    pytest.importorskip('rclpy')
    from depthnet_node_harness import base_params, depthnet_command, make_checkpoint

    class Factory:      # make_checkpoint takes a tmp_path_factory
        @staticmethod
        def mktemp(name):
            (tmp_path / name).mkdir()
            return tmp_path / name
    cmd = depthnet_command({**base_params(make_checkpoint(Factory)), 'motion_source': 'constant_velocity',
                            'velocity_z_mps': 1.0, **params})
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, 'ROS_LOG_DIR': str(tmp_path)})
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 1 and 'Traceback' not in proc.stdout + proc.stderr, lines
    assert len([ln for ln in lines if 'cannot start' in ln]) == 1
    assert any(pattern in ln for ln in lines), lines
