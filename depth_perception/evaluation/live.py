"""Live evaluation: replay the bag into a ROS graph, run SCDepthNode in-process with
use_sim_time, record what it publishes into the output bag, and score that recording.

This catches what only the ROS path gets wrong (stamps, frame ids, QoS, drops).

Player: the bag's image and camera_info messages are published as raw CDR bytes (no
deserialisation) on their recorded topics, each preceded by /clock = its bag time; publishers
and the recorder are reliable KEEP_ALL and wait for matching plus ~2 s before the first
message (environment-probe.md §8). The first camera_info is sent once before playback, as a
running camera driver would have done, so the node knows K for the first image.
Pacing: `live_rate` 0 waits for the node's outputs of each image before the next (lossless
unless the node rejects a frame; then the wait times out and the frame counts as dropped);
`live_rate` R > 0 plays at R x bag time without waiting, and drops are counted honestly.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from tqdm import tqdm

from ..bags.reader import BagReader
from ..bags.messages import stamp_to_ns
from .bag_index import build_index
from .config import EvalConfig
from .recorded import run_recorded
from .topics import resolve_topics

log = logging.getLogger(__name__)

# Output topics of the node that are recorded (relative names resolve in the root namespace).
RECORDED = {'/depth/image': 'sensor_msgs/msg/Image', '/depth/camera_info': 'sensor_msgs/msg/CameraInfo',
            '/points': 'sensor_msgs/msg/PointCloud2', '/odom': 'nav_msgs/msg/Odometry',
            '/tf': 'tf2_msgs/msg/TFMessage', '/tf_static': 'tf2_msgs/msg/TFMessage'}
DISCOVERY_WAIT_S = 2.0


def _set_dds_environment() -> None:
    # Never send traffic off loopback; LARGE_DATA moves MB-sized images reliably.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')


def _msg_class(msgtype: str):
    import importlib
    pkg, _, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{pkg}.msg'), name)


def run_live(cfg: EvalConfig) -> dict:
    _set_dds_environment()
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    from ..bags.messages import TYPESTORE
    from ..bags.writer import BagWriter
    from ..ros.scdepth_node import SCDepthNode

    with BagReader(cfg.bag, cfg.typestore) as bag:
        topics = resolve_topics(bag, cfg)
        index = build_index(bag, topics, cfg)
    n_images = len(index.image_stamps_ns)
    n_frames = min(n_images, cfg.max_frames) if cfg.max_frames > 0 else n_images
    out_path = cfg.out_dir / 'output_bag'
    cfg.out_dir.mkdir(parents=True, exist_ok=True)

    reliable_all = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    # raw CDR straight from DDS into the bag: nothing is re-serialised on the way
    writer = BagWriter(out_path, storage=cfg.output_storage).open()
    lock = threading.Condition()
    seen: dict[str, set[int]] = {t: set() for t in RECORDED}
    stats = {'published_images': 0, 'waits_timed_out': 0}
    executor = None
    nodes = []
    try:
        params = [Parameter('use_sim_time', value=True), Parameter('checkpoint', value=cfg.checkpoint),
                  Parameter('pose_checkpoint', value=cfg.pose_checkpoint),
                  Parameter('pose_refinement', value=bool(cfg.pose_refinement)),
                  Parameter('device', value=cfg.device), Parameter('depth_scale', value=float(cfg.depth_scale)),
                  Parameter('input_qos', value='reliable'), Parameter('publish_colored', value=False),
                  Parameter('points_stride', value=int(cfg.cloud_stride)),
                  Parameter('odom_frame', value=cfg.odom_frame), Parameter('base_frame', value=cfg.base_frame),
                  Parameter('output_queue_depth', value=100), Parameter('diagnostics_period_s', value=0.0)]
        if cfg.resolution_hw:
            params += [Parameter('network_height', value=int(cfg.resolution_hw[0])),
                       Parameter('network_width', value=int(cfg.resolution_hw[1]))]
        remaps = ['--ros-args', '-r', f'image_raw:={topics.image}', '-r', f'camera_info:={topics.camera_info}']
        node = SCDepthNode(context=ctx, parameter_overrides=params, cli_args=remaps)
        rec = rclpy.create_node('dp_eval_recorder', context=ctx,
                                parameter_overrides=[Parameter('use_sim_time', value=True)])
        player = rclpy.create_node('dp_eval_player', context=ctx)
        nodes = [node, rec, player]

        def make_cb(topic: str):
            def cb(raw: bytes) -> None:
                msgtype = RECORDED[topic]
                t_ns = rec.get_clock().now().nanoseconds
                stamps = set()
                if msgtype == 'tf2_msgs/msg/TFMessage':
                    msg = TYPESTORE.deserialize_cdr(raw, msgtype)
                    stamps = {stamp_to_ns(tf.header.stamp) for tf in msg.transforms}
                else:
                    stamps = {stamp_to_ns(TYPESTORE.deserialize_cdr(raw, msgtype).header.stamp)}
                with lock:
                    writer.write_raw(topic, msgtype, raw, max(t_ns, min(stamps) if stamps else 0))
                    seen[topic].update(stamps)
                    lock.notify_all()
            return cb

        for topic, msgtype in RECORDED.items():
            rec.create_subscription(_msg_class(msgtype), topic, make_cb(topic),
                                    latched if topic == '/tf_static' else reliable_all, raw=True)
        with BagReader(cfg.bag, cfg.typestore) as bag:
            pubs = {t: player.create_publisher(_msg_class(bag.topics[t].msgtype), t, reliable_all)
                    for t in (topics.image, topics.camera_info)}
            clock_pub = player.create_publisher(Clock, '/clock', reliable_all)
            executor = MultiThreadedExecutor(num_threads=3, context=ctx)
            for n in nodes:
                executor.add_node(n)
            spin = threading.Thread(target=executor.spin, daemon=True)
            spin.start()
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and not all(p.get_subscription_count() > 0 for p in pubs.values()):
                time.sleep(0.05)
            time.sleep(DISCOVERY_WAIT_S)   # let reliable matching settle on both sides
            first_info = next(bag.raw_messages([topics.camera_info]))
            clock_pub.publish(Clock(clock=_time(first_info[1])))
            pubs[topics.camera_info].publish(bytes(first_info[2]))

            waited = ['/depth/image', '/odom']   # the node publishes odom right after depth
            n_img = 0
            t_wall0, t_bag0 = time.monotonic(), None
            bar = tqdm(total=n_frames, desc='live replay', unit='frame', disable=not cfg.progress)
            for conn, t_bag, raw in bag.raw_messages([topics.image, topics.camera_info]):
                if conn.topic == topics.image and n_img >= n_frames:
                    break
                if cfg.live_rate > 0:
                    t_bag0 = t_bag if t_bag0 is None else t_bag0
                    delay = (t_bag - t_bag0) * 1e-9 / cfg.live_rate - (time.monotonic() - t_wall0)
                    if delay > 0:
                        time.sleep(delay)
                clock_pub.publish(Clock(clock=_time(t_bag)))
                pubs[conn.topic].publish(bytes(raw))
                if conn.topic != topics.image:
                    continue
                stamp = index.image_stamps_ns[n_img]
                n_img += 1
                stats['published_images'] += 1
                bar.update(1)
                if cfg.live_rate == 0:
                    with lock:
                        ok = lock.wait_for(lambda: all(stamp in seen[t] for t in waited), cfg.live_timeout_s)
                    if not ok:
                        stats['waits_timed_out'] += 1
                        log.warning('no output for image stamp %.3f s within %.0f s', stamp / 1e9, cfg.live_timeout_s)
            bar.close()
            # drain: outputs still in flight (rate mode) arrive within a few inference times
            last = -1
            while True:
                with lock:
                    now = sum(len(s) for s in seen.values())
                if now == last:
                    break
                last = now
                time.sleep(2.0 if cfg.live_rate > 0 else 0.5)
        node_stats = node.stats()
    finally:
        if executor is not None:
            executor.shutdown()
        for n in nodes:
            n.destroy_node()
        writer.close()
        if ctx.ok():
            rclpy.shutdown(context=ctx)
    log.info('live: published %d images; node stats %s', stats['published_images'], node_stats)
    extra = {'live': {'published_images': stats['published_images'], 'waits_timed_out': stats['waits_timed_out'],
                      'rate': cfg.live_rate or 'paced', 'node': {k: v for k, v in node_stats.items()
                                                                  if isinstance(v, (int, float))}}}
    return run_recorded(cfg, out_path, '/depth/image', '/odom', 'body', mode='live', extra=extra)


def _time(t_ns: int):
    from builtin_interfaces.msg import Time
    return Time(sec=int(t_ns // 1_000_000_000), nanosec=int(t_ns % 1_000_000_000))
