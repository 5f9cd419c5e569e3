"""DepthNet node (+ optional rviz2): `ros2 launch depth_perception depthnet.launch.py [checkpoint:=FILE]`.

Arguments (`ros2 launch depth_perception depthnet.launch.py --show-args`): image_topic,
camera_info_topic, odom_topic, namespace, params_file, checkpoint, device, motion_source, rviz,
fastdds_large_data.

Depth is metric: the displacement between the two frames of a pair comes from motion_source
(odometry on odom_topic, tf, or constant_velocity; see config/depthnet.yaml).

Parameters, lowest precedence first: the package's config/depthnet.yaml, then your
`params_file:=my.yaml`, then the arguments you give on the command line (checkpoint, device,
motion_source). An argument you do not give leaves the parameter files in charge.
`checkpoint:=default` selects the packaged model even when your params_file names another:
DepthNet 64 px trained by the project on synthetic Still Box flights and rooms (good there,
not on real indoor images; training/README.md).

`namespace:=cam1` puts the node and all its topics under /cam1 (one launch per camera); pass
that camera's image_topic, camera_info_topic and odom_topic as well.

Transport: as for scdepth.launch.py (export FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA in every
shell, or fastdds_large_data:=true when nothing else talks to the processes started here).
"""
from depth_perception.ros import launch_support as support

DEPTHNET = support.NodeLaunch(
    package='depth_perception', executable='depthnet_node', params_file='depthnet.yaml', rviz=True,
    parameters={'checkpoint': (str, "DepthNet checkpoint file; 'default' = the packaged 64 px model (synthetic flights)"),
                'device': (str, 'auto, cpu, cuda, cuda:N'),
                'motion_source': (str, 'odometry, tf or constant_velocity')},
    topics=(support.Topic('odom', 'odom_topic', '/odom',
                          'nav_msgs/Odometry of the camera body (motion_source odometry)'),))


def generate_launch_description():
    return support.launch_description(DEPTHNET)
