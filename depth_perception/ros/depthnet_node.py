"""DepthNet on ROS 2: the shared depth adapter plus DepthNet's estimator, parameters and motion input.

Depth is **metric**: DepthNet reads depth from the parallax between two frames, and the
displacement between them comes from the motion source (`motion_source` parameter):
  odometry          nav_msgs/Odometry on `odom` (remap it); the pose of its child frame is the
                    camera's REP 103 body frame (the optical frame is a pure rotation of it);
  tf                world_frame -> the image's frame_id through /tf + /tf_static (lever arms
                    and mounting rotations included); our own small buffer (depth_perception.
                    pose_buffer), because tf2_ros is absent from pip-only installs;
  constant_velocity velocity_{x,y,z}_mps in the camera optical frame; the camera is taken as
                    stabilized (no rotation), displacement = |v| x stamp difference.
A pose is looked up at the image stamp (interpolated between the poses around it; the latest
earlier one if none is later within motion_wait_s and it is at most motion_max_age_s old).

Outputs: those of every depth node (see depth_node); its /diagnostics status also carries the
pair validity: counters `shift<k>_used` / `shift<k>_<skip reason>`, `frames_without_pair`,
`frames_motion_unknown`, and `last_frame_pairs` (the last frame's pairs in words). A frame
with no usable pair (first frames, standing still, rotation too large, unknown motion)
publishes nothing and is counted.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from nav_msgs.msg import Odometry

from .. import params as P
from .. import params_depthnet as PD
from ..backends import BackendError, backend_config
from ..estimators import CameraFrame
from ..estimators.depthnet import DepthNetEstimator, PairsSkipped
from ..estimators.depthnet_runner import DEFAULT_CHECKPOINT_NAME, default_checkpoint
from ..geometry import make_T, matrix_from_quaternion_xyzw
from ..odometry import T_BASE_OPTICAL
from ..pose_buffer import PoseBuffer, TransformTree
from . import conversions as C
from .depth_node import DepthNode, PendingFrame
from .outputs import latched_qos, reliable_qos
from .run import exit_with

LIVE_ESTIMATOR_FIELDS = ('max_rotation_deg', 'min_displacement_m', 'min_depth_m', 'max_depth_m', 'fusion_softness')
WAIT_POLL_S = 0.002


def _pair_words(p) -> str:
    if not p.used:
        return f'shift {p.shift}: skipped ({p.reason})'
    refined = '' if np.isnan(p.rotation_correction_deg) else f', corrected by {p.rotation_correction_deg:.2f} deg'
    return f'shift {p.shift}: used (|d| {p.displacement_m:.3f} m, rotation {p.rotation_deg:.1f} deg{refined})'


def pose_msg_to_T(pose, where: str) -> np.ndarray:
    """geometry_msgs Pose / Transform -> 4x4; ValueError naming the field if not finite or not unit."""
    p = pose.position if hasattr(pose, 'position') else pose.translation
    q = pose.orientation if hasattr(pose, 'orientation') else pose.rotation
    t = np.array([p.x, p.y, p.z], np.float64)
    xyzw = np.array([q.x, q.y, q.z, q.w], np.float64)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(xyzw))):
        raise ValueError(f'{where}: not finite')
    norm = float(np.linalg.norm(xyzw))
    if abs(norm - 1.0) > 1e-3:
        raise ValueError(f'{where}: quaternion norm {norm:.4f} is not 1')
    return make_T(matrix_from_quaternion_xyzw(xyzw / norm), t)


class DepthNetNode(DepthNode):
    default_name = PD.NODE_NAME
    specs = PD.DEPTHNET_NODE_PARAMS
    rules = PD.DEPTHNET_RULES

    def __init__(self, node_name: str = PD.NODE_NAME, **kwargs):
        self.odom_poses = PoseBuffer()
        self.tf_tree = TransformTree()
        self.motion_unknown = 0
        self.last_pairs = 'no frame yet'
        super().__init__(node_name, **kwargs)

    # ------------------------------------------------------------- method hooks
    def setup_method(self) -> None:
        """The motion input the motion_source parameter names."""
        source = self.params['motion_source']
        if source == 'odometry':
            self.create_subscription(Odometry, 'odom', self._on_odometry, reliable_qos(100))
            where = self.resolve_topic_name('odom')
        elif source == 'tf':
            from tf2_msgs.msg import TFMessage  # absent from some pip-only installs
            self.create_subscription(TFMessage, '/tf', lambda m: self._on_tf(m, False), reliable_qos(100))
            self.create_subscription(TFMessage, '/tf_static', lambda m: self._on_tf(m, True), latched_qos())
            where = f'tf {self.params["world_frame"]} -> image frame'
        else:
            where = f'constant velocity {PD.velocity_mps(self.params.values)} m/s (optical frame)'
        self.get_logger().info(f'motion from {where}')

    def make_estimator(self):
        c = self.params
        checkpoint = c['checkpoint']
        if not checkpoint:
            packaged = default_checkpoint()
            if packaged is None:
                raise ValueError(f'parameter checkpoint: not given, and the packaged default model '
                                 f'({DEFAULT_CHECKPOINT_NAME}) is missing from this install; pass '
                                 'checkpoint:=<DepthNet .pth.tar or .pt file>')
            checkpoint = str(packaged)
        P.check_startup_resources(c.values, ('checkpoint',))
        if c['onnx_dir'] and not Path(c['onnx_dir']).expanduser().is_dir():
            raise ValueError(f"parameter onnx_dir: {c['onnx_dir']} does not exist or is not a folder")
        constant = c['motion_source'] == 'constant_velocity'
        try:
            return DepthNetEstimator(
                checkpoint=str(Path(checkpoint).expanduser()), device=c['device'],
                frame_shifts=PD.parse_frame_shifts(c['frame_shifts']), fusion_softness=c['fusion_softness'],
                nominal_displacement_m=c['nominal_displacement_m'], network_focal_px=c['network_focal_px'],
                velocity_mps=PD.velocity_mps(c.values) if constant else None, assume_stabilized=constant,
                max_rotation_deg=c['max_rotation_deg'], min_displacement_m=c['min_displacement_m'],
                refine_rotation=c['refine_rotation'],
                min_depth_m=c['min_depth_m'], max_depth_m=c['max_depth_m'], num_threads=c['num_threads'],
                **backend_config(c['backend'], c['precision'],
                                 str(Path(c['onnx_dir']).expanduser()) if c['onnx_dir'] else ''))
        except BackendError as exc:
            raise RuntimeError(f"parameters backend={c['backend']} precision={c['precision']}: {exc}") from exc
        except Exception as exc:
            text = str(exc)
            raise RuntimeError(text if checkpoint in text else f'checkpoint {checkpoint}: {text}') from exc

    def reserved_frames(self) -> set[str]:
        return {self.params['base_frame'], self.params['world_frame']}

    def apply_params(self, changes: dict[str, Any]) -> None:
        for name in LIVE_ESTIMATOR_FIELDS:
            if name in changes:
                setattr(self.estimator.config, name, changes[name])

    def on_time_jump(self) -> None:
        self.estimator.reset()
        self.odom_poses.clear()     # poses of the previous pass would be interpolated with
        self.tf_tree.clear_moving()

    def estimate(self, frame: PendingFrame):
        T_world_cam = None
        if self.params['motion_source'] != 'constant_velocity':
            T_world_cam, why = self._camera_pose(frame)
            if T_world_cam is None:
                self.motion_unknown += 1
                self._log_throttled('motion', f'no camera pose for the frame at {frame.stamp_ns} ns: {why}')
        try:
            result = self.estimator.estimate(CameraFrame(frame.rgb, frame.K, frame.stamp_ns),
                                             T_world_cam=T_world_cam)
        except PairsSkipped as exc:
            self.last_pairs = f'stamp {frame.stamp_ns} ns: {exc}'
            admit, suppressed = self.throttle.admit('skipped')
            if admit:   # an info call site of its own: rclpy refuses two severities at one call site
                more = f' ({suppressed} more since the last report)' if suppressed else ''
                self.get_logger().info(f'frame not published: {exc}{more}')
            return None
        self.last_pairs = f'stamp {frame.stamp_ns} ns: ' + ', '.join(_pair_words(p) for p in result.pairs)
        return result

    def extra_diagnostics(self) -> dict:
        # Pair validity: counters per shift and reason, and the last frame's pairs in words.
        return {'frames_motion_unknown': self.motion_unknown, **dict(sorted(self.estimator.counters.items())),
                'last_frame_pairs': self.last_pairs}

    # --------------------------------------------------------------- motion input
    def _on_odometry(self, msg: Odometry) -> None:
        try:
            T_odom_body = pose_msg_to_T(msg.pose.pose, 'odometry pose.pose')
        except ValueError as exc:
            self._reject('odometry', str(exc))
            return
        # The child frame is the camera's body frame; the optical frame is a pure rotation of it.
        self.odom_poses.add(C.stamp_to_ns(msg.header.stamp), T_odom_body @ T_BASE_OPTICAL)

    def _on_tf(self, msg, static: bool) -> None:
        for t in msg.transforms:
            try:
                T = pose_msg_to_T(t.transform, f'tf {t.header.frame_id} -> {t.child_frame_id}')
            except ValueError as exc:
                self._reject('tf', str(exc))
                continue
            self.tf_tree.set_transform(t.header.frame_id, t.child_frame_id, C.stamp_to_ns(t.header.stamp),
                                       T, static)

    def _camera_pose(self, frame: PendingFrame):
        c = self.params
        max_age_ns = int(c['motion_max_age_s'] * 1e9)
        if c['motion_source'] == 'odometry':
            newest = self.odom_poses.newest_ns
            lookup = lambda: self.odom_poses.lookup(frame.stamp_ns, max_age_ns)  # noqa: E731
        else:
            world, cam = c['world_frame'], frame.header.frame_id
            if c['publish_static_tf'] and not self.tf_tree.knows(cam):
                # this node publishes base -> optical itself (with its first depth): use it directly
                self.tf_tree.set_transform(c['base_frame'], cam, 0, T_BASE_OPTICAL, static=True)
            newest = lambda: self.tf_tree.newest_complete_ns(world, cam)  # noqa: E731
            lookup = lambda: self.tf_tree.lookup(world, cam, frame.stamp_ns, max_age_ns)  # noqa: E731
        # Odometry for this stamp may still be on its way: wait a little for a pose at or after it.
        deadline = time.monotonic() + c['motion_wait_s']
        while time.monotonic() < deadline and (newest() is None or newest() < frame.stamp_ns):
            time.sleep(WAIT_POLL_S)
        return lookup()


def main(args=None) -> None:
    exit_with(DepthNetNode, args)


if __name__ == '__main__':
    main()
