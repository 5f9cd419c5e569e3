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
from depth_perception.ros import launch_support as support

SCDEPTH = support.NodeLaunch(
    package='depth_perception', executable='scdepth_node', params_file='scdepth.yaml', rviz=True,
    parameters={'checkpoint': (str, "SC-Depth checkpoint file; 'default' = the packaged model"),
                'device': (str, 'auto, cpu, cuda, cuda:N')})


def generate_launch_description():
    return support.launch_description(SCDEPTH)
