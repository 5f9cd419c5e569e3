"""Node parameters as plain data: one spec table per node, shared by the node, the YAML and tests.

A node declares exactly its spec table (default, type, range, unit, whether it may change at
run time); `config/<method>.yaml` must set exactly the same keys (checked by the tests), so
the documentation, the defaults and the shipped configuration cannot drift apart. Validation
lives here, ROS-free, so start-up values and `ros2 param set` go through the same checks.

Tables: ADAPTER_PARAMS (every depth node: input, outputs, frames, monitoring) and the
method's own (SCDEPTH_MODEL_PARAMS, SCDEPTH_MOTION_PARAMS); SCDEPTH_NODE_PARAMS joins them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

NODE_NAME = 'scdepth_node'
QOS_CHOICES = ('sensor_data', 'reliable')
MAX_FRAME_ID_CHARS = 256
MAX_PATH_CHARS = 4096
_FRAME_ID = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_./-]*')
# the choices of depth_perception.backends (kept here so launch files need not import torch;
# test_node_backend_params checks they stay equal)
BACKEND_CHOICES = ('eager', 'torch', 'onnxruntime', 'auto')
PRECISION_CHOICES = ('fp32', 'fp16', 'bf16', 'int8')
_DEVICE = re.compile(r'auto|cpu|cuda(:\d{1,3})?')


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any            # its Python type (bool, int, float, str) is the parameter type
    description: str
    unit: str = ''          # '' for unitless values; 'frame id' and 'path' are checked as such
    choices: tuple = ()
    range: tuple | None = None   # inclusive (low, high) for numbers
    step: int = 1           # integer ranges only
    live: bool = False      # may change at run time (`ros2 param set`); else read-only
    int_as_text: bool = False   # text parameters only: an integer (YAML `3`, `-p k:=3`) is taken as '3'

    @property
    def full_description(self) -> str:
        unit = f' [{self.unit}]' if self.unit else ''
        choices = f' (one of: {", ".join(self.choices)})' if self.choices else ''
        return f'{self.description}{unit}{choices}'

    def check(self, value: Any) -> Any:
        """Return `value` converted to the spec's type, or raise ValueError naming the parameter."""
        kind = type(self.default)
        where = f'parameter {self.name}'
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)    # `depth_scale: 2` means 2.0, as users expect
        if kind is str and self.int_as_text and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)      # `frame_shifts:=3` means '3'
        if type(value) is not kind:
            shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + '...'
            raise ValueError(f'{where}: expected {kind.__name__}, got {type(value).__name__} {shown}')
        if kind is float and not math.isfinite(value):
            raise ValueError(f'{where}: {value} is not a finite number')
        if self.range is not None:
            lo, hi = self.range
            if not lo <= value <= hi:
                raise ValueError(f'{where}: {value} is outside [{lo}, {hi}]{self._unit()}')
            if kind is int and (value - lo) % self.step:
                raise ValueError(f'{where}: {value} is not {lo} + a multiple of {self.step}')
        if self.choices and value not in self.choices:
            raise ValueError(f'{where}: {value!r} is not one of {", ".join(self.choices)}')
        if self.unit == 'frame id':
            check_frame_id(value, where)
        if self.unit == 'path' and (len(value) > MAX_PATH_CHARS or '\0' in value):
            raise ValueError(f'{where}: not a usable file path')
        return value

    def _unit(self) -> str:
        return f' {self.unit}' if self.unit else ''


def check_frame_id(frame_id: str, where: str) -> None:
    """tf2 frame ids: non-empty, <= 256 chars, no leading '/', no spaces or control characters."""
    if len(frame_id) > MAX_FRAME_ID_CHARS:
        raise ValueError(f'{where}: frame id of {len(frame_id)} characters (at most {MAX_FRAME_ID_CHARS})')
    if not _FRAME_ID.fullmatch(frame_id):
        raise ValueError(f'{where}: {frame_id!r} is not a valid tf2 frame id '
                         '(letters, digits, _ . / -, not starting with /)')


