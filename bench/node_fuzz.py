"""Fuzz the depth node over real DDS: malformed Image/CameraInfo interleaved with valid frames.

    python bench/node_fuzz.py [--count 3000] [--seed 0]

The node runs as its own process (the console script). Every bad message carries a stamp of
its own, so any output with such a stamp is an output for bad input. Prints the message
counts, `crashes` (node process gone) and `outputs for bad input`; both must be 0, and the
valid frames must still produce depth. Exit code 0 only then.
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

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(100, 199)))

import numpy as np  # noqa: E402

H, W = 48, 64
F = 60.0
GOOD_SEC, BAD_SEC = 1_000_000, 2_000_000
OUTPUTS = ('depth/image', 'depth/camera_info', 'depth/colored', 'points', 'odom')


def good_k(w=W, h=H):
    return [F, 0.0, (w - 1) / 2, 0.0, F, (h - 1) / 2, 0.0, 0.0, 1.0]


def image_mutations(rng: np.random.Generator):
    """(name, dict of Image field overrides, data) of a malformed image of size W x H."""
    step = W * 3
    data = bytes(rng.integers(0, 255, H * step, dtype=np.uint8))
    big = 2 ** int(rng.integers(14, 32))
    return [
        ('encoding', {'encoding': random.choice(['yuv422', '', 'RGB8', '16UC1', 'x' * 300, '8UC3', 'bayer_rggb8'])}, data),
        ('step_small', {'step': int(rng.integers(0, step))}, data),
        ('step_huge', {'step': big}, data),
        ('data_short', {}, data[:int(rng.integers(0, len(data)))]),
        ('data_long', {}, data + b'\0' * int(rng.integers(1, 999))),
        ('zero_size', {'width': 0, 'step': 0}, b''),
        ('height_lie', {'height': H + int(rng.integers(1, 10**6))}, data),
        ('width_huge', {'width': big, 'step': big * 3}, data),
        ('both_huge', {'width': 2 ** 31, 'height': 2 ** 31, 'step': 2 ** 32 - 1}, data),
        ('frame_cycle_base', {'frame': 'camera_link'}, data),
        ('frame_cycle_odom', {'frame': 'odom'}, data),
        ('frame_long', {'frame': 'f' * int(rng.integers(257, 100_000))}, data),
        ('frame_garbage', {'frame': ''.join(chr(int(c)) for c in rng.integers(1, 0x2FF, 20))}, data),
        ('unpaired_size', {'width': W + 1, 'step': (W + 1) * 3}, bytes((W + 1) * 3 * H)),
    ]


def info_mutations(rng: np.random.Generator):
    """(name, width, height, K) of a malformed camera_info; sent with a valid image of that size."""
    w, h = W + 8 + int(rng.integers(0, 1000)), H + 8   # a size no valid camera_info announces
    k = good_k(w, h)

    def with_(i, v):
        kk = list(k)
        kk[i] = v
        return kk
    return [
        ('k_nan', w, h, with_(int(rng.integers(0, 9)), float('nan'))),
        ('k_inf', w, h, with_(0, float('inf'))),
        ('fx_tiny', w, h, with_(0, 1e-300)),
        ('cx_huge', w, h, with_(2, 1e300)),
        ('fy_negative', w, h, with_(4, -F)),
        ('fx_zero', w, h, with_(0, 0.0)),
        ('last_row', w, h, with_(6, 1.0)),
        ('skew_huge', w, h, with_(1, 1e9)),
        ('size_zero', 0, h, k),
        ('size_huge', 2147483648, 65536, k),
        ('size_lie', w, 40000, k),
        ('k_random', w, h, [float(v) for v in rng.normal(0, 1e6, 9)]),
    ]


def run(count: int, seed: int, timeout_s: float) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    script = Path(sys.executable).with_name('scdepth_node')
    cmd = [str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node']
    cmd += ['--ros-args', '-p', 'network_height:=64', '-p', 'network_width:=96', '-p', 'num_threads:=1',
            '-p', 'device:=cpu', '-p', 'input_qos:=reliable', '-p', 'diagnostics_period_s:=0.0',
            '-p', 'pseudo_rgbd:=false', '--log-level', 'error']
    node_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    rclpy.init()
    peer = rclpy.create_node('node_fuzz_peer')
    lock = threading.Lock()
    out_secs: dict[str, list[int]] = {t: [] for t in OUTPUTS}
    reliable = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    types = {'depth/image': Image, 'depth/camera_info': CameraInfo, 'depth/colored': Image,
             'points': PointCloud2, 'odom': Odometry}

    def recorder(topic):
        def cb(msg):
            with lock:
                out_secs[topic].append(msg.header.stamp.sec)
        return cb
    for topic, kind in types.items():
        peer.create_subscription(kind, topic, recorder(topic), reliable)
    pub_img = peer.create_publisher(Image, 'image_raw', reliable)
    pub_info = peer.create_publisher(CameraInfo, 'camera_info', reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(peer)
    threading.Thread(target=executor.spin, daemon=True).start()

    rng = np.random.default_rng(seed)
    random.seed(seed)
    sent = {'valid': 0, 'bad_image': 0, 'bad_camera_info': 0}
    kinds: dict[str, int] = {}
    good_rgb = bytes(rng.integers(0, 255, H * W * 3, dtype=np.uint8))

    def image(sec, w=W, h=H, data=good_rgb, frame='cam_optical', **fields):
        msg = Image(height=h, width=w, encoding='rgb8', step=w * 3, is_bigendian=0)
        msg.header.stamp.sec, msg.header.frame_id = sec, frame
        for k, v in fields.items():
            setattr(msg, k, v)
        msg.data = data
        return msg

    def info(sec, w=W, h=H, k=None):
        msg = CameraInfo(width=w, height=h, k=k or good_k(w, h))
        msg.header.stamp.sec, msg.header.frame_id = sec, 'cam_optical'
        return msg

    try:
        deadline = time.monotonic() + 90
        while not (pub_img.get_subscription_count() and peer.count_publishers('/depth/image')):
            if time.monotonic() > deadline or node_proc.poll() is not None:
                raise RuntimeError(f'node did not come up: {node_proc.stderr.read() if node_proc.poll() is not None else ""}')
            time.sleep(0.1)
        time.sleep(1.0)
        pub_info.publish(info(GOOD_SEC))
        t_start = time.monotonic()
        last_good = GOOD_SEC
        for i in range(count):
            roll = rng.random()
            if roll < 0.3:
                sec = last_good = GOOD_SEC + 1 + i
                pub_info.publish(info(sec))
                pub_img.publish(image(sec))
                sent['valid'] += 1
            elif roll < 0.75:
                name, fields, data = random.choice(image_mutations(rng))
                frame = fields.pop('frame', 'cam_optical')
                kw = {k: v for k, v in fields.items() if k in ('width', 'height')}
                extra = {k: v for k, v in fields.items() if k not in ('width', 'height')}
                pub_img.publish(image(BAD_SEC + i, data=data, frame=frame, **kw, **extra))
                sent['bad_image'] += 1
                kinds[name] = kinds.get(name, 0) + 1
            else:
                name, w, h, k = random.choice(info_mutations(rng))
                pub_info.publish(info(BAD_SEC + i, w, h, k))
                pixels = bytes(w * h * 3) if 0 < w * h * 3 <= 4 * 1024 * 1024 else b''
                pub_img.publish(image(BAD_SEC + i, w=min(w, 2 ** 32 - 1), h=h, data=pixels))
                sent['bad_camera_info'] += 1
                kinds[name] = kinds.get(name, 0) + 1
            time.sleep(0.004)
            if node_proc.poll() is not None:
                break
        # the final valid frame must come out: the node is alive and serving
        final = last_good + count + 10
        pub_info.publish(info(final))
        pub_img.publish(image(final))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and node_proc.poll() is None:
            with lock:
                if final in out_secs['depth/image']:
                    break
            time.sleep(0.1)
        time.sleep(1.0)
        elapsed = time.monotonic() - t_start
    finally:
        executor.shutdown()
        peer.destroy_node()
        rclpy.shutdown()
        crashed = node_proc.poll() is not None
        if not crashed:
            node_proc.send_signal(signal.SIGINT)
            try:
                node_proc.wait(20)
            except subprocess.TimeoutExpired:
                node_proc.kill()
        stderr = node_proc.stderr.read()
    with lock:
        bad_out = sum(1 for t in OUTPUTS for s in out_secs[t] if s >= BAD_SEC)
        good_depth = sum(1 for s in out_secs['depth/image'] if GOOD_SEC <= s < BAD_SEC)
        final_ok = final in out_secs['depth/image']
    return {'sent': sent, 'kinds': kinds, 'crashes': int(crashed), 'exit_code': node_proc.returncode,
            'outputs_for_bad_input': bad_out, 'depth_for_valid': good_depth, 'final_frame_served': final_ok,
            'elapsed_s': elapsed, 'traceback': 'Traceback' in stderr, 'stderr_tail': stderr[-2000:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=3000, help='messages (pairs) to send')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--timeout-s', type=float, default=60.0, help='wait for the final valid frame')
    args = parser.parse_args()
    r = run(args.count, args.seed, args.timeout_s)
    s = r['sent']
    n_msgs = s['valid'] * 2 + s['bad_image'] + s['bad_camera_info'] * 2
    print(f'sent {n_msgs} messages ({sum(s.values())} cases) in {r["elapsed_s"]:.0f} s: {s["valid"]} valid frames, '
          f'{s["bad_image"]} malformed images, {s["bad_camera_info"]} malformed camera_info (+ image)')
    print('malformed kinds: ' + ', '.join(f'{k} {v}' for k, v in sorted(r['kinds'].items())))
    print(f'depth images for valid frames: {r["depth_for_valid"]} (latest-frame slot skips the rest); '
          f'final valid frame served: {r["final_frame_served"]}')
    print(f'crashes: {r["crashes"]}')
    print(f'outputs for bad input: {r["outputs_for_bad_input"]}')
    print(f'node exit code after SIGINT: {r["exit_code"]}; traceback on stderr: {r["traceback"]}')
    if r['crashes'] or r['traceback']:
        print(r['stderr_tail'])
    ok = (not r['crashes'] and not r['outputs_for_bad_input'] and r['final_frame_served']
          and r['exit_code'] == 0 and not r['traceback'])
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
