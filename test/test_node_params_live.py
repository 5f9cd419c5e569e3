"""Issue 9 #4, #10, #11 over real DDS: the shipped parameter file applies under a namespace,
`ros2 param describe` shows ranges and read-only flags, `ros2 param set` applies live
parameters with the start-up validation and refuses read-only ones with a reason."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from test_node_harness import FAST, ROOT, NodeProcess, Peer, depth_of, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NS = '/cam1'


@pytest.fixture(scope='module')
def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('live')
    # The shipped file, with its own top-level key, changed in values only: if the key does
    # not match a namespaced node, these values do not arrive (the defect).
    shipped = yaml.safe_load((ROOT / 'config' / 'scdepth.yaml').read_text())
    (key,) = shipped
    values = shipped[key]['ros__parameters']
    values.update({'points_stride': 3, 'points_organized': False, 'depth_scale': 2.0,
                   'diagnostics_period_s': 0.5, **FAST})
    params_file = tmp / 'scdepth_ns.yaml'
    params_file.write_text(yaml.safe_dump(shipped))
    node = NodeProcess(tmp, {}, ['--params-file', str(params_file), '-r', f'__ns:={NS}'])
    peer = Peer(namespace=NS)
    try:
        peer.connect(node)
        yield peer, node
    finally:
        peer.close()
        node.stop()


def test_shipped_yaml_applies_under_a_namespace(system):
    peer, _ = system
    assert peer.get_param('points_stride') == (2, 3)
    assert peer.get_param('depth_scale') == (3, 2.0)
    peer.process_one(10, topics=('depth/image', 'points'))
    (cloud,) = peer.with_stamp('points', 10)
    assert cloud.height == 1 and cloud.width <= (48 // 3 + 1) * (64 // 3 + 1)   # stride 3 applied


def test_describe_shows_ranges_and_read_only_flags(system):
    peer, _ = system
    d = {x.name: x for x in peer.describe(['depth_scale', 'points_stride', 'checkpoint', 'network_height',
                                           'publish_points', 'input_qos'])}
    assert not d['depth_scale'].read_only and d['depth_scale'].floating_point_range[0].from_value == 1e-6
    assert 'm/unit' in d['depth_scale'].description
    assert not d['points_stride'].read_only
    assert (d['points_stride'].integer_range[0].from_value, d['points_stride'].integer_range[0].to_value) == (1, 64)
    assert d['checkpoint'].read_only and d['network_height'].read_only and d['input_qos'].read_only
    assert d['network_height'].integer_range[0].step == 32
    assert not d['publish_points'].read_only


@pytest.mark.parametrize('name,value,reason', [
    ('checkpoint', '/tmp/other.pt', 'read-only'),
    ('input_qos', 'reliable', 'read-only'),
    ('depth_scale', -1.0, 'out of range'),
    ('depth_scale', float('nan'), 'depth_scale'),
    ('points_stride', 0, 'out of range'),
    ('depth_scale', 'two', 'Wrong parameter type'),
])
def test_invalid_or_read_only_set_is_refused_with_a_reason(system, name, value, reason):
    peer, _ = system
    before = peer.get_param(name)
    result = peer.set_param(name, value)
    assert not result.successful and reason in result.reason, result
    assert peer.get_param(name) == before


def test_cross_parameter_rule_applies_to_live_changes(system):
    peer, _ = system
    assert peer.set_param('min_depth_m', 5.0).successful
    try:
        result = peer.set_param('max_depth_m', 2.0)
        assert not result.successful and 'must be greater than min' in result.reason, result
    finally:
        assert peer.set_param('min_depth_m', 0.0).successful


def test_depth_scale_set_live_scales_depth_exactly(system):
    peer, _ = system
    rgb = np.random.default_rng(5).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    peer.process_one(20, pixels=rgb)
    d2 = depth_of(peer.with_stamp('depth/image', 20)[0])            # at depth_scale 2 (from the file)
    result = peer.set_param('depth_scale', 7)                       # a whole number, as users type it
    assert result.successful, result.reason
    assert peer.get_param('depth_scale') == (3, 7.0)
    peer.process_one(21, pixels=rgb)
    d7 = depth_of(peer.with_stamp('depth/image', 21)[0])
    valid = np.isfinite(d2)
    assert valid.any() and np.array_equal(valid, np.isfinite(d7))
    np.testing.assert_allclose(d7[valid], d2[valid] * 3.5, rtol=2e-6)
    assert peer.set_param('depth_scale', 2.0).successful


def test_publishing_switches_and_stride_apply_live(system):
    peer, _ = system
    assert peer.set_param('publish_points', False).successful
    peer.process_one(30)
    assert wait_for(lambda: peer.with_stamp('depth/colored', 30), 10)
    assert not peer.with_stamp('points', 30)
    assert peer.set_param('publish_points', True).successful
    assert peer.set_param('points_stride', 1).successful
    peer.process_one(31, topics=('depth/image', 'points'))
    (cloud,) = peer.with_stamp('points', 31)
    assert cloud.width > (48 // 3 + 1) * (64 // 3 + 1)               # stride 1 now: more points
    assert peer.set_param('publish_colored', False).successful
    peer.process_one(32, topics=('depth/image', 'points'))
    assert not peer.with_stamp('depth/colored', 32)
