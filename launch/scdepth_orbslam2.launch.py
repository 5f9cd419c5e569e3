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

Parameters, lowest precedence first: config/scdepth.yaml, this launch file's settings
(pseudo_rgbd on; no cloud and no false-colour image, which ORB-SLAM2 does not read), your
`params_file:=`, then the arguments you give (checkpoint, device, depth_scale).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from depth_perception.ros import launch_support as support

PARAMETER_ARGUMENTS = {'checkpoint': str, 'device': str, 'depth_scale': float}
# ORB-SLAM2 builds its own map: skip the outputs it does not read. Your params_file may differ.
LAUNCH_SETTINGS = {'pseudo_rgbd': True, 'publish_points': False, 'publish_colored': False}


def start_nodes(context):
    parameters, temp_files = support.layered_parameters(context, LAUNCH_SETTINGS, PARAMETER_ARGUMENTS)
    node = Node(package='depth_perception', executable='scdepth_node', name='scdepth_node',
                namespace=support.namespace(context), output='screen', parameters=parameters,
                remappings=[('image_raw', LaunchConfiguration('image_topic')),
                            ('camera_info', LaunchConfiguration('camera_info_topic')),
                            ('camera/rgb/image_raw', LaunchConfiguration('rgb_topic')),
                            ('camera/depth_registered/image_raw', LaunchConfiguration('depth_topic'))])
    return [node, support.shutdown_when_exits(node), support.remove_on_shutdown(temp_files)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw', description='input images'),
        DeclareLaunchArgument('camera_info_topic', default_value='/camera/camera_info',
                              description='camera_info of the input images'),
        DeclareLaunchArgument('rgb_topic', default_value='/camera/rgb/image_raw',
                              description='pseudo-RGB-D colour output (ORB-SLAM2 input)'),
        DeclareLaunchArgument('depth_topic', default_value='/camera/depth_registered/image_raw',
                              description='pseudo-RGB-D depth output (ORB-SLAM2 input)'),
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node and its other outputs ('' = none)"),
        DeclareLaunchArgument('params_file', default_value=support.NOT_GIVEN,
                              description='your parameter file, applied over config/scdepth.yaml and '
                                          "this launch file's settings (not given = none)"),
        DeclareLaunchArgument('checkpoint', default_value=support.NOT_GIVEN,
                              description="SC-Depth checkpoint file; 'default' = the packaged model "
                                          '(not given = the parameter files decide)'),
        DeclareLaunchArgument('device', default_value=support.NOT_GIVEN,
                              description='auto, cpu, cuda, cuda:N (not given = the parameter files decide)'),
        DeclareLaunchArgument('depth_scale', default_value=support.NOT_GIVEN,
                              description='metres per model unit (not given = the parameter files decide)'),
        DeclareLaunchArgument('fastdds_large_data', default_value='false',
                              description='set FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for this launch only'),
        SetEnvironmentVariable('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA',
                               condition=IfCondition(LaunchConfiguration('fastdds_large_data'))),
        OpaqueFunction(function=start_nodes),
    ])
