"""What every launch file shares: arguments, layered node parameters, start-up checks, the node
(+ optional rviz2) and shutdown. A launch file states only its `NodeLaunch` spec.

Parameter precedence, lowest first (rcl applies every `/**` section before the sections named
after the node, whatever the file order, so the layers are keyed on purpose):

1. the package's `config/<method>.yaml` (keyed `/**`, so it also applies under a namespace),
2. the launch file's own settings (written to a temporary `/**` file),
3. the user's `params_file` (any key: `/**`, `scdepth_node`, `/cam1/scdepth_node`),
4. launch arguments the user actually gave (a dict that launch_ros keys by the node's full
   name, which beats every `/**` section and comes after the user's file).

Launch arguments that map onto node parameters default to '' = "not given": the parameter
files decide. ros2launch refuses an empty value on the command line (`checkpoint:=`), so the
packaged model is selected with `checkpoint:=default`.

Imports launch/launch_ros only (no rclpy, no torch): launch files load it at parse time.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler,
                            SetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit, OnShutdown
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = 'depth_perception'
NODE_NAME = 'scdepth_node'
NOT_GIVEN = ''
PACKAGED_CHECKPOINT = 'default'   # checkpoint:=default -> '' = the packaged model


def package_params_file(name: str = 'scdepth.yaml') -> str:
    return os.path.join(get_package_share_directory(PACKAGE), 'config', name)


def rviz_config_file() -> str:
    return os.path.join(get_package_share_directory(PACKAGE), 'config', 'scdepth.rviz')


def argument(context, name: str) -> str | None:
    """The launch argument's value, or None when the user did not give it."""
    value = LaunchConfiguration(name).perform(context).strip()
    return None if value == NOT_GIVEN else value


def _to_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in ('true', '1', 'yes', 'on'):
        return True
    if lowered in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f'launch argument {name}:={text!r} is not true or false')


def _to_float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'launch argument {name}:={text!r} is not a number') from None


CONVERTERS: dict[type, Callable[[str, str], object]] = {
    str: lambda name, text: text,
    float: _to_float,
    bool: _to_bool,
}


def given_arguments(context, types: dict[str, type]) -> dict:
    """Node parameters from the launch arguments the user gave, converted to their types."""
    values = {}
    for name, kind in types.items():
        text = argument(context, name)
        if text is None:
            continue
        if name == 'checkpoint' and text == PACKAGED_CHECKPOINT:
            text = ''
        values[name] = CONVERTERS[kind](name, text)
    return values


def _wildcard_params_file(values: dict) -> str:
    handle, path = tempfile.mkstemp(prefix='depth_perception_launch_', suffix='.yaml')
    with os.fdopen(handle, 'w') as out:
        yaml.safe_dump({'/**': {'ros__parameters': values}}, out)
    return path


def layered_parameters(context, settings: dict, argument_types: dict[str, type],
                       package_file: str = 'scdepth.yaml') -> tuple[list, list]:
    """(the node's `parameters=` list in the order of the module docstring, temporary files)."""
    user_file = argument(context, 'params_file')
    if user_file is not None:
        user_file = os.path.abspath(os.path.expanduser(user_file))
        if not os.path.isfile(user_file):
            # launch_ros would only warn and start the node without the user's values.
            raise FileNotFoundError(f'params_file:={user_file}: no such file')
    arguments = given_arguments(context, argument_types)   # may refuse a value: before writing files
    layers: list = [package_params_file(package_file)]
    temp_files = []
    if settings:
        temp_files.append(_wildcard_params_file(settings))
        layers.append(temp_files[-1])
    if user_file is not None:
        layers.append(user_file)
    if arguments:
        layers.append(arguments)
    return layers, temp_files


def namespace(context) -> str:
    """The namespace argument; '' (not None) also when not given: launch_ros then knows the
    node's full name and keys the given-arguments dict by it instead of by `/**`."""
    return argument(context, 'namespace') or ''


def rviz_requested(context) -> bool:
    return _to_bool('rviz', LaunchConfiguration('rviz').perform(context))


def require_rviz2() -> None:
    """Fail before anything starts when rviz:=true cannot be honoured."""
    try:
        get_package_prefix('rviz2')
    except PackageNotFoundError:
        raise RuntimeError('rviz:=true but the rviz2 package is not installed '
                           '(install ros-$ROS_DISTRO-rviz2, or leave rviz:=false)') from None


