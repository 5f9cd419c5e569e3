"""Launch files, parameter files and rviz config agree with setup.py and the node (no mocks)."""
from __future__ import annotations

import ast
import fnmatch
import importlib
import importlib.util
from pathlib import Path

import pytest
import yaml

from depth_perception import params as P

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
NODE_OUTPUT_TOPICS = {'/depth/image', '/depth/camera_info', '/depth/colored', '/points', '/odom'}


def setup_py():
    """(data_files globs per install dir, console_scripts) read from setup.py's AST."""
    tree = ast.parse((ROOT / 'setup.py').read_text())
    globs, scripts = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'glob':
            globs.append(node.args[0].value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ' = ' in node.value \
                and ':' in node.value:
            name, target = (s.strip() for s in node.value.split('='))
            scripts[name] = target
    return globs, scripts


def installed(relative: str) -> bool:
    globs, _ = setup_py()
    return any(fnmatch.fnmatch(relative, g) for g in globs)


LAUNCH_SUPPORT = ROOT / 'depth_perception' / 'ros' / 'launch_support.py'


def launch_references(path: Path):
    """Executables of this package and share files (config/*.yaml, *.rviz) a launch file names,
    itself or through depth_perception/ros/launch_support.py."""
    executables, files = [], []
    for source in (path, LAUNCH_SUPPORT):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                kw = {k.arg: k.value for k in node.keywords}
                pkg = kw.get('package')
                if isinstance(pkg, ast.Constant) and pkg.value == 'depth_perception':
                    executables.append(kw['executable'].value)
                if getattr(node.func, 'attr', '') == 'join' and len(node.args) >= 3:
                    parts = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
                    files.append('/'.join(parts))
    return executables, files


def test_there_are_launch_files():
    names = {p.name for p in LAUNCH_FILES}
    assert {'scdepth.launch.py', 'scdepth_orbslam2.launch.py'} <= names
    for p in LAUNCH_FILES:
        assert installed(f'launch/{p.name}')


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_references_exist_and_are_installed(path):
    executables, files = launch_references(path)
    assert executables, 'launch file starts no node of this package'
    _, scripts = setup_py()
    for exe in executables:
        assert exe in scripts, f'{exe} is not a console_scripts entry point'
        module, func = scripts[exe].split(':')
        assert importlib.util.find_spec(module) is not None
        spec_src = Path(importlib.util.find_spec(module).origin).read_text()
        assert f'def {func}(' in spec_src
    assert files, 'launch file names no parameter file'
    for rel in files:
        assert (ROOT / rel).is_file(), rel
        assert installed(rel), f'{rel} is not installed by setup.py data_files'


def test_yaml_keys_and_param_specs_match_both_ways():
    values = P.read_ros_params_yaml(ROOT / 'config' / 'scdepth.yaml')
    spec_names = [s.name for s in P.SCDEPTH_NODE_PARAMS]
    assert len(set(spec_names)) == len(spec_names)
    assert set(values) == set(spec_names)
    P.validate(values)   # types and choices
    for spec in P.SCDEPTH_NODE_PARAMS:
        assert spec.description and spec.full_description
        if isinstance(spec.default, float) or (isinstance(spec.default, int) and not isinstance(spec.default, bool)):
            assert spec.unit, f'{spec.name} has a number but no unit'
    assert P.config_path() == ROOT / 'config' / 'scdepth.yaml'


def test_every_config_yaml_belongs_to_a_known_node():
    from depth_perception import boosted_params as B
    from depth_perception import params_depthnet as PD
    other_nodes = {'boosted_depth.yaml': (B.NODE_NAME, set(B.SPECS_BY_NAME)),
                   'depthnet.yaml': (PD.NODE_NAME, {s.name for s in PD.DEPTHNET_NODE_PARAMS})}
    for path in (ROOT / 'config').glob('*.yaml'):
        node, names = other_nodes.get(path.name, (P.NODE_NAME, set(P.SPECS_BY_NAME)))
        data = yaml.safe_load(path.read_text())
        for node_name, section in data.items():
            # `/**` (any node, any namespace) is how the shipped files are keyed (issue 9 #11)
            assert node_name in ('/**', node), f'{path.name}: unknown node {node_name}'
            assert set(section['ros__parameters']) <= names


def test_package_parameters_apply_under_any_namespace():
    """Defect 11: a section keyed `scdepth_node` is silently skipped under `-r __ns:=/cam1`;
    `/**` matches the node whatever its namespace (checked live in test/real_tools)."""
    data = yaml.safe_load((ROOT / 'config' / 'scdepth.yaml').read_text())
    assert list(data) == ['/**']


def test_param_validation_rejects_wrong_types_and_names():
    with pytest.raises(ValueError):
        P.validate({'depth_scale': 'one'})
    with pytest.raises(ValueError):
        P.validate({'no_such_parameter': 1})
    with pytest.raises(ValueError):
        P.validate({'input_qos': 'fast'})
    assert P.validate({'depth_scale': 2})['depth_scale'] == 2.0


def test_rviz_config_shows_node_outputs_in_odom():
    rviz = yaml.safe_load((ROOT / 'config' / 'scdepth.rviz').read_text())
    manager = rviz['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'odom'
    classes = {d['Class'] for d in manager['Displays']}
    assert {'rviz_default_plugins/Image', 'rviz_default_plugins/PointCloud2',
            'rviz_default_plugins/Odometry', 'rviz_default_plugins/TF'} <= classes
    topics = {d['Topic']['Value'] for d in manager['Displays'] if 'Topic' in d}
    assert topics <= NODE_OUTPUT_TOPICS and len(topics) == 3
    assert all(d['Topic']['Reliability Policy'] == 'Reliable' for d in manager['Displays'] if 'Topic' in d)


@pytest.mark.ros
def test_node_declares_exactly_the_specs_with_descriptions():
    rclpy = pytest.importorskip('rclpy')
    from rclpy.parameter import Parameter

    from depth_perception.ros.scdepth_node import SCDepthNode
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = SCDepthNode(context=context, parameter_overrides=[
            Parameter('network_height', value=64), Parameter('network_width', value=64),
            Parameter('diagnostics_period_s', value=0.0)])
        try:
            builtin = {'use_sim_time', 'start_type_description_service'}  # rclpy's own
            declared = {n for n in node._parameters if n not in builtin}
            assert declared == set(P.SPECS_BY_NAME)
            for spec in P.SCDEPTH_NODE_PARAMS:
                desc = node.describe_parameter(spec.name)
                assert desc.description == spec.full_description
                if spec.unit:
                    assert spec.unit in desc.description
                if spec.name not in ('network_height', 'network_width', 'diagnostics_period_s'):
                    assert node.get_parameter(spec.name).value == spec.default
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_description_builds(path):
    try:
        importlib.import_module('launch_ros')
        importlib.import_module('ament_index_python')
    except ImportError as exc:
        pytest.skip(f'launch_ros / ament_index_python not installed here ({exc}); '
                    'launch files are checked statically above')
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    try:
        get_package_share_directory('depth_perception')
    except PackageNotFoundError:
        pytest.skip('depth_perception is not installed in an ament index (colcon build)')
    spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from launch import LaunchDescription
    assert isinstance(module.generate_launch_description(), LaunchDescription)
