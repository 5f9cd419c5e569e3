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
from depth_perception.ros import launch_support as support

BOOSTED = support.NodeLaunch(
    package='depth_perception', executable='boosted_depth_node', params_file='boosted_depth.yaml',
    parameters={'base': (str, 'midas | leres (relative depth on depth/relative) | scdepth (metres on depth/image)'),
                'checkpoint': (str, "base weights (MiDaS model.pt / LeReS res101.pth); 'default' = "
                                    'the packaged SC-Depth model'),
                'merge_checkpoint': (str, 'merge network latest_net_G.pth (required)'),
                'mode': (str, 'R0, R20 or Final'),
                'device': (str, 'auto, cpu, cuda, cuda:N')})


def generate_launch_description():
    return support.launch_description(BOOSTED)