def shutdown_when_exits(node) -> RegisterEventHandler:
    """When the depth node ends, end the launch (and rviz2 with it); a failure exits non-zero."""
    def on_exit(event, context):
        if context.is_shutdown:
            return None   # we are stopping it ourselves (Ctrl-C): nothing to add
        if event.returncode != 0:
            # Raising makes ros2 launch print one ERROR line, stop the rest and exit 1.
            raise RuntimeError(f'{event.process_name} exited with code {event.returncode}; '
                               'see its error above')
        return [EmitEvent(event=Shutdown(reason=f'{event.process_name} finished'))]
    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))


def remove_on_shutdown(paths: list) -> RegisterEventHandler:
    """Delete the temporary parameter files when the launch ends (the node read them at start)."""
    def remove(context):
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass
    return RegisterEventHandler(OnShutdown(on_shutdown=[OpaqueFunction(function=remove)]))


@dataclass(frozen=True)
class Topic:
    """An extra topic the node remaps: `remap` (the node's own name) <- launch argument `argument`."""
    remap: str
    argument: str
    default: str
    description: str


@dataclass(frozen=True)
class NodeLaunch:
    """What one launch file starts; everything else (arguments, layers, rviz2, shutdown) is shared.

    `parameters` maps each launch argument that sets a node parameter to (type, description);
    `settings` is the launch file's own parameter layer (2. in the module docstring)."""
    package: str
    executable: str                     # also the node's name
    params_file: str                    # config/<params_file> = the lowest parameter layer
    parameters: dict[str, tuple[type, str]]
    topics: tuple[Topic, ...] = ()
    settings: dict = field(default_factory=dict)
    rviz: bool = False                  # offer rviz:=true (config/scdepth.rviz)


def _start(spec: NodeLaunch, context) -> list:
    rviz = spec.rviz and rviz_requested(context)
    if rviz:
        require_rviz2()   # before anything starts: no orphaned node
    types = {name: kind for name, (kind, _) in spec.parameters.items()}
    parameters, temp_files = layered_parameters(context, spec.settings, types, spec.params_file)
    remappings = [('image_raw', LaunchConfiguration('image_topic')),
                  ('camera_info', LaunchConfiguration('camera_info_topic'))]
    remappings += [(t.remap, LaunchConfiguration(t.argument)) for t in spec.topics]
    node = Node(package=spec.package, executable=spec.executable, name=spec.executable,
                namespace=namespace(context), output='screen', parameters=parameters,
                remappings=remappings)
    actions = [node, shutdown_when_exits(node), remove_on_shutdown(temp_files)]
    if rviz:
        ns = namespace(context)
        # The rviz config names the un-namespaced topics; follow the node into its namespace.
        remaps = [(t, f"/{ns.strip('/')}{t}") for t in ('/depth/image', '/points', '/odom')] if ns else []
        actions.append(Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
                            namespace=ns, arguments=['-d', rviz_config_file()], remappings=remaps))
    return actions


def launch_description(spec: NodeLaunch) -> LaunchDescription:
    """Arguments in `--show-args` order: topics, namespace, params_file, parameters, rviz, transport."""
    settings_note = " and this launch file's settings" if spec.settings else ''
    arguments = [
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='input image topic (rgb8/bgr8/rgba8/bgra8/mono8)'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        *[DeclareLaunchArgument(t.argument, default_value=t.default, description=t.description)
          for t in spec.topics],
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node and its outputs, e.g. cam1 ('' = none)"),
        DeclareLaunchArgument('params_file', default_value=NOT_GIVEN,
                              description=f'your parameter file, applied over config/{spec.params_file}'
                                          f'{settings_note} (not given = only the package file)'),
        *[DeclareLaunchArgument(name, default_value=NOT_GIVEN,
                                description=f'{text} (not given = the parameter files decide)')
          for name, (_, text) in spec.parameters.items()],
    ]
    if spec.rviz:
        arguments.append(DeclareLaunchArgument('rviz', default_value='false',
                                               description='start rviz2 with config/scdepth.rviz'))
    return LaunchDescription(arguments + [
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the processes '
                                          'launched here (every peer must use the same setting)'),
        SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                               condition=IfCondition(LaunchConfiguration('fastdds_large_data'))),
        OpaqueFunction(function=lambda context: _start(spec, context)),
    ])
