"""Parameters of the SC-Depth node as plain data: one spec list for the node, the YAML and tests.

The node declares exactly these parameters (default, type and a description naming the
unit); `config/scdepth.yaml` must set exactly the same keys (checked by the tests), so the
documentation, the defaults and the shipped configuration cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NODE_NAME = 'scdepth_node'
QOS_CHOICES = ('sensor_data', 'reliable')


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any            # its Python type (bool, int, float, str) is the parameter type
    description: str
    unit: str = ''          # '' for unitless values
    choices: tuple = ()

    @property
    def full_description(self) -> str:
        unit = f' [{self.unit}]' if self.unit else ''
        choices = f' (one of: {", ".join(self.choices)})' if self.choices else ''
        return f'{self.description}{unit}{choices}'

    def check(self, value: Any) -> Any:
        """Return `value` converted to the spec's type, or raise ValueError."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise ValueError(f'parameter {self.name}: expected {kind.__name__}, got {value!r}')
        if self.choices and value not in self.choices:
            raise ValueError(f'parameter {self.name}: {value!r} is not one of {self.choices}')
        return value


SCDEPTH_NODE_PARAMS: tuple[ParamSpec, ...] = (
    # --- model
    ParamSpec('checkpoint', '', "SC-Depth checkpoint file; '' = the packaged default model", 'path'),
    ParamSpec('pose_checkpoint', '', "separate PoseResNet file (SC-SfMLearner releases); '' = none", 'path'),
    ParamSpec('device', 'auto', "torch device: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', 'cuda:N'"),
    ParamSpec('fp16', False, 'half precision inference (CUDA only; ignored on CPU)'),
    ParamSpec('network_height', 0, "network input height, a multiple of 32 and >= 64; 0 = checkpoint's training size", 'px'),
    ParamSpec('network_width', 0, "network input width, a multiple of 32 and >= 64; 0 = checkpoint's training size", 'px'),
    ParamSpec('depth_scale', 1.0, 'metres per model depth unit; scales depth, cloud and odometry alike', 'm/unit'),
    ParamSpec('min_depth_m', 0.0, 'depth below this becomes NaN (invalid); 0 = no limit', 'm'),
    ParamSpec('max_depth_m', 0.0, 'depth above this becomes NaN (invalid); 0 = no limit', 'm'),
    ParamSpec('estimate_motion', True, 'run PoseResNet and publish odom and /tf'),
    ParamSpec('num_threads', 0, 'torch CPU threads; 0 = torch default', 'threads'),
    # --- input
    ParamSpec('input_qos', 'sensor_data', 'QoS of the image_raw and camera_info subscriptions',
              choices=QOS_CHOICES),
    ParamSpec('camera_frame', 'camera_optical_frame', 'optical frame id used when an image header has an empty one', 'frame id'),
    # --- outputs
    ParamSpec('output_queue_depth', 5, 'history depth of the reliable output publishers', 'messages'),
    ParamSpec('publish_colored', True, 'publish depth/colored (rgb8 false colour)'),
    ParamSpec('publish_points', True, 'publish the points PointCloud2 (camera optical frame)'),
    ParamSpec('points_organized', True, 'organised HxW cloud with NaN holes; false = unorganised, NaN-free'),
    ParamSpec('points_stride', 1, 'keep every n-th pixel in both axes for the cloud', 'px'),
    ParamSpec('points_color', True, 'add packed rgb to the cloud (xyzrgb); false = xyz'),
    ParamSpec('pseudo_rgbd', False, 'also publish camera/rgb/image_raw and camera/depth_registered/image_raw '
              'with identical headers, for ORB-SLAM2 RGB-D'),
    # --- odometry and frames (REP 105)
    ParamSpec('odom_frame', 'odom', 'fixed odometry frame of odom and /tf', 'frame id'),
    ParamSpec('base_frame', 'camera_link', 'REP 103 body frame moved by odometry (child of odom_frame)', 'frame id'),
    ParamSpec('publish_tf', True, 'broadcast odom_frame -> base_frame on /tf'),
    ParamSpec('publish_static_tf', True, 'broadcast base_frame -> optical frame (pure rotation) on /tf_static; '
              'disable if a URDF or the camera driver already does'),
    ParamSpec('odom_scale_sigma', 0.5, '1-sigma relative scale uncertainty: position sigma per metre from origin', 'm/m'),
    ParamSpec('odom_drift_sigma', 0.05, '1-sigma translation drift per metre travelled', 'm/m'),
    ParamSpec('odom_rotation_drift_sigma', 0.05, '1-sigma rotation drift per radian turned', 'rad/rad'),
    ParamSpec('reset_on_time_jump', True, 'restart motion estimation when image stamps go backwards'),
    # --- monitoring
    ParamSpec('diagnostics_period_s', 5.0, 'period of the statistics log line and /diagnostics; 0 = off', 's'),
)

SPECS_BY_NAME = {s.name: s for s in SCDEPTH_NODE_PARAMS}


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SCDEPTH_NODE_PARAMS}


def read_ros_params_yaml(path, node_name: str = NODE_NAME) -> dict[str, Any]:
    """`<node_name>: ros__parameters: {...}` of a ROS 2 parameter file (also accepts `/**`)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    for key in (node_name, '/' + node_name, '/**'):
        section = data.get(key)
        if isinstance(section, dict) and isinstance(section.get('ros__parameters'), dict):
            return dict(section['ros__parameters'])
    raise ValueError(f'{path}: no {node_name}: ros__parameters section')


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Check names and types against the specs; returns values with ints widened to floats."""
    unknown = sorted(set(values) - set(SPECS_BY_NAME))
    if unknown:
        raise ValueError(f'unknown parameters: {", ".join(unknown)}')
    return {k: SPECS_BY_NAME[k].check(v) for k, v in values.items()}


def config_path() -> Path:
    """config/scdepth.yaml: the source tree copy, else the installed share/ copy."""
    here = Path(__file__).resolve().parents[1] / 'config' / 'scdepth.yaml'
    if here.is_file():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory('depth_perception')) / 'config' / 'scdepth.yaml'
    except Exception:  # noqa: BLE001 - ament index absent outside a ROS install
        return here
