"""Benchmark: raw DepthNet forward vs depthnet_node end to end through DDS, at 256x256 and 512x512.

    .venv/bin/python bench/depthnet_node.py [--sizes 256 512] [--seconds 30] [--rate-hz 30]
        [--threads 0] [--outputs depth all] [--rounds 3]

Per size S and outputs choice, --rounds rounds on the same machine, same thread count, of:
1. raw: one DepthNet forward of one pair (SxS, batch 1, eager fp32) in a loop -> frames/s;
2. node: the depthnet_node console script in its own process (constant_velocity motion, images
   SxS with the focal length the network expects, so nothing is resized), fed at --rate-hz by a
   publisher in this process (faster than the model: the node runs flat out and drops stale
   frames); output frames/s, camera->depth latency p50/p95 (image publish to depth/image
   arrival, same clock);
3. raw again.
Target: node fps >= 0.9 x raw fps (raw = the mean of the two around the node run), the median
over the rounds. Outputs choice 'depth': only depth/image is subscribed (what a SLAM front end
reads); 'all': depth/colored and points too (rviz). Lazy outputs: the node builds only what is
subscribed.
Weights are random (speed does not depend on them).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

# DDS isolation must be set before rclpy is imported (and inherited by the node process).
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(100, 199)))

import numpy as np  # noqa: E402

import _dds  # noqa: E402  (bench/ is on sys.path when run as a script)
from depth_perception.malloc_tuning import keep_freed_memory  # noqa: E402

# malloc thresholds as in the node processes (which also serve their worker thread from one
# heap, depth_perception.ros); the raw loop runs on the main thread
keep_freed_memory()


def make_checkpoint(folder: Path, size: int) -> str:
    """Random-init DepthNet in the project's format; the name gives the training focal (S/2)."""
    import torch
    from depth_perception.checkpoints_depthnet import save_depthnet_checkpoint
    from depth_perception.models.depthnet import DepthNet
    torch.manual_seed(0)
    path = folder / f'DepthNet_elu_bn_{size}.pth.tar'
    save_depthnet_checkpoint(path, DepthNet(), training_width_px=size)
    return str(path)


def bench_raw(checkpoint: str, size: int, frames: int) -> float:
    from depth_perception.estimators.depthnet_runner import DepthNetRunner
    runner = DepthNetRunner(checkpoint, 'cpu')
    rng = np.random.default_rng(0)
    pair = tuple(rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(2))
    runner.predict([pair])
    t0 = time.perf_counter()
    for _ in range(frames):
        runner.predict([pair])
    return frames / (time.perf_counter() - t0)


def listened_outputs(which: str) -> dict:
    """Outputs the bench peer subscribes to besides depth/image (the node builds no others)."""
    if which == 'depth':
        return {}
    from sensor_msgs.msg import Image, PointCloud2
    return {'depth/colored': Image, 'points': PointCloud2}


def bench_node(checkpoint: str, size: int, seconds: float, rate_hz: float, threads: int, outputs: str) -> dict:
    node_proc = _dds.start_node('depthnet_node', 'depth_perception.ros.depthnet_node', {
        'checkpoint': checkpoint, 'device': 'cpu', 'num_threads': threads, 'motion_source': 'constant_velocity',
        'velocity_z_mps': 1.0, 'input_qos': 'reliable', 'diagnostics_period_s': 2.0})
    f = size / 2.0      # the network's focal length: the node does not resize
    K = [f, 0.0, (size - 1) / 2, 0.0, f, (size - 1) / 2, 0.0, 0.0, 1.0]
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8).tobytes() for _ in range(2)]
    return _dds.stream_camera(node_proc, 'depthnet_bench_peer', lambda name: name == 'depthnet_node: inference',
                              images, size, size, K, rate_hz, seconds, match_timeout_s=120,
                              also_subscribe=listened_outputs(outputs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 512], help='square image sides [px]')
    parser.add_argument('--seconds', type=float, default=30.0, help='node run time per size [s]')
    parser.add_argument('--rate-hz', type=float, default=30.0, help='camera rate [Hz]')
    parser.add_argument('--raw-frames', type=int, default=10, help='forwards timed for the raw model')
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads, raw and node (0 = default)')
    parser.add_argument('--rounds', type=int, default=3, help='raw / node / raw rounds per size and outputs choice')
    parser.add_argument('--outputs', nargs='+', choices=['depth', 'all'], default=['depth', 'all'],
                        help="node runs per size: 'depth' = only depth/image is subscribed (a SLAM front end), "
                             "'all' = depth/colored and points too (rviz); the node builds only what is subscribed")
    args = parser.parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch threads: {torch.get_num_threads()}, cpu', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            ckpt = make_checkpoint(Path(tmp), size)
            for outputs in args.outputs:
                _dds.rounds_against_raw(
                    f'{size}x{size} [{outputs} subscribed]', args.rounds,
                    lambda: bench_raw(ckpt, size, args.raw_frames),
                    lambda: bench_node(ckpt, size, args.seconds, args.rate_hz, args.threads, outputs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