ADAPTER_PARAMS: tuple[ParamSpec, ...] = (
    # --- input
    ParamSpec('input_qos', 'sensor_data', 'QoS of the image_raw and camera_info subscriptions',
              choices=QOS_CHOICES),
    ParamSpec('camera_frame', 'camera_optical_frame', 'optical frame id used when an image header has an empty one', 'frame id'),
    # --- outputs
    ParamSpec('output_queue_depth', 5, 'history depth of the reliable output publishers', 'messages', range=(1, 1000)),
    ParamSpec('publish_colored', True, 'publish depth/colored (rgb8 false colour)', live=True),
    ParamSpec('publish_points', True, 'publish the points PointCloud2 (camera optical frame)', live=True),
    ParamSpec('points_organized', True, 'organised HxW cloud with NaN holes; false = unorganised, NaN-free', live=True),
    ParamSpec('points_stride', 1, 'keep every n-th pixel in both axes for the cloud', 'px', range=(1, 64), live=True),
    ParamSpec('points_color', True, 'add packed rgb to the cloud (xyzrgb); false = xyz', live=True),
    ParamSpec('pseudo_rgbd', False, 'also publish camera/rgb/image_raw and camera/depth_registered/image_raw '
              'with identical headers, for ORB-SLAM2 RGB-D', live=True),
    ParamSpec('lazy_outputs', True, 'build depth/colored, points and the pseudo-RGB-D pair only while they '
              'have a subscriber (their CPU goes to inference when nobody listens); depth/image is always '
              'published', live=True),
    # --- frames (REP 105)
    ParamSpec('base_frame', 'camera_link', 'REP 103 body frame of the camera (parent of the optical frame)', 'frame id'),
    ParamSpec('publish_static_tf', True, 'broadcast base_frame -> optical frame (pure rotation) on /tf_static; '
              'disable if a URDF or the camera driver already does', live=True),
    # --- monitoring
    ParamSpec('diagnostics_period_s', 5.0, 'period of the statistics log line and /diagnostics; 0 = off', 's',
              range=(0.0, 3600.0)),
)

# inference backend choice, shared by the SC-Depth and DepthNet nodes
BACKEND_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec('backend', 'eager', "inference backend: 'eager' (exact fp32 reference path), 'torch' "
              "(folded BatchNorm, channels_last), 'onnxruntime' (ONNX Runtime), 'auto' (onnxruntime when "
              'onnx_dir is set and it runs the precision, else torch)', choices=BACKEND_CHOICES),
    ParamSpec('precision', 'fp32', 'numeric precision of the networks (bf16 pays on CPUs with AMX, '
              'fp16 on GPUs; int8: SC-Depth only, backend onnxruntime on CPU, files from `export --format '
              'onnx --precision int8` or quantized at start; 2.9x eager fp32 at 256x320 on an AVX-512 '
              'VNNI CPU, 1 thread, tested within 3 % median depth error of fp32, abs_rel vs ground '
              'truth <= fp32 + 0.02, translation direction '
              '<= 2 deg median, rotation <= 0.2 deg of fp32)', choices=PRECISION_CHOICES),
    ParamSpec('onnx_dir', '', "folder of exported ONNX networks for backend onnxruntime/auto "
              "(`depth-perception export --format onnx`); '' = export in memory at start", 'path'),
)

SCDEPTH_MODEL_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec('checkpoint', '', "SC-Depth checkpoint file; '' = the packaged default model", 'path'),
    ParamSpec('pose_checkpoint', '', "separate PoseResNet file (SC-SfMLearner releases); '' = none", 'path'),
    ParamSpec('device', 'auto', "torch device: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', 'cuda:N'"),
    ParamSpec('fp16', False, 'half precision inference (CUDA only; ignored on CPU)'),
    ParamSpec('network_height', 0, "network input height, a multiple of 32 and >= 64; 0 = checkpoint's "
              'training size (set both or neither)', 'px', range=(0, 4096), step=32),
    ParamSpec('network_width', 0, "network input width, a multiple of 32 and >= 64; 0 = checkpoint's "
              'training size (set both or neither)', 'px', range=(0, 4096), step=32),
    ParamSpec('depth_scale', 1.0, 'metres per model depth unit; scales depth, cloud and odometry alike', 'm/unit',
              range=(1e-6, 1e6), live=True),
    ParamSpec('min_depth_m', 0.0, 'depth below this becomes NaN (invalid); 0 = no limit', 'm',
              range=(0.0, 1e4), live=True),
    ParamSpec('max_depth_m', 0.0, 'depth above this becomes NaN (invalid); 0 = no limit; > min_depth_m', 'm',
              range=(0.0, 1e4), live=True),
    ParamSpec('estimate_motion', True, 'run PoseResNet and publish odom and /tf'),
    ParamSpec('pose_refinement', True, "refine PoseResNet's motion by photometric alignment against the "
              'predicted depth (needs camera_info; keeps depth and odometry on one scale)'),
    ParamSpec('num_threads', 0, 'torch CPU threads; 0 = torch default', 'threads', range=(0, 256)),
    *BACKEND_PARAMS,
    ParamSpec('output_thread', 'auto', "build and publish a frame's messages on their own thread while the "
              "next frame is inferred: 'auto' = when the model runs on a GPU or num_threads leaves a CPU core "
              "free (with every core inferring the thread competes for them), 'always', 'never' (not on/off: "
              "YAML reads those as booleans)", choices=('auto', 'always', 'never')),
)

SCDEPTH_MOTION_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec('odom_frame', 'odom', 'fixed odometry frame of odom and /tf', 'frame id'),
    ParamSpec('publish_tf', True, 'broadcast odom_frame -> base_frame on /tf', live=True),
    ParamSpec('odom_scale_sigma', 0.5, '1-sigma relative scale uncertainty: position sigma per metre from origin',
              'm/m', range=(0.0, 100.0)),
    ParamSpec('odom_drift_sigma', 0.05, '1-sigma translation drift per metre travelled', 'm/m', range=(0.0, 100.0)),
    ParamSpec('odom_rotation_drift_sigma', 0.05, '1-sigma rotation drift per radian turned', 'rad/rad',
              range=(0.0, 100.0)),
    ParamSpec('reset_on_time_jump', True, 'restart motion estimation when image stamps go backwards', live=True),
)

