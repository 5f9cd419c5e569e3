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
from depth_perception.ros import launch_support as support

SCDEPTH_RGBD = support.NodeLaunch(
    package='depth_perception', executable='scdepth_node', params_file='scdepth.yaml',
    parameters={'checkpoint': (str, "SC-Depth checkpoint file; 'default' = the packaged model"),
                'device': (str, 'auto, cpu, cuda, cuda:N'),
                'depth_scale': (float, 'metres per model unit')},
    topics=(support.Topic('camera/rgb/image_raw', 'rgb_topic', '/camera/rgb/image_raw',
                          'pseudo-RGB-D colour output (ORB-SLAM2 input)'),
            support.Topic('camera/depth_registered/image_raw', 'depth_topic', '/camera/depth_registered/image_raw',
                          'pseudo-RGB-D depth output (ORB-SLAM2 input)')),
    # ORB-SLAM2 builds its own map: skip the outputs it does not read. Your params_file may differ.
    settings={'pseudo_rgbd': True, 'publish_points': False, 'publish_colored': False})


def generate_launch_description():
    return support.launch_description(SCDEPTH_RGBD)
