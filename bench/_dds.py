"""What the node benchmarks share: the node in its own process, a peer spinning in a thread,
waiting until the two have matched, stamp-keyed latency of depth/image, and stopping the node.

Imported by bench/scdepth_node.py, depthnet_node.py, boosted_node.py, node_load.py and node_fuzz.py (run as scripts: bench/ is
on sys.path). rclpy is imported inside the functions: the scripts set the DDS environment first.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def node_command(executable: str, module: str, params: dict, log_level: str) -> list[str]:
    """The installed console script, else `python -m module`, with `-p name:=value` each."""
    script = Path(sys.executable).with_name(executable)
    cmd = [str(script)] if script.exists() else [sys.executable, '-m', module]
    cmd.append('--ros-args')
    for name, value in params.items():
        cmd += ['-p', f'{name}:={str(value).lower() if isinstance(value, bool) else value}']
    return cmd + ['--log-level', log_level]


def start_node(executable: str, module: str, params: dict, log_level: str = 'warn', *,
               env: dict | None = None, cwd: str | None = None) -> subprocess.Popen:
    """stderr is kept (errors are shown when the node fails); SIGINT is the node's own to handle.
    env/cwd: another checkout's node (bench/scdepth_node.py --compare)."""
    return subprocess.Popen(node_command(executable, module, params, log_level), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stop_node(proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """Ctrl-C as a user would; killed only when it does not stop in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()


def spin_in_background(peer):
    from rclpy.executors import SingleThreadedExecutor
    executor = SingleThreadedExecutor()
    executor.add_node(peer)
    threading.Thread(target=executor.spin, daemon=True).start()
    return executor


def close_peer(executor, peer) -> None:
    import rclpy
    executor.shutdown()
    peer.destroy_node()
    rclpy.shutdown()


def wait_until_matched(peer, image_pub, proc: subprocess.Popen, timeout_s: float, settle_s: float,
                       depth_topic: str = 'depth/image') -> None:
    """Until the node subscribes image_raw and publishes depth_topic; then settle_s more
    (LARGE_DATA TCP connections come up after matching)."""
    deadline = time.monotonic() + timeout_s
    while not (image_pub.get_subscription_count() and peer.count_publishers('/' + depth_topic)):
        if time.monotonic() > deadline or proc.poll() is not None:
            err = proc.stderr.read() if proc.poll() is not None else ''
            raise RuntimeError(f'node did not come up: {err}')
        time.sleep(0.1)
    time.sleep(settle_s)


def stamp_ns(header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


def set_stamp(header, ns: int) -> None:
    header.stamp.sec, header.stamp.nanosec = divmod(ns, 10**9)


class DepthLatency:
    """Camera -> depth latency by stamp: `sent(stamp)` at image publish, arrivals recorded by
    the depth/image subscription this creates (reliable), one host clock."""

    def __init__(self, peer, topic: str = 'depth/image'):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        self._lock = threading.Lock()
        self._sent: dict[int, float] = {}
        self._received: list[tuple[int, float]] = []
        peer.create_subscription(Image, topic, self._on_depth,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))

    def _on_depth(self, msg) -> None:
        with self._lock:
            self._received.append((stamp_ns(msg.header), time.monotonic()))

    def sent(self, stamp: int) -> None:
        self._sent[stamp] = time.monotonic()

    def received(self) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._received)

    def fps(self, skip: int = 0) -> float:
        """Output frames/s between the first and last arrival (after `skip` warm-up outputs)."""
        rx = self.received()[skip:]
        return (len(rx) - 1) / (rx[-1][1] - rx[0][1]) if len(rx) > 2 else 0.0

    def percentiles_ms(self, *q: float, skip: int = 0) -> list[float]:
        lat = np.array([(t - self._sent[s]) * 1e3 for s, t in self.received()[skip:] if s in self._sent])
        return [float(np.percentile(lat, p)) if lat.size else float('nan') for p in q]


def diagnostics_values(peer, accept) -> dict[str, float]:
    """A dict kept up to date with the numeric values of the /diagnostics statuses `accept(name)`
    takes (values that are words are left out)."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    values: dict[str, float] = {}

    def on_diagnostics(msg):
        for status in msg.status:
            if accept(status.name):
                for kv in status.values:
                    try:
                        values[kv.key] = float(kv.value)
                    except ValueError:
                        pass
    peer.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    return values


def stream_camera(node_proc: subprocess.Popen, peer_name: str, accept_diagnostics, frames_rgb: list[bytes],
                  height: int, width: int, K: list[float], rate_hz: float, seconds: float,
                  match_timeout_s: float, also_subscribe: dict | None = None,
                  depth_topic: str = 'depth/image') -> dict:
    """Publish `frames_rgb` in turn (rgb8, with camera_info) to the running node at `rate_hz` for
    `seconds`, then stop the node. Output frames/s and latency skip the first output (warm-up).
    `also_subscribe` {topic: message type}: listeners on more outputs (a node with lazy outputs
    builds only what is listened to); their message counts come back under 'also_received'.
    `depth_topic`: the node's main output (boosted_depth_node with a relative base: depth/relative)."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    rclpy.init()
    peer = rclpy.create_node(peer_name)
    latency = DepthLatency(peer, depth_topic)
    node_stats = diagnostics_values(peer, accept_diagnostics)
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pub_img = peer.create_publisher(Image, 'image_raw', reliable)
    pub_info = peer.create_publisher(CameraInfo, 'camera_info', reliable)
    also_received = {topic: 0 for topic in also_subscribe or {}}

    def counter(topic):
        def count(_msg):
            also_received[topic] += 1
        return count
    for topic, kind in (also_subscribe or {}).items():
        peer.create_subscription(kind, topic, counter(topic), reliable)
    executor = spin_in_background(peer)
    i = 0
    try:
        wait_until_matched(peer, pub_img, node_proc, timeout_s=match_timeout_s, settle_s=2.0,
                           depth_topic=depth_topic)
        period = 1.0 / rate_hz
        t_start = time.monotonic()
        while time.monotonic() - t_start < seconds:
            stamp = 1_000_000_000 + i * int(period * 1e9)
            img = Image(height=height, width=width, encoding='rgb8', step=width * 3,
                        data=frames_rgb[i % len(frames_rgb)])
            set_stamp(img.header, stamp)
            img.header.frame_id = 'camera_optical_frame'
            pub_info.publish(CameraInfo(header=img.header, width=width, height=height, k=K))
            latency.sent(stamp)
            pub_img.publish(img)
            i += 1
            time.sleep(max(0.0, t_start + i * period - time.monotonic()))
        time.sleep(3.0)  # let the last frame through
    finally:
        close_peer(executor, peer)
        stop_node(node_proc, 10)
    received = len(latency.received())
    if received < 3:
        raise RuntimeError(f'only {received} depth images received; node stderr:\n{node_proc.stderr.read()}')
    p50, p95 = latency.percentiles_ms(50, 95, skip=1)
    return {'sent': i, 'received': received, 'fps': latency.fps(skip=1),
            'inference_ms': node_stats.get('inference_ms_mean', np.nan),
            'output_ms': node_stats.get('output_ms_mean', np.nan),
            'dropped': node_stats.get('dropped', np.nan),
            'latency_p50_ms': p50, 'latency_p95_ms': p95, 'also_received': also_received}


def rounds_against_raw(what: str, rounds: int, raw, node) -> list[float]:
    """`rounds` rounds of raw(), node(), raw() (frames/s; node() returns stream_camera's dict);
    prints each round and the median of node / raw, raw being the mean of the two around the
    node run. This VM's speed drifts by 10-30 % within a minute (steal time), so one raw figure
    against one node run says more about the drift than about the node; rounds and a median do not.
    """
    ratios = []
    for n in range(1, rounds + 1):
        before = raw()
        r = node()
        after = raw()
        ratios.append(r['fps'] / ((before + after) / 2))
        extra = ''.join(f', {k} {topic}' for topic, k in r['also_received'].items())
        # The node's own clock (load-independent): the estimator step vs building and publishing.
        share = r['inference_ms'] / (r['inference_ms'] + r['output_ms'])
        print(f'{what} round {n}: raw {before:.3f} / {after:.3f} frames/s before / after; node {r["fps"]:.3f} '
              f'frames/s = {ratios[-1]:.2f} x raw; latency p50 {r["latency_p50_ms"]:.0f} ms, p95 '
              f'{r["latency_p95_ms"]:.0f} ms ({r["received"]} depth images{extra} for {r["sent"]} camera frames); '
              f'node worker per frame: estimator {r["inference_ms"]:.0f} ms + messages {r["output_ms"]:.1f} ms '
              f'(model share {share:.3f})', flush=True)
    print(f'{what} node / raw over {len(ratios)} rounds: median {np.median(ratios):.2f} '
          f'(min {min(ratios):.2f}, max {max(ratios):.2f}; target >= 0.9)', flush=True)
    return ratios
