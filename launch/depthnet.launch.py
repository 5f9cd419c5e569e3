"""DepthNet node (+ optional rviz2): `ros2 launch depth_perception depthnet.launch.py checkpoint:=FILE`.

Arguments (`ros2 launch depth_perception depthnet.launch.py --show-args`): image_topic,
camera_info_topic, odom_topic, namespace, params_file, checkpoint, device, motion_source, rviz,
fastdds_large_data.

Depth is metric: the displacement between the two frames of a pair comes from motion_source
(odometry on odom_topic, tf, or constant_velocity; see config/depthnet.yaml).

Parameters, lowest precedence first: the package's config/depthnet.yaml, then your
`params_file:=my.yaml`, then the arguments you give on the command line (checkpoint, device,
motion_source). An argument you do not give leaves the parameter files in charge.
`checkpoint:=default` selects the packaged model even when your params_file names another;
NO DEFAULT DEPTHNET MODEL IS PACKAGED YET, so without a checkpoint the node stops at start
with `cannot start: parameter checkpoint: ...` and the launch exits non-zero.

`namespace:=cam1` puts the node and all its topics under /cam1 (one launch per camera); pass
that camera's image_topic, camera_info_topic and odom_topic as well.

Transport: as for scdepth.launch.py (export FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA in every
shell, or fastdds_large_data:=true when nothing else talks to the processes started here).
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
PARAMETER_ARGUMENTS = {'checkpoint': str, 'device': str, 'motion_source': str}


def start_nodes(context):
    if support.rviz_requested(context):
        support.require_rviz2()   # before anything starts: no orphaned node
    parameters, temp_files = support.layered_parameters(context, {}, PARAMETER_ARGUMENTS)
    # The lowest layer is the method's own package file (layered_parameters starts with scdepth.yaml).
    parameters[0] = os.path.join(get_package_share_directory(support.PACKAGE), 'config', 'depthnet.yaml')
    node = Node(package='depth_perception', executable='depthnet_node', name='depthnet_node',
                namespace=support.namespace(context), output='screen', parameters=parameters,
                remappings=[('image_raw', LaunchConfiguration('image_topic')),
                            ('camera_info', LaunchConfiguration('camera_info_topic')),
                            ('odom', LaunchConfiguration('odom_topic'))])
    actions = [node, support.shutdown_when_exits(node), support.remove_on_shutdown(temp_files)]
    if support.rviz_requested(context):
        ns = support.namespace(context)
        # The rviz config names the un-namespaced topics; follow the node into its namespace.
        remaps = [(t, f'/{ns}{t}') for t in ('/depth/image', '/points', '/odom')] if ns else []
        actions.append(Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
                            namespace=support.namespace(context),
                            arguments=['-d', support.rviz_config_file()], remappings=remaps))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='input image topic (rgb8/bgr8/rgba8/bgra8/mono8)'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        DeclareLaunchArgument('odom_topic', default_value='/odom',
                              description='nav_msgs/Odometry of the camera body (motion_source odometry)'),
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node and its outputs, e.g. cam1 ('' = none)"),
        DeclareLaunchArgument('params_file', default_value=support.NOT_GIVEN,
                              description='your parameter file, applied over config/depthnet.yaml '
                                          '(not given = only the package file)'),
        DeclareLaunchArgument('checkpoint', default_value=support.NOT_GIVEN,
                              description="DepthNet checkpoint file; 'default' = the packaged model (none yet) "
                                          '(not given = the parameter files decide)'),
        DeclareLaunchArgument('device', default_value=support.NOT_GIVEN,
                              description='auto, cpu, cuda, cuda:N (not given = the parameter files decide)'),
        DeclareLaunchArgument('motion_source', default_value=support.NOT_GIVEN,
                              description='odometry, tf or constant_velocity (not given = the parameter files decide)'),
        DeclareLaunchArgument('rviz', default_value='false', description='start rviz2 with config/scdepth.rviz'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the processes '
                                          'launched here (every peer must use the same setting)'),
        SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                               condition=IfCondition(LaunchConfiguration('fastdds_large_data'))),
        OpaqueFunction(function=start_nodes),
    ])
