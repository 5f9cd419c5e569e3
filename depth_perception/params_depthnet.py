"""Parameter table of depthnet_node (same spec mechanism as params.py; config/depthnet.yaml).

DepthNet gives **metric** depth: the displacement between the two frames of a pair comes from
the motion source (`motion_source`), and depth_m = network output x |d| / nominal_displacement_m.
"""
from __future__ import annotations

from typing import Any

from .params import (ADAPTER_PARAMS, ADAPTER_RULES, BACKEND_PARAMS, ParamSpec, Rule, depth_range_rule, device_rule,
                     distinct_frames)

NODE_NAME = 'depthnet_node'
MOTION_SOURCES = ('odometry', 'tf', 'constant_velocity')
MAX_FRAME_SHIFT = 64

DEPTHNET_MODEL_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec('checkpoint', '', "DepthNet checkpoint file (released .pth.tar or the project's own); "
              "'' = the packaged default model (64 px, trained by the project on synthetic flights)", 'path'),
    ParamSpec('device', 'auto', "torch device: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', 'cuda:N'"),
    ParamSpec('num_threads', 0, 'torch CPU threads; 0 = torch default', 'threads', range=(0, 256)),
    *BACKEND_PARAMS,
    ParamSpec('frame_shifts', '1', "frame shifts k of the pairs (t-k, t), comma separated, e.g. '1,3,9'; "
              'several are fused per pixel (multi-range)', int_as_text=True),
    ParamSpec('fusion_softness', 0.6, 'multi-range fusion: log-space width of the per-shift weights '
              '(weighted log-average of the shifts\' depths); 0 = hard selection of the best-conditioned '
              'shift', 'ln(m)', range=(0.0, 10.0), live=True),
    ParamSpec('nominal_displacement_m', 0.3, 'displacement the network output assumes (Still Box models: 0.3)',
              'm', range=(1e-4, 100.0)),
    ParamSpec('network_focal_px', 0.0, "focal length the network was trained at; 0 = from the checkpoint "
              '(Still Box: training width / 2)', 'px', range=(0.0, 1e5)),
    ParamSpec('max_rotation_deg', 20.0, 'pairs whose relative rotation exceeds this are skipped '
              '(rotation_too_large); smaller rotations are removed by de-rotation', 'deg',
              range=(0.0, 180.0), live=True),
    ParamSpec('min_displacement_m', 0.02, 'pairs with a smaller displacement are skipped '
              '(displacement_too_small: no usable parallax)', 'm', range=(0.0, 100.0), live=True),
    ParamSpec('refine_rotation', False, 'correct each pair\'s rotation from the images, given the direction '
              'of travel (odometry/tf positions or the constant velocity): for orientations good to a '
              'degree or so, where DepthNet needs ~0.1 deg; ~55 ms a pair on one CPU core'),
    ParamSpec('min_depth_m', 0.0, 'depth below this becomes NaN (invalid); 0 = no limit', 'm',
              range=(0.0, 1e5), live=True),
    ParamSpec('max_depth_m', 0.0, 'depth above this becomes NaN (invalid); 0 = no limit; > min_depth_m', 'm',
              range=(0.0, 1e5), live=True),
)

DEPTHNET_MOTION_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec('motion_source', 'odometry', "where the camera motion comes from: 'odometry' (nav_msgs/Odometry "
              "on the odom topic; its child frame is the camera's body frame), 'tf' (world_frame -> image "
              "frame on /tf + /tf_static, lever arms included), 'constant_velocity' (velocity_*_mps, camera "
              'assumed stabilized: no rotation)', choices=MOTION_SOURCES),
    ParamSpec('world_frame', 'odom', "tf: fixed frame the camera moves in (an ancestor of the image's frame)",
              'frame id'),
    ParamSpec('motion_max_age_s', 0.2, 'odometry/tf: a pose older than this before the image stamp counts as '
              'unknown motion (no later pose to interpolate with)', 's', range=(0.0, 60.0), live=True),
    ParamSpec('motion_wait_s', 0.05, 'odometry/tf: how long a frame waits for a pose at or after its stamp '
              'before the latest earlier one is used', 's', range=(0.0, 5.0), live=True),
    ParamSpec('velocity_x_mps', 0.0, 'constant_velocity: camera velocity along the optical x axis (right)',
              'm/s', range=(-1e3, 1e3)),
    ParamSpec('velocity_y_mps', 0.0, 'constant_velocity: camera velocity along the optical y axis (down)',
              'm/s', range=(-1e3, 1e3)),
    ParamSpec('velocity_z_mps', 0.0, 'constant_velocity: camera velocity along the optical z axis (forward)',
              'm/s', range=(-1e3, 1e3)),
)

DEPTHNET_NODE_PARAMS: tuple[ParamSpec, ...] = DEPTHNET_MODEL_PARAMS + ADAPTER_PARAMS + DEPTHNET_MOTION_PARAMS


def parse_frame_shifts(text: str) -> tuple[int, ...]:
    """'1, 3,9' -> (1, 3, 9); ValueError naming the parameter otherwise."""
    try:
        shifts = tuple(int(part) for part in text.split(','))
    except ValueError:
        raise ValueError(f'parameter frame_shifts: {text!r} is not a comma-separated list of integers') from None
    if not all(1 <= s <= MAX_FRAME_SHIFT for s in shifts) or len(set(shifts)) != len(shifts):
        raise ValueError(f'parameter frame_shifts: {text!r} must be distinct integers in [1, {MAX_FRAME_SHIFT}]')
    return tuple(sorted(shifts))


def velocity_mps(values: dict[str, Any]) -> tuple[float, float, float]:
    return tuple(float(values.get(f'velocity_{a}_mps', 0.0)) for a in 'xyz')


def _frame_shifts_rule(values: dict) -> None:
    parse_frame_shifts(values.get('frame_shifts', '1'))


def _velocity_rule(values: dict) -> None:
    if values.get('motion_source') == 'constant_velocity' and not any(velocity_mps(values)):
        raise ValueError('parameters velocity_x_mps/velocity_y_mps/velocity_z_mps: all 0 m/s with '
                         'motion_source constant_velocity (no displacement, no depth)')


DEPTHNET_RULES: tuple[Rule, ...] = ADAPTER_RULES + (
    device_rule, _frame_shifts_rule, _velocity_rule, depth_range_rule,
    distinct_frames('camera_frame', 'base_frame', 'world_frame'))
