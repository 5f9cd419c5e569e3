"""depthnet_node's ROS-free parts (pose buffer, transform tree, parameter table) and its start-up
refusal without a checkpoint. Known answers are written by hand (rotations, midpoints)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_perception import params as P
from depth_perception import params_depthnet as PD
from depth_perception.pose_buffer import PoseBuffer, TransformTree

ROOT = Path(__file__).resolve().parents[1]


def T_of(yaw_deg=0.0, t=(0.0, 0.0, 0.0)):
    a = np.radians(yaw_deg)
    T = np.eye(4)
    T[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    T[:3, 3] = t
    return T


def test_pose_buffer_interpolates_and_ages():
    buf = PoseBuffer()
    buf.add(2_000, T_of(20, (2.0, 0.0, 0.0)))
    buf.add(1_000, T_of(0, (1.0, 0.0, 0.0)))        # out of order: kept sorted
    T, why = buf.lookup(1_500, max_age_ns=0)
    np.testing.assert_allclose(T, T_of(10, (1.5, 0.0, 0.0)), atol=1e-12)
    T, _ = buf.lookup(1_250, max_age_ns=0)
    np.testing.assert_allclose(T, T_of(5, (1.25, 0.0, 0.0)), atol=1e-12)
    np.testing.assert_allclose(buf.lookup(2_000, 0)[0], T_of(20, (2.0, 0.0, 0.0)))
    np.testing.assert_allclose(buf.lookup(2_400, 500)[0], T_of(20, (2.0, 0.0, 0.0)))  # latest before
    T, why = buf.lookup(2_600, 500)
    assert T is None and 'older than the image' in why
    T, why = buf.lookup(500, 10_000)
    assert T is None and 'later than the image' in why
    assert PoseBuffer().lookup(0, 1)[1] == 'no pose received yet'


def test_transform_tree_chains_static_and_moving_links():
    tree = TransformTree()
    lever = T_of(0, (0.5, 0.0, 0.2))
    tree.set_transform('base', 'cam', 0, lever, static=True)
    tree.set_transform('odom', 'base', 10, T_of(0), static=False)
    tree.set_transform('odom', 'base', 20, T_of(90, (1.0, 0.0, 0.0)), static=False)
    T, _ = tree.lookup('odom', 'cam', 20, 0)
    # the lever arm (0.5, 0, 0.2) turned by 90 deg is (0, 0.5, 0.2), added to the base (1, 0, 0)
    np.testing.assert_allclose(T[:3, 3], [1.0, 0.5, 0.2], atol=1e-12)
    T, _ = tree.lookup('odom', 'cam', 15, 0)       # halfway: 45 deg, base at (0.5, 0, 0)
    np.testing.assert_allclose(T[:3, 3], [0.5 + 0.5 * np.cos(np.pi / 4), 0.5 * np.sin(np.pi / 4), 0.2], atol=1e-12)
    assert tree.newest_complete_ns('odom', 'cam') == 20
    T, why = tree.lookup('map', 'cam', 15, 0)
    assert T is None and "chain ends at 'odom'" in why
    T, why = tree.lookup('odom', 'cam', 30, 5)
    assert T is None and why.startswith('odom -> base:')


def test_parameter_table_and_config_agree():
    values = P.read_ros_params_yaml(ROOT / 'config' / 'depthnet.yaml', PD.NODE_NAME)
    assert set(values) == {s.name for s in PD.DEPTHNET_NODE_PARAMS}
    P.validate(values, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)
    for spec in PD.DEPTHNET_NODE_PARAMS:
        if isinstance(spec.default, float) or (isinstance(spec.default, int) and not isinstance(spec.default, bool)):
            assert spec.unit, f'{spec.name} has a number but no unit'
        assert values[spec.name] == spec.default
    text = (ROOT / 'config' / 'depthnet.yaml').read_text()
    assert "checkpoint '' runs the packaged model" in text and 'NOT on real indoor images' in text


@pytest.mark.parametrize('values, message', [
    ({'frame_shifts': '1,x'}, 'not a comma-separated list'),
    ({'frame_shifts': '3,3'}, 'distinct'),
    ({'frame_shifts': '0'}, 'distinct integers in'),
    ({'motion_source': 'constant_velocity'}, 'all 0 m/s'),
    ({'motion_source': 'gps'}, 'not one of'),
    ({'world_frame': 'camera_link'}, 'must differ'),
])
def test_bad_parameters_are_refused_with_their_name(values, message):
    with pytest.raises(ValueError, match=message):
        P.validate(values, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)


def test_frame_shifts_are_parsed_sorted():
    assert PD.parse_frame_shifts(' 9,1, 3') == (1, 3, 9)


def test_one_frame_shift_may_be_given_as_a_number():
    # `-p frame_shifts:=3` and YAML `frame_shifts: 3` arrive as the integer 3
    values = P.validate({'frame_shifts': 3}, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)
    assert values['frame_shifts'] == '3'
    with pytest.raises(ValueError, match='parameter frame_shifts: expected str, got bool'):
        P.validate({'frame_shifts': True}, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)
    with pytest.raises(ValueError, match='parameter checkpoint: expected str, got int'):
        P.validate({'checkpoint': 3}, PD.DEPTHNET_NODE_PARAMS, PD.DEPTHNET_RULES)


def test_no_checkpoint_means_the_packaged_model_and_its_absence_is_a_clear_error(monkeypatch):
    from depth_perception.estimators import depthnet_runner as R
    assert R.default_checkpoint() is not None and R.DepthNetRunner('', 'cpu').weights.source.endswith(
        'depthnet_default.pt')
    monkeypatch.setattr(R, 'DEFAULT_CHECKPOINT_NAME', 'not_installed.pt')   # an install without the file
    assert R.default_checkpoint() is None
    with pytest.raises(ValueError, match=r'needs a checkpoint .*not_installed.pt\) is missing'):
        R.DepthNetRunner('', 'cpu')
