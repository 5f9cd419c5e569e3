"""Boosted depth node: `ros2 launch depth_perception boosted_depth.launch.py merge_checkpoint:=... checkpoint:=...`.

Arguments (`ros2 launch depth_perception boosted_depth.launch.py --show-args`): image_topic,
camera_info_topic, namespace, params_file, base, checkpoint, merge_checkpoint, mode, device,
fastdds_large_data.

What comes out: base midas / leres (default midas) -> depth/relative, RELATIVE depth (unknown
scale and shift, NOT metres; there is no depth/image); base scdepth -> depth/image in metres
(up to SC-Depth's scale x depth_scale). No merge network and no MiDaS / LeReS weights ship:
without merge_checkpoint (and checkpoint for midas / leres) the node stops at start with one
`cannot start: parameter ...` line and the launch ends with it.

Parameters, lowest precedence first: the package's config/boosted_depth.yaml, then your
`params_file:=my.yaml`, then the arguments you give on the command line. An argument you do
not give leaves the parameter files in charge. `checkpoint:=default` selects the packaged
SC-Depth model (base scdepth) even when your params_file names another file.

`namespace:=cam1` puts the node and all its topics under /cam1 (one launch per camera); pass
that camera's image_topic and camera_info_topic as well. Transport: see scdepth.launch.py
(`fastdds_large_data:=true` sets FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for this launch only).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from depth_perception.ros import launch_support as support

# Launch arguments that set node parameters when given, with their parameter types.
PARAMETER_ARGUMENTS = {'base': str, 'checkpoint': str, 'merge_checkpoint': str, 'mode': str, 'device': str}


def start_nodes(context):
    parameters, temp_files = support.layered_parameters(context, {}, PARAMETER_ARGUMENTS)
    # The lowest layer is the package's parameter file: this node's, not scdepth_node's.
    parameters[0] = os.path.join(get_package_share_directory(support.PACKAGE), 'config', 'boosted_depth.yaml')
    node = Node(package='depth_perception', executable='boosted_depth_node', name='boosted_depth_node',
                namespace=support.namespace(context), output='screen', parameters=parameters,
                remappings=[('image_raw', LaunchConfiguration('image_topic')),
                            ('camera_info', LaunchConfiguration('camera_info_topic'))])
    return [node, support.shutdown_when_exits(node), support.remove_on_shutdown(temp_files)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='input image topic (rgb8/bgr8/rgba8/bgra8/mono8)'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node and its outputs, e.g. cam1 ('' = none)"),
        DeclareLaunchArgument('params_file', default_value=support.NOT_GIVEN,
                              description='your parameter file, applied over config/boosted_depth.yaml '
                                          '(not given = only the package file)'),
        DeclareLaunchArgument('base', default_value=support.NOT_GIVEN,
                              description='midas | leres (relative depth on depth/relative) | scdepth '
                                          '(metres on depth/image) (not given = the parameter files decide)'),
        DeclareLaunchArgument('checkpoint', default_value=support.NOT_GIVEN,
                              description="base weights (MiDaS model.pt / LeReS res101.pth); 'default' = "
                                          'the packaged SC-Depth model (not given = the parameter files decide)'),
        DeclareLaunchArgument('merge_checkpoint', default_value=support.NOT_GIVEN,
                              description='merge network latest_net_G.pth (required; not given = the '
                                          'parameter files decide)'),
        DeclareLaunchArgument('mode', default_value=support.NOT_GIVEN,
                              description='R0, R20 or Final (not given = the parameter files decide)'),
        DeclareLaunchArgument('device', default_value=support.NOT_GIVEN,
                              description='auto, cpu, cuda, cuda:N (not given = the parameter files decide)'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the processes '
                                          'launched here (every peer must use the same setting)'),
        SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                               condition=IfCondition(LaunchConfiguration('fastdds_large_data'))),
        OpaqueFunction(function=start_nodes),
    ])
