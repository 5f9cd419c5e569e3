"""SC-Depth node (+ optional rviz2): `ros2 launch depth_perception scdepth.launch.py`.

Arguments (`ros2 launch depth_perception scdepth.launch.py --show-args`): image_topic,
camera_info_topic, namespace, params_file, checkpoint, device, rviz, fastdds_large_data.

Parameters, lowest precedence first: the package's config/scdepth.yaml, then your
`params_file:=my.yaml`, then the arguments you give on the command line (checkpoint, device).
An argument you do not give leaves the parameter files in charge. `checkpoint:=default`
selects the packaged model even when your params_file names another.

`namespace:=cam1` puts the node and all its topics under /cam1 (one launch per camera); pass
that camera's image_topic and camera_info_topic as well.

Transport: MB-sized images need FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA, but processes with
different settings do not talk to each other at all. This launch file therefore does NOT
set it by default: export it in every shell (camera driver, this launch, rviz, recorders).
`fastdds_large_data:=true` sets it for the processes started here only, which is right
when nothing else in the system talks to them with another setting.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from depth_perception.ros import launch_support as support

# Launch arguments that set node parameters when given, with their parameter types.
PARAMETER_ARGUMENTS = {'checkpoint': str, 'device': str}


def start_nodes(context):
    if support.rviz_requested(context):
        support.require_rviz2()   # before anything starts: no orphaned node
    parameters, temp_files = support.layered_parameters(context, {}, PARAMETER_ARGUMENTS)
    node = Node(package='depth_perception', executable='scdepth_node', name='scdepth_node',
                namespace=support.namespace(context), output='screen', parameters=parameters,
                remappings=[('image_raw', LaunchConfiguration('image_topic')),
                            ('camera_info', LaunchConfiguration('camera_info_topic'))])
    actions = [node, support.shutdown_when_exits(node), support.remove_on_shutdown(temp_files)]
    if support.rviz_requested(context):
        ns = support.namespace(context)
        # The rviz config names the un-namespaced topics; follow the node into its namespace.
        remaps = [(t, f"/{ns.strip('/')}{t}") for t in ('/depth/image', '/points', '/odom')] if ns else []
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
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node and its outputs, e.g. cam1 ('' = none)"),
        DeclareLaunchArgument('params_file', default_value=support.NOT_GIVEN,
                              description='your parameter file, applied over config/scdepth.yaml '
                                          '(not given = only the package file)'),
        DeclareLaunchArgument('checkpoint', default_value=support.NOT_GIVEN,
                              description="SC-Depth checkpoint file; 'default' = the packaged model "
                                          '(not given = the parameter files decide)'),
        DeclareLaunchArgument('device', default_value=support.NOT_GIVEN,
                              description='auto, cpu, cuda, cuda:N (not given = the parameter files decide)'),
        DeclareLaunchArgument('rviz', default_value='false', description='start rviz2 with config/scdepth.rviz'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the processes '
                                          'launched here (every peer must use the same setting)'),
        SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                               condition=IfCondition(LaunchConfiguration('fastdds_large_data'))),
        OpaqueFunction(function=start_nodes),
    ])