SCDEPTH_NODE_PARAMS: tuple[ParamSpec, ...] = SCDEPTH_MODEL_PARAMS + ADAPTER_PARAMS + SCDEPTH_MOTION_PARAMS
SPECS_BY_NAME = {s.name: s for s in SCDEPTH_NODE_PARAMS}

Rule = Callable[[dict], None]


def distinct_frames(*names: str) -> Rule:
    """Rule: the named frame parameters differ (equal frames make tf cycles or self-links)."""
    def rule(values: dict) -> None:
        present = [n for n in names if n in values]
        for i, a in enumerate(present):
            for b in present[i + 1:]:
                if values[a] == values[b]:
                    raise ValueError(f'parameters {a} and {b}: both are {values[a]!r}; '
                                     'the frames must differ (tf would get a cycle or a self-link)')
    return rule


def network_size_rule(values: dict) -> None:
    h, w = values.get('network_height', 0), values.get('network_width', 0)
    if bool(h) != bool(w):
        given, missing = ('network_height', 'network_width') if h else ('network_width', 'network_height')
        raise ValueError(f'parameter {given}: set without {missing}; set both or neither')
    for name in ('network_height', 'network_width'):
        if 0 < values.get(name, 0) < 64:
            raise ValueError(f'parameter {name}: {values[name]} px is below the minimum of 64 px')


def depth_range_rule(values: dict) -> None:
    lo, hi = values.get('min_depth_m', 0.0), values.get('max_depth_m', 0.0)
    if lo > 0 and hi > 0 and hi <= lo:
        raise ValueError(f'parameters min_depth_m/max_depth_m: max {hi} m must be greater than min {lo} m')


ADAPTER_RULES: tuple[Rule, ...] = (distinct_frames('camera_frame', 'base_frame'),)


def device_rule(values: dict) -> None:
    check_device(values.get('device', 'auto'))


SCDEPTH_RULES: tuple[Rule, ...] = ADAPTER_RULES + (
    device_rule, network_size_rule, depth_range_rule, distinct_frames('camera_frame', 'base_frame', 'odom_frame'))


def defaults(specs: Iterable[ParamSpec] = SCDEPTH_NODE_PARAMS) -> dict[str, Any]:
    return {s.name: s.default for s in specs}


def validate(values: dict[str, Any], specs: Iterable[ParamSpec] = SCDEPTH_NODE_PARAMS,
             rules: Iterable[Rule] = SCDEPTH_RULES, complete: bool = False) -> dict[str, Any]:
    """Check names, types, ranges and cross-parameter rules; returns values with ints widened.

    Rules see the values given, on top of the defaults when `complete` is False, so a
    partial dict (a yaml file, one `ros2 param set`) is checked in context.
    """
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValueError(f'unknown parameters: {", ".join(unknown)}')
    checked = {k: by_name[k].check(v) for k, v in values.items()}
    merged = checked if complete else {**defaults(by_name.values()), **checked}
    for rule in rules:
        rule(merged)
    return checked


def read_ros_params_yaml(path, node_name: str = NODE_NAME) -> dict[str, Any]:
    """`ros__parameters` of a ROS 2 parameter file, keyed `/**` (any node) or by node name."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    for key in ('/**', node_name, '/' + node_name, f'/**/{node_name}'):
        section = data.get(key)
        if isinstance(section, dict) and isinstance(section.get('ros__parameters'), dict):
            return dict(section['ros__parameters'])
    raise ValueError(f'{path}: no /** (or {node_name}): ros__parameters section')


def config_path(name: str = 'scdepth.yaml') -> Path:
    """config/<name>: the source tree copy, else the installed share/ copy."""
    here = Path(__file__).resolve().parents[1] / 'config' / name
    if here.is_file():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory('depth_perception')) / 'config' / name
    except Exception:  # noqa: BLE001 - ament index absent outside a ROS install
        return here


def check_device(value: str) -> None:
    if not _DEVICE.fullmatch(value):
        raise ValueError(f"parameter device: {value!r} is not 'auto', 'cpu', 'cuda' or 'cuda:N'")


def check_startup_resources(values: dict, file_params: Iterable[str]) -> None:
    """What the rules cannot see from the values alone, checked once at node start: the files
    named by `file_params` exist, and a requested CUDA device is really there."""
    for name in file_params:
        value = values.get(name)
        if value and not Path(value).expanduser().is_file():
            raise ValueError(f'parameter {name}: file {value} does not exist or is not a file')
    device = values.get('device', 'auto')
    if device.startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            raise ValueError(f'parameter device: {device!r} requested but CUDA is not available '
                             '(use device:=cpu or device:=auto)')
