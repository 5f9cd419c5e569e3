"""SC-Depth as a pseudo-RGB-D camera for ORB-SLAM2: `ros2 launch depth_perception scdepth_orbslam2.launch.py`.

The node publishes, with identical headers (the input image's stamp and frame_id):
  /camera/rgb/image_raw               rgb8, the input colour image
  /camera/depth_registered/image_raw  32FC1 metres (NaN invalid), same size
which are the topics ORB-SLAM2's RGB-D ROS node subscribes (ApproximateTime sync). ORB-SLAM2
itself is yours to run, with a settings file made for your camera:

  depth-perception orbslam-settings --camera-info my_camera.yaml -o scdepth_rgbd.yaml
  # ORB-SLAM2 (ROS 1) through ros1_bridge, or a ROS 2 port of its RGB-D node:
  ros2 run orbslam2 rgbd ORBvoc.txt scdepth_rgbd.yaml   # names depend on the port

DepthMapFactor is 1.0 because depth is already in metres. Its subscribers use reliable QoS,
which the node's reliable publishers satisfy. Set depth_scale so that depth is metric, or
ORB-SLAM2's map has the model's scale. See scdepth.launch.py about FASTDDS_BUILTIN_TRANSPORTS.
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
        DeclareLaunchArgument('checkpoint', default_value='', description='SC-Depth checkpoint file'),
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw', description='input images'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        DeclareLaunchArgument('device', default_value='auto', description='auto, cpu, cuda, cuda:N'),
        DeclareLaunchArgument('depth_scale', default_value='1.0', description='metres per model unit'),
        DeclareLaunchArgument('rgb_topic', default_value='/camera/rgb/image_raw',
                              description='pseudo-RGB-D colour output (ORB-SLAM2 input)'),
        DeclareLaunchArgument('depth_topic', default_value='/camera/depth_registered/image_raw',
                              description='pseudo-RGB-D depth output (ORB-SLAM2 input)'),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'scdepth.yaml'),
                              description='node parameter file'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for this launch only'),
    ]
    node = Node(
        package='depth_perception', executable='scdepth_node', name='scdepth_node', output='screen',
        parameters=[LaunchConfiguration('params_file'),
                    {'checkpoint': ParameterValue(LaunchConfiguration('checkpoint'), value_type=str),
                     'device': ParameterValue(LaunchConfiguration('device'), value_type=str),
                     'depth_scale': ParameterValue(LaunchConfiguration('depth_scale'), value_type=float),
                     'pseudo_rgbd': True,
                     # ORB-SLAM2 builds its own map: skip the outputs it does not read.
                     'publish_points': False, 'publish_colored': False}],
        remappings=[('image_raw', LaunchConfiguration('image_topic')),
                    ('camera_info', LaunchConfiguration('camera_info_topic')),
                    ('camera/rgb/image_raw', LaunchConfiguration('rgb_topic')),
                    ('camera/depth_registered/image_raw', LaunchConfiguration('depth_topic'))])
    large_data = SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                                        condition=IfCondition(LaunchConfiguration('fastdds_large_data')))
    return LaunchDescription(args + [large_data, node])
