"""SC-Depth on ROS 2: the shared depth adapter plus SC-Depth's estimator, parameters and odometry.

Depth is up to one global scale (`depth_scale`, metres per model unit). Beyond the adapter's
outputs (see depth_node) it publishes odom and /tf from PoseResNet ego-motion.
Frames (REP 105): odom_frame -> base_frame (REP 103 body, moved by odometry) -> optical
frame (the image's frame_id; static pure rotation, see depth_perception.odometry).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nav_msgs.msg import Odometry

from .. import params as P
from ..backends import BackendError, backend_config
from ..estimators import create_estimator
from ..odometry import OdometryIntegrator, OdometryNoise
from . import conversions as C
from .depth_node import DepthNode
from .outputs import reliable_qos
from .run import exit_with

LIVE_ESTIMATOR_FIELDS = ('depth_scale', 'min_depth_m', 'max_depth_m')


class SCDepthNode(DepthNode):
    default_name = P.NODE_NAME
    specs = P.SCDEPTH_NODE_PARAMS
    rules = P.SCDEPTH_RULES

    def __init__(self, node_name: str = P.NODE_NAME, **kwargs):
        self.pub_odom = self.pub_tf = None
        super().__init__(node_name, **kwargs)

    def make_estimator(self):
        c = self.params
        if c['onnx_dir'] and not Path(c['onnx_dir']).expanduser().is_dir():
            raise ValueError(f"parameter onnx_dir: {c['onnx_dir']} does not exist or is not a folder")
        P.check_startup_resources(c.values, ('checkpoint', 'pose_checkpoint'))
        net_hw = (c['network_height'], c['network_width'])
        try:
            estimator = create_estimator(
                'scdepth', checkpoint=str(Path(c['checkpoint']).expanduser()) if c['checkpoint'] else '',
                pose_checkpoint=str(Path(c['pose_checkpoint']).expanduser()) if c['pose_checkpoint'] else '',
                device=c['device'], fp16=c['fp16'], resolution_hw=net_hw if all(net_hw) else None,
                depth_scale=c['depth_scale'], min_depth_m=c['min_depth_m'], max_depth_m=c['max_depth_m'],
                estimate_motion=c['estimate_motion'], pose_refinement=c['pose_refinement'],
                num_threads=c['num_threads'],
                **backend_config(c['backend'], c['precision'],
                                 str(Path(c['onnx_dir']).expanduser()) if c['onnx_dir'] else ''))
        except BackendError as exc:
            raise RuntimeError(f"parameters backend={c['backend']} precision={c['precision']}: {exc}") from exc
        except Exception as exc:
            source = c['checkpoint'] or 'the packaged default model'
            text = str(exc)
            raise RuntimeError(text if c['checkpoint'] and c['checkpoint'] in text
                               else f'checkpoint {source}: {text}') from exc
        self.odometry = OdometryIntegrator(OdometryNoise(
            c['odom_scale_sigma'], c['odom_drift_sigma'], c['odom_rotation_drift_sigma']))
        return estimator

    def setup_method(self) -> None:
        if self.params['estimate_motion']:
            self.pub_odom = self.create_publisher(Odometry, 'odom', self.outputs.qos)
        self.refresh_method_outputs()

    def refresh_method_outputs(self) -> None:
        if self.params['estimate_motion'] and self.params['publish_tf'] and self.pub_tf is None:
            from tf2_msgs.msg import TFMessage  # absent from some pip-only installs
            self.pub_tf = self.create_publisher(TFMessage, '/tf', reliable_qos(100))

    def reserved_frames(self) -> set[str]:
        return {self.params['base_frame'], self.params['odom_frame']}

    def apply_params(self, changes: dict[str, Any]) -> None:
        for name in LIVE_ESTIMATOR_FIELDS:
            if name in changes:
                setattr(self.estimator.config, name, changes[name])

    def on_time_jump(self) -> None:
        if self.params['reset_on_time_jump']:
            self.estimator.reset()

    def extra_diagnostics(self) -> dict:
        # how often photometric refinement replaced the pose net's motion (kept when it fits worse)
        stats = getattr(self.estimator, 'refinement_stats', {})
        return {f'pose_refinement_{k}': v for k, v in stats.items()} if self.params['pose_refinement'] else {}

    def extra_outputs(self, frame, result) -> list:
        if self.pub_odom is None:
            return []
        c, stamp = self.params, frame.header.stamp
        state = self.odometry.update(result.T_prev_curr, frame.stamp_ns)
        out = [(self.pub_odom, C.odometry_msg(state, stamp, c['odom_frame'], c['base_frame']))]
        if c['publish_tf'] and self.pub_tf is not None:
            T = C.transform_stamped(state.T_odom_base, stamp, c['odom_frame'], c['base_frame'])
            out.append((self.pub_tf, C.tf_message([T])))
        return out


def main(args=None) -> None:
    exit_with(SCDepthNode, args)


if __name__ == '__main__':
    main()
