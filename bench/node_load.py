"""Load: a camera stream at 30 Hz with the default QoS (sensor data, best effort) into the node.

    python bench/node_load.py [--seconds 20] [--sizes 640x480,1280x720] [--transports profile,large_data]

For each image size and Fast DDS transport setting, in fresh processes (the transport is fixed
when a process creates its first participant):
  profile    : FASTDDS_DEFAULT_PROFILES_FILE=config/fastdds_large_frames.xml in camera and node
  large_data : FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA in both (the setting before issue 9 #14)
  default    : neither (Fast DDS defaults)
prints: frames sent; received by the node; lost before the node (stamp gaps, the node's count)
and not received at all (sent - received); replaced inside the node (latest-frame slot);
output depth fps; camera->depth latency p50/p95 (publish of image_raw to arrival of
depth/image, one host clock); node RSS now and peak.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / 'config' / 'fastdds_large_frames.xml'


def transport_env(kind: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ('FASTDDS_BUILTIN_TRANSPORTS', 'FASTDDS_DEFAULT_PROFILES_FILE')}
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    if kind == 'profile':
        env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(PROFILE)
    elif kind == 'large_data':
        env['FASTDDS_BUILTIN_TRANSPORTS'] = 'LARGE_DATA'
    return env


def rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        key, _, value = line.partition(':')
        fields[key] = value
    return int(fields['VmRSS'].split()[0]) / 1024, int(fields['VmHWM'].split()[0]) / 1024


def one(width: int, height: int, rate_hz: float, seconds: float, threads: int) -> dict:
    """Runs in a process whose transport env is already set: camera + recorder here, node apart."""
    import numpy as np
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    script = Path(sys.executable).with_name('scdepth_node')
    cmd = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node']
    cmd += ['--ros-args', '-p', 'device:=cpu', '-p', f'num_threads:={threads}',
            '-p', 'diagnostics_period_s:=1.0', '--log-level', 'warn']
    node_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    rclpy.init()
    peer = rclpy.create_node('node_load_camera')
    lock = threading.Lock()
    received: list[tuple[int, float]] = []
    stats: dict[str, float] = {}

    def on_depth(msg):
        with lock:
            received.append((msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec, time.monotonic()))

    def on_diag(msg):
        for s in msg.status:
            if s.name.startswith('scdepth_node'):
                stats.update({kv.key: float(kv.value) for kv in s.values})

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    peer.create_subscription(Image, 'depth/image', on_depth, reliable)
    peer.create_subscription(DiagnosticArray, '/diagnostics', on_diag, reliable)
    pub_img = peer.create_publisher(Image, 'image_raw', qos_profile_sensor_data)     # as camera drivers
    pub_info = peer.create_publisher(CameraInfo, 'camera_info', qos_profile_sensor_data)
    executor = SingleThreadedExecutor()
    executor.add_node(peer)
    threading.Thread(target=executor.spin, daemon=True).start()
    sent_s: dict[int, float] = {}
    rss = (float('nan'), float('nan'))
    try:
        deadline = time.monotonic() + 120
        while not (pub_img.get_subscription_count() and peer.count_publishers('/depth/image')):
            if time.monotonic() > deadline or node_proc.poll() is not None:
                raise RuntimeError('node did not come up')
            time.sleep(0.1)
        time.sleep(2.0)
        f = 0.8 * width
        info = CameraInfo(width=width, height=height,
                          k=[f, 0.0, (width - 1) / 2, 0.0, f, (height - 1) / 2, 0.0, 0.0, 1.0])
        data = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8).tobytes()
        period_ns = int(1e9 / rate_hz)
        n = int(seconds * rate_hz)
        t0 = time.monotonic()
        for i in range(n):
            stamp_ns = 10**9 + i * period_ns
            img = Image(height=height, width=width, encoding='rgb8', step=width * 3)
            img.header.stamp.sec, img.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            img.header.frame_id = info.header.frame_id = 'camera_optical_frame'
            info.header.stamp = img.header.stamp
            img.data = data
            pub_info.publish(info)
            sent_s[stamp_ns] = time.monotonic()
            pub_img.publish(img)
            time.sleep(max(0.0, t0 + (i + 1) / rate_hz - time.monotonic()))
        time.sleep(3.0)            # last frame through, one more diagnostics report
        rss = rss_mb(node_proc.pid)
    finally:
        executor.shutdown()
        peer.destroy_node()
        rclpy.shutdown()
        node_proc.send_signal(signal.SIGINT)
        try:
            node_proc.wait(20)
        except subprocess.TimeoutExpired:
            node_proc.kill()
    with lock:
        rx = list(received)
    lat = np.array([(t - sent_s[s]) * 1e3 for s, t in rx if s in sent_s])
    fps = (len(rx) - 1) / (rx[-1][1] - rx[0][1]) if len(rx) > 2 else 0.0
    return {'size': f'{width}x{height}', 'sent': n, 'node_received': stats.get('received', 0),
            'lost_before_node': stats.get('lost_before_node', 0), 'replaced_in_node': stats.get('dropped', 0),
            'processed': stats.get('processed', 0), 'output_fps': fps,
            'latency_p50_ms': float(np.percentile(lat, 50)) if lat.size else float('nan'),
            'latency_p95_ms': float(np.percentile(lat, 95)) if lat.size else float('nan'),
            'rss_mb': rss[0], 'rss_peak_mb': rss[1], 'node_exit': node_proc.returncode}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--rate-hz', type=float, default=30.0)
    parser.add_argument('--sizes', default='640x480,1280x720')
    parser.add_argument('--transports', default='profile,large_data', help='profile, large_data, default')
    parser.add_argument('--threads', type=int, default=1, help='torch threads of the node')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        w, h = (int(v) for v in args.one.split('x'))
        print('RESULT ' + json.dumps(one(w, h, args.rate_hz, args.seconds, args.threads)), flush=True)
        return 0
    domain = str(random.Random(os.getpid()).randint(100, 199))
    print(f'{args.rate_hz:g} Hz rgb8, sensor-data QoS camera -> scdepth_node (default input QoS), '
          f'{args.seconds:g} s each, node torch threads {args.threads}')
    for transport in args.transports.split(','):
        for size in args.sizes.split(','):
            env = {**transport_env(transport), 'ROS_DOMAIN_ID': os.environ.get('ROS_DOMAIN_ID', domain)}
            proc = subprocess.run([sys.executable, __file__, '--one', size, '--seconds', str(args.seconds),
                                   '--rate-hz', str(args.rate_hz), '--threads', str(args.threads)],
                                  env=env, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
            if not lines:
                print(f'{transport:10s} {size}: failed\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}')
                continue
            r = json.loads(lines[0][7:])
            never = r['sent'] - r['node_received']
            print(f'{transport:10s} {r["size"]:>9s}: sent {r["sent"]}, node received {r["node_received"]:.0f} '
                  f'({100 * never / r["sent"]:.0f} % lost before the node; node stamp-gap count '
                  f'{r["lost_before_node"]:.0f}), replaced in the node slot {r["replaced_in_node"]:.0f}, '
                  f'processed {r["processed"]:.0f}; output {r["output_fps"]:.2f} fps, latency p50 '
                  f'{r["latency_p50_ms"]:.0f} ms p95 {r["latency_p95_ms"]:.0f} ms; node RSS '
                  f'{r["rss_mb"]:.0f} MB (peak {r["rss_peak_mb"]:.0f} MB); exit {r["node_exit"]}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
