"""What both launch files share: layered node parameters, start-up checks, and shutdown.

Parameter precedence, lowest first (rcl applies every `/**` section before the sections named
after the node, whatever the file order, so the layers are keyed on purpose):

1. the package's `config/scdepth.yaml` (keyed `/**`, so it also applies under a namespace),
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
from typing import Callable

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch.actions import EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit, OnShutdown
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration

PACKAGE = 'depth_perception'
NODE_NAME = 'scdepth_node'
NOT_GIVEN = ''
PACKAGED_CHECKPOINT = 'default'   # checkpoint:=default -> '' = the packaged model


def package_params_file() -> str:
    return os.path.join(get_package_share_directory(PACKAGE), 'config', 'scdepth.yaml')


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


def layered_parameters(context, settings: dict, argument_types: dict[str, type]) -> tuple[list, list]:
    """(the node's `parameters=` list in the order of the module docstring, temporary files)."""
    user_file = argument(context, 'params_file')
    if user_file is not None:
        user_file = os.path.abspath(os.path.expanduser(user_file))
        if not os.path.isfile(user_file):
            # launch_ros would only warn and start the node without the user's values.
            raise FileNotFoundError(f'params_file:={user_file}: no such file')
    arguments = given_arguments(context, argument_types)   # may refuse a value: before writing files
    layers: list = [package_params_file()]
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
