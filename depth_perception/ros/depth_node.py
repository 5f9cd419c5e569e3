"""The one ROS 2 adapter of every depth method: image_raw + camera_info -> depth outputs.

A method's node subclasses `DepthNode` and supplies its estimator (`make_estimator`), its
parameter table and rules (`specs`, `rules`, built from params.ADAPTER_PARAMS/ADAPTER_RULES),
and optionally: extra inputs and publishers (`setup_method`), how a frame reaches the
estimator (`estimate`), extra outputs (`extra_outputs`), diagnostics counters
(`extra_diagnostics`), frames the camera must not use (`reserved_frames`) and live
parameter handling (`apply_params`). Its console script is `exit_with(MyNode)` (ros/run.py).

Threads: the rclpy executor only checks and pairs incoming messages (frame id, encoding,
size/step, intrinsics of that size; no pixel is copied) and puts the newest message into a
single slot; the inference thread takes it, converts it (so a frame the slot drops is never
converted) and runs the model; its messages are built and published by an output thread
meanwhile where that pays (model on a GPU, or a core left free by num_threads; parameter
output_thread), else on the inference thread (ros/output_stage.py). Stale frames are
overwritten (counted as dropped), never queued. On shutdown both threads abandon
their frame and are joined before rclpy goes down (see ros/run.py for why).

Topics (relative, remap as usual):
  in : image_raw (rgb8/bgr8/rgba8/bgra8/mono8), camera_info        [input_qos]
  out: depth/image (32FC1 m, NaN invalid), depth/camera_info, depth/colored (rgb8),
       points (PointCloud2, optical frame), /tf_static, /diagnostics  [reliable]
       camera/rgb/image_raw, camera/depth_registered/image_raw   [pseudo_rgbd]
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.logging import LoggingSeverity
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from .. import params as P
from ..estimators import CameraFrame, DepthEstimator, DepthResult
from ..latest_frame import LatestFrameWorker
from ..visualization import colorize_depth
from . import conversions as C
from .input_monitor import HealthWindow, StampGapCounter, Throttle
from .node_params import DeclaredParams
from .output_stage import OutputStage
from .outputs import DepthOutputs, input_qos, reliable_qos
from .pairing import IntrinsicsBySize

LOG_PERIOD_S = 2.0
STOP_TIMEOUT_S = 20.0   # join of the worker at shutdown: one frame's work at most
# Logging goes through Logger.log(): the deprecated warn() alias makes rclpy attribute every
# call to one call site, and throttled and unthrottled calls then collide (ValueError).


@dataclass
class PendingFrame:
    rgb: np.ndarray | None  # [H,W,3] uint8 RGB; None until the worker converts `msg`
    K: np.ndarray          # 3x3 of that image
    header: Header         # copied onto every output
    stamp_ns: int
    received_s: float      # monotonic arrival time, for the latency statistic
    msg: Image | None = None   # the received message, converted only if the worker takes it


class DepthNode(Node):
    """Subclasses set `specs` and `rules` and implement `make_estimator`."""

    specs: tuple[P.ParamSpec, ...] = P.ADAPTER_PARAMS
    rules: tuple[P.Rule, ...] = P.ADAPTER_RULES
    # The main output: metres (REP 118). A method giving relative depth names another topic
    # (e.g. depth/relative), so depth/image is never created for it.
    depth_topic: str = 'depth/image'

    def __init__(self, node_name: str, **kwargs):
        self.worker = self.output_stage = None   # destroy_node must work wherever construction failed
        self.stopping = threading.Event()   # set at shutdown: abandon the frame, publish nothing
        self.threads_stopped = True
        super().__init__(node_name, **kwargs)
        try:
            self._build(node_name)
        except BaseException:
            # Destroyed now, while rclpy is up: left to the garbage collector, a half-built node
            # may be collected after rclpy.shutdown or during interpreter exit, where freeing its
            # rcl handles is unsafe (a start-up error once ended in SIGSEGV instead of exit 1).
            self.destroy_node()
            raise

    def _build(self, node_name: str) -> None:
        self._changes: dict[str, Any] = {}
        self._changes_lock = threading.Lock()
        self.params = DeclaredParams(self, self.specs, self.rules, apply=self._queue_changes)
        self._warn_transport()
        self.estimator: DepthEstimator = self.make_estimator()
        description = self.estimator.describe()
        self.get_logger().log(description, LoggingSeverity.WARN if 'UNTRAINED' in description
                              else LoggingSeverity.INFO)
        self.intrinsics = IntrinsicsBySize()
        self.gaps = StampGapCounter()
        self.throttle = Throttle(LOG_PERIOD_S)
        self.health = HealthWindow()
        self.rejected = 0
        self.failed_publish = 0
        self._last_stamp_ns: int | None = None
        self._latency_s: list[float] = []
        self._inference_s = 0.0     # totals over processed frames: model (inference thread) vs
        # messages + publishing (output thread)
        self._output_s = 0.0
        self._stats_t0 = time.monotonic()
        self._stats_processed0 = 0

        self.outputs = DepthOutputs(self, self.params)
        self.setup_method()
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', reliable_qos(10))
        self.output_stage = OutputStage(self._emit, self._on_output_failure, name=f'{node_name}-outputs',
                                        threaded=self._output_thread_pays())
        self.worker = LatestFrameWorker(self._process, name=f'{node_name}-inference', on_error=self._on_failure)
        qos = input_qos(self.params['input_qos'])
        self.create_subscription(CameraInfo, 'camera_info', self._on_camera_info, qos)
        self.create_subscription(Image, 'image_raw', self._on_image, qos)
        if self.params['diagnostics_period_s'] > 0:
            self.create_timer(self.params['diagnostics_period_s'], self._report)
        self.get_logger().info(
            f'listening on {self.resolve_topic_name("image_raw")} + '
            f'{self.resolve_topic_name("camera_info")} ({self.params["input_qos"]} QoS); messages built on '
            f'the {"output" if self.output_stage.threaded else "inference"} thread')

    # ------------------------------------------------------------- method hooks
    def make_estimator(self) -> DepthEstimator:
        raise NotImplementedError

    def setup_method(self) -> None:
        """Create the method's own publishers (odometry, ...) and extra inputs (an odometry topic, ...)."""

    def estimate(self, frame: PendingFrame) -> DepthResult | None:
        """Run the estimator on one frame (methods with extra inputs attach them here).
        None = nothing to publish for this frame (the method counts why, e.g. no usable pair)."""
        return self.estimator.estimate(CameraFrame(frame.rgb, frame.K, frame.stamp_ns))

    def extra_diagnostics(self) -> dict:
        """Method counters for /diagnostics (e.g. pairs used / skipped and why)."""
        return {}

    def extra_outputs(self, frame: PendingFrame, result: DepthResult) -> list:
        """[(publisher, message)] of the method's own outputs for this frame."""
        return []

    def reserved_frames(self) -> set[str]:
        """Frame ids an image must not carry (they would make tf cycles or self-links)."""
        return {self.params['base_frame']}

    def apply_params(self, changes: dict[str, Any]) -> None:
        """Apply accepted live changes of the method's parameters (worker thread, between frames)."""

    def on_time_jump(self) -> None:
        """Image stamps went backwards (bag loop, sim restart): forget stream history."""
        self.estimator.reset()

    def colorize(self, depth: np.ndarray) -> np.ndarray:
        """depth/colored (rgb8, near = warm) of the main output; relative methods override."""
        return colorize_depth(depth)

    # ---------------------------------------------------------------- set-up
    def _output_thread_pays(self) -> bool:
        # 'auto': when the model runs off the CPU, or when its CPU threads leave a core free
        # (num_threads set below the cores this process may use). With every core inferring, the
        # output thread competes for them and costs frames (measured: bench/README.md).
        # Methods without the parameter: auto.
        choice = self.params.values.get('output_thread', 'auto')
        if choice != 'auto':
            return choice == 'always'
        if str(getattr(self.estimator, 'device', 'cpu')).split(':')[0] not in ('cpu', ''):
            return True
        threads = int(self.params.values.get('num_threads', 0) or 0)
        return 0 < threads < len(os.sched_getaffinity(0))

    def _warn_transport(self) -> None:
        try:
            rmw = rclpy.utilities.get_rmw_implementation_identifier()
        except Exception:  # noqa: BLE001 - only a hint
            rmw = ''
        if 'fastrtps' in rmw and not (os.environ.get('FASTDDS_BUILTIN_TRANSPORTS')
                                      or os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE')):
            self.get_logger().log(
                'FASTDDS_BUILTIN_TRANSPORTS is unset and no FASTDDS_DEFAULT_PROFILES_FILE: Fast DDS '
                'default transports lose MB-sized best-effort images; in the camera driver, this '
                'node and every peer export FASTDDS_DEFAULT_PROFILES_FILE=<share>/depth_perception/'
                'config/fastdds_large_frames.xml (or FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA)',
                LoggingSeverity.WARN)

    def _queue_changes(self, changes: dict[str, Any]) -> None:
        # Executor thread: publishers are created here; everything else waits for the worker,
        # so a frame is processed entirely with the old or entirely with the new values.
        self.outputs.refresh()
        self.refresh_method_outputs()
        with self._changes_lock:
            self._changes.update(changes)
        self.get_logger().info('parameters changed: ' + ', '.join(f'{k}={v!r}' for k, v in changes.items()))

    def refresh_method_outputs(self) -> None:
        """Create method publishers switched on by a live parameter change."""

    # --------------------------------------------------------------- executor side
    def _log_throttled(self, key: str, text: str, level=LoggingSeverity.WARN) -> None:
        admit, suppressed = self.throttle.admit(key)
        if admit:
            more = f' ({suppressed} more since the last report)' if suppressed else ''
            # One call site per severity: rclpy raises ValueError when a call site changes
            # severity (a WARN reject then an ERROR failure), which killed the worker thread.
            if level == LoggingSeverity.ERROR:
                self.get_logger().log(text + more, LoggingSeverity.ERROR)
            elif level == LoggingSeverity.WARN:
                self.get_logger().log(text + more, LoggingSeverity.WARN)
            else:
                self.get_logger().log(text + more, LoggingSeverity.INFO)

    def _reject(self, what: str, reason: str) -> None:
        self.rejected += 1
        self._log_throttled(f'reject-{what}', f'dropped {what}: {reason}')

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            K = C.camera_info_to_K(msg)
        except C.ConversionError as exc:
            self._reject('camera_info', str(exc))
            return
        self.intrinsics.update(msg.width, msg.height, K)

    def _frame_id(self, msg: Image) -> str:
        frame_id = msg.header.frame_id or self.params['camera_frame']
        P.check_frame_id(frame_id, 'header.frame_id')
        if frame_id in self.reserved_frames():
            raise ValueError(f'header.frame_id {frame_id!r} is a frame this node publishes '
                             '(tf would get a cycle or a self-link)')
        return frame_id

    def _on_image(self, msg: Image) -> None:
        stamp_ns = C.stamp_to_ns(msg.header.stamp)
        self.gaps.add(stamp_ns)
        try:
            frame_id = self._frame_id(msg)
            C.check_color_image(msg)     # every frame is checked; converted only if taken
        except ValueError as exc:        # ConversionError is a ValueError
            self._reject('image', str(exc))
            return
        K = self.intrinsics.lookup(msg.width, msg.height)
        if K is None:
            have = ', '.join(f'{w}x{h}' for w, h in self.intrinsics.sizes()) or 'none yet'
            self._reject('image', f'no camera_info of size {msg.width}x{msg.height} (have: {have})')
            return
        header = Header(stamp=msg.header.stamp, frame_id=frame_id)
        self.worker.submit(PendingFrame(None, K, header, stamp_ns, time.monotonic(), msg))

    # ----------------------------------------------------------------- worker side
    def _on_failure(self, exc: BaseException) -> None:
        if self.context.ok() and not self.stopping.is_set():
            self._log_throttled('failure', f'frame dropped, estimation failed: {type(exc).__name__}: {exc}',
                                LoggingSeverity.ERROR)

    def _on_output_failure(self, exc: BaseException) -> None:
        if self.context.ok() and not self.stopping.is_set():
            self._log_throttled('output-failure', f'frame dropped, building its messages failed: '
                                f'{type(exc).__name__}: {exc}', LoggingSeverity.ERROR)

    def _apply_pending_changes(self) -> None:
        with self._changes_lock:
            changes, self._changes = self._changes, {}
        if changes:
            self.apply_params(changes)

    def _process(self, frame: PendingFrame) -> None:
        if self.stopping.is_set():
            return
        if frame.rgb is None:
            try:
                frame.rgb = C.image_to_rgb(frame.msg)
            except ValueError as exc:    # ConversionError is a ValueError
                self._reject('image', str(exc))
                return
            frame.msg = None
        self._apply_pending_changes()
        if self._last_stamp_ns is not None and frame.stamp_ns < self._last_stamp_ns:
            self._log_throttled('backwards', 'image stamps went backwards: restarting the stream history')
            self.on_time_jump()
        self._last_stamp_ns = frame.stamp_ns

        t0 = time.perf_counter()
        result = self.estimate(frame)
        t1 = time.perf_counter()
        if self.stopping.is_set() or result is None:   # None: the method skips this frame
            return
        depth_m = result.depth_m
        h, w = frame.rgb.shape[:2]
        if depth_m.shape != (h, w) or np.isinf(depth_m).any():
            raise RuntimeError(f'estimator returned depth {depth_m.shape} with inf for a {w}x{h} image')
        self._inference_s += t1 - t0
        self.output_stage.put((frame, result), self.stopping)

    def _emit(self, item) -> None:
        """Output thread: build and publish one processed frame's messages."""
        frame, result = item
        if self.stopping.is_set():
            return
        t0 = time.perf_counter()
        out = self.outputs.build(frame.rgb, frame.K, result.depth_m, frame.header)
        out += self.extra_outputs(frame, result)
        self._publish(out)
        self._output_s += time.perf_counter() - t0
        self._latency_s.append(time.monotonic() - frame.received_s)
        del self._latency_s[:-200]  # bounded window for the statistic

    def _publish(self, out: Iterable) -> None:
        for publisher, msg in out:
            if self.stopping.is_set() or not self.context.ok():
                return      # shutting down (Ctrl-C): the frame is abandoned quietly
            try:
                publisher.publish(msg)
            except Exception as exc:  # noqa: BLE001 - e.g. DDS refusing, or shutdown racing us
                if self.stopping.is_set() or not self.context.ok():
                    return
                self.failed_publish += 1
                self._log_throttled(f'publish-{publisher.topic_name}',
                                    f'publish on {publisher.topic_name} failed: {exc}', LoggingSeverity.ERROR)

    # ------------------------------------------------------------------ monitoring
    def stats(self) -> dict:
        s = self.worker.stats()
        s['processed'] = self.output_stage.done      # frames whose outputs went out
        s['failed'] += self.output_stage.failed
        s['rejected'] = self.rejected
        s['publish_failures'] = self.failed_publish
        s['lost_before_node'] = self.gaps.lost
        s['stream_pauses'] = self.gaps.pauses
        s['stamps_backwards'] = self.gaps.backwards
        n = max(s['processed'], 1)
        s['inference_ms_mean'] = 1e3 * self._inference_s / n
        s['output_ms_mean'] = 1e3 * self._output_s / n
        lat = np.asarray(self._latency_s[-200:])
        s['latency_p50_ms'] = float(np.percentile(lat, 50) * 1e3) if lat.size else float('nan')
        s.update(self.extra_diagnostics())
        return s

    def _report(self) -> None:
        s = self.stats()
        now = time.monotonic()
        fps = (s['processed'] - self._stats_processed0) / max(now - self._stats_t0, 1e-9)
        self._stats_t0, self._stats_processed0 = now, s['processed']
        problems = self.health.problems(s)
        line = (f'frames received {s["received"]}, processed {s["processed"]}, '
                f'replaced in the slot {s["dropped"]}, lost before the node {s["lost_before_node"]}, '
                f'rejected {s["rejected"]}, failed {s["failed"]}; '
                f'{fps:.2f} fps, latency p50 {s["latency_p50_ms"]:.0f} ms')
        if problems:
            line += '; in the last period: ' + ', '.join(f'{k} {v}' for k, v in problems.items())
        self.get_logger().info(line)
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if problems else DiagnosticStatus.OK,
            name=f'{self.get_name()}: inference', message=line,
            hardware_id=str(getattr(self.estimator, 'device', '')),
            values=[KeyValue(key=k, value=str(v)) for k, v in s.items()]
            + [KeyValue(key='output_fps', value=f'{fps:.3f}')])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def destroy_node(self):
        if getattr(self, 'stopping', None) is not None:
            self.stopping.set()
        if getattr(self, 'worker', None) is not None:
            # Joined before the node and rclpy go away: a worker left inside torch or rcl
            # while Python finalises aborts the process (see ros/run.py).
            self.threads_stopped = self.worker.stop(STOP_TIMEOUT_S)
        if getattr(self, 'output_stage', None) is not None:
            self.threads_stopped = self.output_stage.stop(STOP_TIMEOUT_S) and self.threads_stopped
        return super().destroy_node()
