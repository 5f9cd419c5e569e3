"""SC-Depth node (+ optional rviz2): `ros2 launch depth_perception scdepth.launch.py`.

Arguments: checkpoint, image_topic, camera_info_topic, device, rviz, params_file,
fastdds_large_data. Parameters come from config/scdepth.yaml; checkpoint and device override it.

Transport: MB-sized images need FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA, but processes with
different settings do not talk to each other at all. This launch file therefore does NOT
set it by default: export it in every shell (camera driver, this launch, rviz, recorders).
`fastdds_large_data:=true` sets it for the processes started here only, which is right
when nothing else in the system talks to them with another setting.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    share = get_package_share_directory('depth_perception')
    args = [
        DeclareLaunchArgument('checkpoint', default_value='',
                              description="SC-Depth checkpoint file ('' = packaged default)"),
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='input image topic (rgb8/bgr8/rgba8/bgra8/mono8)'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        DeclareLaunchArgument('device', default_value='auto', description='auto, cpu, cuda, cuda:N'),
        DeclareLaunchArgument('rviz', default_value='false', description='start rviz2 with config/scdepth.rviz'),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'scdepth.yaml'),
                              description='node parameter file'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the processes '
                                          'launched here (every peer must use the same setting)'),
    ]
    node = Node(
        package='depth_perception', executable='scdepth_node', name='scdepth_node', output='screen',
        parameters=[LaunchConfiguration('params_file'),
                    {'checkpoint': ParameterValue(LaunchConfiguration('checkpoint'), value_type=str),
                     'device': ParameterValue(LaunchConfiguration('device'), value_type=str)}],
        remappings=[('image_raw', LaunchConfiguration('image_topic')),
                    ('camera_info', LaunchConfiguration('camera_info_topic'))])
    rviz = Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
                arguments=['-d', os.path.join(share, 'config', 'scdepth.rviz')],
                condition=IfCondition(LaunchConfiguration('rviz')))
    large_data = SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                                        condition=IfCondition(LaunchConfiguration('fastdds_large_data')))
    return LaunchDescription(args + [large_data, node, rviz])
