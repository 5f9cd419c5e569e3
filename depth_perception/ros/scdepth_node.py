"""SC-Depth ROS 2 node: image_raw + camera_info -> depth, colour depth, cloud, odometry, TF.

Threads: the rclpy executor only converts, validates and pairs incoming messages and puts
the newest frame into a single slot; a worker thread runs the model on the newest frame
and publishes. Stale frames are overwritten (counted as dropped), never queued.

Topics (relative, remap as usual):
  in : image_raw (rgb8/bgr8/rgba8/bgra8/mono8), camera_info        [input_qos]
  out: depth/image (32FC1 m, NaN invalid), depth/camera_info, depth/colored (rgb8),
       points (PointCloud2, optical frame), odom, /tf, /tf_static, /diagnostics  [reliable]
       camera/rgb/image_raw, camera/depth_registered/image_raw   [pseudo_rgbd]
Frames (REP 105): odom_frame -> base_frame (REP 103 body, moved by odometry) -> optical
frame (the image's frame_id; static pure rotation, see depth_perception.odometry).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.logging import LoggingSeverity
from rclpy.node import Node
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy,
                       qos_profile_sensor_data)
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from .. import params as P
from ..estimators import CameraFrame, create_estimator
from ..latest_frame import LatestFrameWorker
from ..odometry import T_BASE_OPTICAL, OdometryIntegrator, OdometryNoise
from ..pointcloud import depth_to_cloud, pack_cloud
from ..visualization import colorize_depth
from . import conversions as C
from .pairing import IntrinsicsBySize

REJECT_LOG_PERIOD_S = 2.0
# Logging goes through Logger.log(): the deprecated warn() alias makes rclpy attribute every
# call to one call site, and throttled and unthrottled calls then collide (ValueError).


@dataclass
class PendingFrame:
    rgb: np.ndarray        # [H,W,3] uint8 RGB
    K: np.ndarray          # 3x3 of that image
    header: Header         # copied onto every output
    received_s: float      # monotonic arrival time, for the latency statistic


def reliable_qos(depth: int) -> QoSProfile:
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(1, depth),
                      reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def input_qos(name: str) -> QoSProfile:
    return qos_profile_sensor_data if name == 'sensor_data' else reliable_qos(5)


class SCDepthNode(Node):
    def __init__(self, node_name: str = P.NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.cfg = self._declare_parameters()
        self._warn_transport()
        c = self.cfg
        net_hw = (c['network_height'], c['network_width'])
        self.estimator = create_estimator(
            'scdepth', checkpoint=c['checkpoint'], pose_checkpoint=c['pose_checkpoint'],
            device=c['device'], fp16=c['fp16'], resolution_hw=net_hw if all(net_hw) else None,
            depth_scale=c['depth_scale'], min_depth_m=c['min_depth_m'], max_depth_m=c['max_depth_m'],
            estimate_motion=c['estimate_motion'], num_threads=c['num_threads'])
        description = self.estimator.describe()
        self.get_logger().log(description, LoggingSeverity.WARN if 'UNTRAINED' in description
                              else LoggingSeverity.INFO)

        self.odometry = OdometryIntegrator(OdometryNoise(
            c['odom_scale_sigma'], c['odom_drift_sigma'], c['odom_rotation_drift_sigma']))
        self.intrinsics = IntrinsicsBySize()
        self.rejected = 0
        self._reject_log: dict[str, tuple[float, int]] = {}   # kind -> (last log time, suppressed)
        self.failed_publish = 0
        self._last_stamp_ns: int | None = None
        self._static_tf_child: str | None = None
        self._latency_s: list[float] = []
        self._inference_s = 0.0     # totals over processed frames: model vs messages + publishing
        self._output_s = 0.0
        self._stats_t0 = time.monotonic()
        self._stats_processed0 = 0

        out = reliable_qos(c['output_queue_depth'])
        self.pub_depth = self.create_publisher(Image, 'depth/image', out)
        self.pub_info = self.create_publisher(CameraInfo, 'depth/camera_info', out)
        self.pub_colored = self.create_publisher(Image, 'depth/colored', out) if c['publish_colored'] else None
        self.pub_points = self.create_publisher(PointCloud2, 'points', out) if c['publish_points'] else None
        self.pub_odom = self.pub_tf = self.pub_tf_static = None
        if c['estimate_motion']:
            from tf2_msgs.msg import TFMessage  # absent from some pip-only installs: need it only here
            self.pub_odom = self.create_publisher(Odometry, 'odom', out)
            if c['publish_tf']:
                self.pub_tf = self.create_publisher(TFMessage, '/tf', reliable_qos(100))
        if c['publish_static_tf']:
            from tf2_msgs.msg import TFMessage
            latched = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self.pub_tf_static = self.create_publisher(TFMessage, '/tf_static', latched)
        self.pub_rgbd_rgb = self.pub_rgbd_depth = None
        if c['pseudo_rgbd']:
            self.pub_rgbd_rgb = self.create_publisher(Image, 'camera/rgb/image_raw', out)
            self.pub_rgbd_depth = self.create_publisher(Image, 'camera/depth_registered/image_raw', out)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', reliable_qos(10))

        self.worker = LatestFrameWorker(self._process, name='scdepth-inference', on_error=self._on_failure)
        in_qos = input_qos(c['input_qos'])
        self.create_subscription(CameraInfo, 'camera_info', self._on_camera_info, in_qos)
        self.create_subscription(Image, 'image_raw', self._on_image, in_qos)
        if c['diagnostics_period_s'] > 0:
            self.create_timer(c['diagnostics_period_s'], self._report)
        self.get_logger().info(
            f'listening on {self.resolve_topic_name("image_raw")} + '
            f'{self.resolve_topic_name("camera_info")} ({c["input_qos"]} QoS)')

    # ------------------------------------------------------------------ set-up
    def _declare_parameters(self) -> dict:
        values = {}
        for spec in P.SCDEPTH_NODE_PARAMS:
            descriptor = ParameterDescriptor(description=spec.full_description)
            values[spec.name] = self.declare_parameter(spec.name, spec.default, descriptor).value
        return P.validate(values)

    def _warn_transport(self) -> None:
        try:
            rmw = rclpy.utilities.get_rmw_implementation_identifier()
        except Exception:  # noqa: BLE001 - only a hint
            rmw = ''
        if 'fastrtps' in rmw and not os.environ.get('FASTDDS_BUILTIN_TRANSPORTS'):
            self.get_logger().log(
                'FASTDDS_BUILTIN_TRANSPORTS is unset: Fast DDS default transports lose or delay '
                'MB-sized images and clouds between processes; export '
                'FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA in this and every peer process', LoggingSeverity.WARN)

    # --------------------------------------------------------------- executor side
    def _reject(self, what: str, reason: str) -> None:
        # Throttled per message kind (rclpy throttles per call site, which would hide a bad
        # camera_info behind a stream of rejected images); suppressed ones are counted.
        self.rejected += 1
        now = time.monotonic()
        last_s, suppressed = self._reject_log.get(what, (-float('inf'), 0))
        if now - last_s < REJECT_LOG_PERIOD_S:
            self._reject_log[what] = (last_s, suppressed + 1)
            return
        more = f' ({suppressed} more {what} messages dropped since the last report)' if suppressed else ''
        self.get_logger().log(f'dropped {what}: {reason}{more}', LoggingSeverity.WARN)
        self._reject_log[what] = (now, 0)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            K = C.camera_info_to_K(msg)
        except C.ConversionError as exc:
            self._reject('camera_info', str(exc))
            return
        self.intrinsics.update(msg.width, msg.height, K)

    def _on_image(self, msg: Image) -> None:
        try:
            rgb = C.image_to_rgb(msg)
        except C.ConversionError as exc:
            self._reject('image', str(exc))
            return
        K = self.intrinsics.lookup(msg.width, msg.height)
        if K is None:
            have = ', '.join(f'{w}x{h}' for w, h in self.intrinsics.sizes()) or 'none yet'
            self._reject('image', f'no camera_info of size {msg.width}x{msg.height} (have: {have})')
            return
        header = Header(stamp=msg.header.stamp, frame_id=msg.header.frame_id or self.cfg['camera_frame'])
        self.worker.submit(PendingFrame(rgb, K, header, time.monotonic()))

    # ----------------------------------------------------------------- worker side
    def _on_failure(self, exc: BaseException) -> None:
        self.get_logger().log(f'frame dropped, estimation failed: {type(exc).__name__}: {exc}',
                              LoggingSeverity.ERROR, throttle_duration_sec=REJECT_LOG_PERIOD_S)

    def _process(self, frame: PendingFrame) -> None:
        c = self.cfg
        stamp_ns = C.stamp_to_ns(frame.header.stamp)
        if self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns and c['reset_on_time_jump']:
            self.get_logger().log('image stamps went backwards: restarting motion estimation',
                                  LoggingSeverity.WARN)
            self.estimator.reset()
        self._last_stamp_ns = stamp_ns

        t0 = time.perf_counter()
        result = self.estimator.estimate(CameraFrame(frame.rgb, frame.K, stamp_ns))
        t1 = time.perf_counter()
        depth_m = result.depth_m
        h, w = frame.rgb.shape[:2]
        if depth_m.shape != (h, w) or np.isinf(depth_m).any():
            raise RuntimeError(f'estimator returned depth {depth_m.shape} with inf for a {w}x{h} image')

        # Build every message first: a failure below publishes nothing for this frame.
        header = frame.header
        out = [(self.pub_depth, C.depth_m_to_image(depth_m, header)),
               (self.pub_info, C.make_camera_info(header, w, h, frame.K))]
        if self.pub_colored is not None:
            out.append((self.pub_colored, C.rgb_to_image(colorize_depth(depth_m), header)))
        if self.pub_points is not None:
            points, colors = depth_to_cloud(depth_m, frame.K, frame.rgb if c['points_color'] else None,
                                            organized=c['points_organized'], stride=c['points_stride'])
            out.append((self.pub_points, C.cloud_to_msg(pack_cloud(points, colors), header)))
        if self.pub_rgbd_rgb is not None:
            out.append((self.pub_rgbd_rgb, C.rgb_to_image(frame.rgb, header)))
            out.append((self.pub_rgbd_depth, out[0][1]))
        transforms = []
        if self.pub_odom is not None:
            state = self.odometry.update(result.T_prev_curr, stamp_ns)
            out.append((self.pub_odom, C.odometry_msg(state, header.stamp, c['odom_frame'], c['base_frame'])))
            transforms.append(C.transform_stamped(state.T_odom_base, header.stamp,
                                                  c['odom_frame'], c['base_frame']))
        if self.pub_tf is not None:
            out.append((self.pub_tf, C.tf_message(transforms)))
        if self.pub_tf_static is not None and self._static_tf_child != header.frame_id:
            static = C.transform_stamped(T_BASE_OPTICAL, header.stamp, c['base_frame'], header.frame_id)
            out.append((self.pub_tf_static, C.tf_message([static])))
            self._static_tf_child = header.frame_id

        for publisher, msg in out:
            try:
                publisher.publish(msg)
            except Exception as exc:  # noqa: BLE001 - e.g. rclpy shutting down, or DDS refusing
                self.failed_publish += 1
                self.get_logger().log(f'publish on {publisher.topic_name} failed: {exc}',
                                      LoggingSeverity.ERROR, throttle_duration_sec=REJECT_LOG_PERIOD_S)
        self._inference_s += t1 - t0
        self._output_s += time.perf_counter() - t1
        self._latency_s.append(time.monotonic() - frame.received_s)
        del self._latency_s[:-200]  # bounded window for the statistic

    # ------------------------------------------------------------------ monitoring
    def stats(self) -> dict:
        s = self.worker.stats()
        s['rejected'] = self.rejected
        s['publish_failures'] = self.failed_publish
        n = max(s['processed'], 1)
        s['inference_ms_mean'] = 1e3 * self._inference_s / n
        s['output_ms_mean'] = 1e3 * self._output_s / n
        lat = np.asarray(self._latency_s[-200:])
        s['latency_p50_ms'] = float(np.percentile(lat, 50) * 1e3) if lat.size else float('nan')
        return s

    def _report(self) -> None:
        s = self.stats()
        now = time.monotonic()
        fps = (s['processed'] - self._stats_processed0) / max(now - self._stats_t0, 1e-9)
        self._stats_t0, self._stats_processed0 = now, s['processed']
        line = (f'frames received {s["received"]}, processed {s["processed"]}, '
                f'dropped (stale) {s["dropped"]}, rejected {s["rejected"]}, failed {s["failed"]}; '
                f'{fps:.2f} fps, latency p50 {s["latency_p50_ms"]:.0f} ms')
        self.get_logger().info(line)
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if not s['failed'] else DiagnosticStatus.WARN,
            name=f'{self.get_name()}: inference', message=line,
            hardware_id=str(getattr(self.estimator, 'device', '')),
            values=[KeyValue(key=k, value=str(v)) for k, v in s.items()]
            + [KeyValue(key='output_fps', value=f'{fps:.3f}')])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def destroy_node(self):
        self.worker.stop()
        return super().destroy_node()


def main(args=None) -> None:
    try:
        from rclpy.executors import ExternalShutdownException
    except ImportError:  # pragma: no cover - very old rclpy
        ExternalShutdownException = KeyboardInterrupt
    rclpy.init(args=args)
    node = None
    try:
        node = SCDepthNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == '__main__':
    main()
