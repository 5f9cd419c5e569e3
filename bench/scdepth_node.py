"""Benchmark: raw SC-Depth estimator throughput vs the ROS node end to end through DDS.

    .venv/bin/python bench/scdepth_node.py [--seconds 40] [--rate-hz 30] [--device cpu]
        [--backend eager] [--precision fp32] [--output-thread auto|always|never]
        [--compare /path/to/other/checkout] [--rounds 2]

1. raw: `estimator.estimate()` (depth + pose, what the node runs per frame) in a loop.
2. node: the `scdepth_node` console script in its own process, fed by a publisher in this
   process at --rate-hz (faster than the model, so the node runs flat out and drops stale
   frames); prints output frames/s and camera->depth latency (publish of image_raw to
   arrival of depth/image, same clock) p50/p95. Target: node fps >= 0.9 x raw fps.
3. --compare DIR: A/B in the same run: the node of this tree and the node of checkout DIR
   (run with DIR first on PYTHONPATH), alternated --rounds times so machine load hits both;
   each node run follows its own raw measurement, and node / raw is taken per pair.

The raw loop runs in this process with OMP_WAIT_POLICY=PASSIVE (as the node sets it); node
processes get the environment without it, so each tree's node decides for itself.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# DDS isolation must be set before rclpy is imported (and inherited by the node process).
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(100, 199)))
USER_OMP_WAIT = os.environ.get('OMP_WAIT_POLICY')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')   # before torch loads, as in the node

import numpy as np  # noqa: E402

H, W = 256, 320
K = np.array([[250.0, 0, (W - 1) / 2], [0, 250.0, (H - 1) / 2], [0, 0, 1]])


def bench_raw(device: str, frames: int, backend: str, precision: str) -> float:
    from depth_perception.estimators import CameraFrame, create_estimator
    est = create_estimator('scdepth', resolution_hw=(H, W), device=device, backend=backend, precision=precision)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(4)]
    for i in range(2):
        est.estimate(CameraFrame(images[i % 4], K, i))
    t0 = time.perf_counter()
    for i in range(frames):
        est.estimate(CameraFrame(images[i % 4], K, i))
    return frames / (time.perf_counter() - t0)


def node_env(tree: str | None) -> dict:
    env = dict(os.environ)
    if USER_OMP_WAIT is None:
        env.pop('OMP_WAIT_POLICY', None)
    if tree:
        env['PYTHONPATH'] = os.pathsep.join([tree, env.get('PYTHONPATH', '')])
    return env


def bench_node(device: str, seconds: float, rate_hz: float, backend: str = 'eager',
               precision: str = 'fp32', tree: str | None = None, output_thread: str = 'auto') -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import CameraInfo, Image

    script = Path(sys.executable).with_name('scdepth_node')
    cmd = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node']
    cmd += ['--ros-args', '-p', f'network_height:={H}', '-p', f'network_width:={W}',
            '-p', f'device:={device}', '-p', 'diagnostics_period_s:=5.0', '--log-level', 'warn']
    if (backend, precision) != ('eager', 'fp32'):    # older trees have no such parameters
        cmd += ['-p', f'backend:={backend}', '-p', f'precision:={precision}']
    if output_thread != 'auto':
        cmd += ['-p', f'output_thread:={output_thread}']
    node_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=node_env(tree), cwd=tree or None)
    rclpy.init()
    peer = rclpy.create_node('scdepth_bench_peer')
    sent_s: dict[int, float] = {}
    received: list[tuple[int, float]] = []
    lock = threading.Lock()

    def on_depth(msg):
        with lock:
            received.append((msg.header.stamp.nanosec + msg.header.stamp.sec * 10**9, time.monotonic()))

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node_stats: dict[str, float] = {}

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.startswith('scdepth_node'):
                node_stats.update({kv.key: float(kv.value) for kv in status.values})

    peer.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, reliable)
    peer.create_subscription(Image, 'depth/image', on_depth, reliable)
    pub_img = peer.create_publisher(Image, 'image_raw', reliable)
    pub_info = peer.create_publisher(CameraInfo, 'camera_info', reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(peer)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        while not (pub_img.get_subscription_count() and peer.count_publishers('/depth/image')):
            if time.monotonic() > deadline or node_proc.poll() is not None:
                raise RuntimeError('node did not come up')
            time.sleep(0.1)
        time.sleep(2.0)  # LARGE_DATA TCP connections come up after matching
        rgb = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8).tobytes()
        info = CameraInfo(width=W, height=H, k=K.ravel().tolist())
        period = 1.0 / rate_hz
        t_start = time.monotonic()
        i = 0
        while time.monotonic() - t_start < seconds:
            stamp_ns = 1_000_000_000 + i * int(period * 1e9)
            img = Image(height=H, width=W, encoding='rgb8', step=W * 3)
            img.header.stamp.sec, img.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            img.header.frame_id = info.header.frame_id = 'camera_optical_frame'
            info.header.stamp = img.header.stamp
            img.data = rgb
            pub_info.publish(info)
            sent_s[stamp_ns] = time.monotonic()
            pub_img.publish(img)
            i += 1
            time.sleep(max(0.0, t_start + i * period - time.monotonic()))
        time.sleep(3.0)  # let the last frame through
    finally:
        executor.shutdown()
        peer.destroy_node()
        rclpy.shutdown()
        node_proc.send_signal(signal.SIGINT)
        try:
            node_proc.wait(10)
        except subprocess.TimeoutExpired:
            node_proc.kill()
    with lock:
        rx = list(received)
    if len(rx) < 3:
        raise RuntimeError(f'only {len(rx)} depth images received; node stderr:\n{node_proc.stderr.read()}')
    # Steady state: skip the first output (model warm-up), rate over the rest.
    rx = rx[1:]
    fps = (len(rx) - 1) / (rx[-1][1] - rx[0][1])
    latency_ms = np.array([(t - sent_s[s]) * 1e3 for s, t in rx if s in sent_s])
    return {'sent': i, 'received': len(rx) + 1, 'fps': fps,
            'inference_ms': node_stats.get('inference_ms_mean', np.nan),
            'output_ms': node_stats.get('output_ms_mean', np.nan),
            'dropped': node_stats.get('dropped', np.nan),
            'latency_p50_ms': float(np.percentile(latency_ms, 50)),
            'latency_p95_ms': float(np.percentile(latency_ms, 95))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=40.0, help='node run time [s]')
    parser.add_argument('--rate-hz', type=float, default=30.0, help='camera rate [Hz]')
    parser.add_argument('--raw-frames', type=int, default=10, help='frames timed for the raw model')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--backend', default='eager')
    parser.add_argument('--precision', default='fp32')
    parser.add_argument('--output-thread', default='auto', help='node parameter output_thread (auto|always|never)')
    parser.add_argument('--compare', default='', help='another checkout whose node runs A/B against this one')
    parser.add_argument('--rounds', type=int, default=2, help='A/B rounds with --compare')
    args = parser.parse_args()
    import logging
    logging.basicConfig(level=logging.ERROR)
    if args.compare:
        return compare(args)
    raw_fps = bench_raw(args.device, args.raw_frames, args.backend, args.precision)
    print(f'raw estimator ({H}x{W}, {args.device}, {args.backend} {args.precision}, depth+pose): '
          f'{raw_fps:.2f} frames/s', flush=True)
    r = bench_node(args.device, args.seconds, args.rate_hz, args.backend, args.precision,
                   output_thread=args.output_thread)
    print(f'node end to end: {r["fps"]:.2f} frames/s ({r["received"]} depth images for {r["sent"]} '
          f'camera frames at {args.rate_hz:g} Hz; the rest dropped as stale)')
    print(f'node worker per frame: inference {r["inference_ms"]:.0f} ms + messages/publish '
          f'{r["output_ms"]:.1f} ms; '
          f'stale frames dropped (node count): {r["dropped"]:.0f}')
    print(f'camera->depth latency: p50 {r["latency_p50_ms"]:.0f} ms, p95 {r["latency_p95_ms"]:.0f} ms')
    print(f'node / raw throughput: {r["fps"] / raw_fps:.2f} (target >= 0.90; noisy when the CPU is shared)')
    print(f'node / in-node raw (node fps x its inference time): {r["fps"] * r["inference_ms"] / 1e3:.2f}')
    print(f'node worker bound, inference / (inference + messages): '
          f'{r["inference_ms"] / (r["inference_ms"] + r["output_ms"]):.3f} (load-independent overhead check)')
    return 0


def compare(args) -> int:
    """A/B: per round, each node right after a raw measurement (load drifts; ratios per pair)."""
    here = str(Path(__file__).resolve().parents[1])
    trees = {'new': here, 'old': str(Path(args.compare).resolve())}
    runs: dict[str, list[dict]] = {'new': [], 'old': []}
    for k in range(args.rounds):
        for label in (('new', 'old') if k % 2 == 0 else ('old', 'new')):
            raw = bench_raw(args.device, args.raw_frames, args.backend, args.precision)
            r = bench_node(args.device, args.seconds, args.rate_hz, args.backend, args.precision, trees[label],
                           args.output_thread if label == 'new' else 'auto')
            r['raw_fps'], r['ratio'] = raw, r['fps'] / raw
            # the same estimator's rate inside the node at the same moment (1 / its inference time)
            r['in_node_ratio'] = r['fps'] * r['inference_ms'] / 1e3
            runs[label].append(r)
            print(f'round {k + 1} {label} ({trees[label]}): raw {raw:.2f}, node {r["fps"]:.2f} frames/s = '
                  f'{r["ratio"]:.2f} x raw ({r["in_node_ratio"]:.2f} x in-node raw), latency p50 {r["latency_p50_ms"]:.0f} / p95 {r["latency_p95_ms"]:.0f} ms, '
                  f'inference {r["inference_ms"]:.0f} + messages {r["output_ms"]:.1f} ms', flush=True)
    print('| node | raw frames/s | node frames/s | node / raw | node / in-node raw | latency p50 | p95 '
          '| inference ms | messages ms |')
    print('|---|---|---|---|---|---|---|---|---|')
    for label in ('old', 'new'):
        rs = runs[label]
        mean = lambda key: float(np.mean([r[key] for r in rs]))  # noqa: E731
        print(f'| {label} | {mean("raw_fps"):.2f} | {mean("fps"):.2f} | {mean("ratio"):.2f} | {mean("in_node_ratio"):.2f} '
              f'| {mean("latency_p50_ms"):.0f} ms | {mean("latency_p95_ms"):.0f} ms '
              f'| {mean("inference_ms"):.0f} | {mean("output_ms"):.1f} |')
    new, old = (float(np.mean([r['fps'] for r in runs[k]])) for k in ('new', 'old'))
    print(f'new / old node throughput: {new / old:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
