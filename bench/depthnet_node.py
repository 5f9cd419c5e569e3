"""Benchmark: raw DepthNet forward vs depthnet_node end to end through DDS, at 256x256 and 512x512.

    .venv/bin/python bench/depthnet_node.py [--sizes 256 512] [--seconds 30] [--rate-hz 30] [--threads 0]

Per size S (one run, same machine, same thread count):
1. raw: one DepthNet forward of one pair (SxS, batch 1, eager fp32) in a loop -> frames/s;
2. node: the depthnet_node console script in its own process (constant_velocity motion, images
   SxS with the focal length the network expects, so nothing is resized), fed at --rate-hz by a
   publisher in this process (faster than the model: the node runs flat out and drops stale
   frames); output frames/s, camera->depth latency p50/p95 (image publish to depth/image
   arrival, same clock). Target: node fps >= 0.9 x raw fps (raw timed before and after the
   node run; the faster of the two is used).
Weights are random (speed does not depend on them; no trained DepthNet is packaged yet).
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

keep_freed_memory()   # as the node processes do (depth_perception.ros), so raw and node compare alike


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


def bench_node(checkpoint: str, size: int, seconds: float, rate_hz: float, threads: int) -> dict:
    node_proc = _dds.start_node('depthnet_node', 'depth_perception.ros.depthnet_node', {
        'checkpoint': checkpoint, 'device': 'cpu', 'num_threads': threads, 'motion_source': 'constant_velocity',
        'velocity_z_mps': 1.0, 'input_qos': 'reliable', 'diagnostics_period_s': 2.0})
    f = size / 2.0      # the network's focal length: the node does not resize
    K = [f, 0.0, (size - 1) / 2, 0.0, f, (size - 1) / 2, 0.0, 0.0, 1.0]
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8).tobytes() for _ in range(2)]
    return _dds.stream_camera(node_proc, 'depthnet_bench_peer', lambda name: name == 'depthnet_node: inference',
                              images, size, size, K, rate_hz, seconds, match_timeout_s=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 512], help='square image sides [px]')
    parser.add_argument('--seconds', type=float, default=30.0, help='node run time per size [s]')
    parser.add_argument('--rate-hz', type=float, default=30.0, help='camera rate [Hz]')
    parser.add_argument('--raw-frames', type=int, default=10, help='forwards timed for the raw model')
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads, raw and node (0 = default)')
    args = parser.parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch threads: {torch.get_num_threads()}, cpu', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            ckpt = make_checkpoint(Path(tmp), size)
            raw_before = bench_raw(ckpt, size, args.raw_frames)
            r = bench_node(ckpt, size, args.seconds, args.rate_hz, args.threads)
            raw_after = bench_raw(ckpt, size, args.raw_frames)
            # The machine may be shared: raw is timed before and after the node; the ratio uses
            # the faster of the two (the conservative choice for the node).
            raw = max(raw_before, raw_after)
            print(f'{size}x{size} raw DepthNet forward (1 pair, eager fp32): {raw_before:.2f} frames/s before, '
                  f'{raw_after:.2f} after the node run', flush=True)
            print(f'{size}x{size} node end to end: {r["fps"]:.2f} frames/s = {r["fps"] / raw:.2f} x raw '
                  f'(target >= 0.9); latency p50 {r["latency_p50_ms"]:.0f} ms, p95 {r["latency_p95_ms"]:.0f} ms '
                  f'({r["received"]} depth images for {r["sent"]} camera frames at {args.rate_hz:g} Hz)',
                  flush=True)
            # Load-independent view from the node's own clock: the model step (estimator: pairing,
            # forward, fusion, upsampling) vs building and publishing the messages.
            share = r['inference_ms'] / (r['inference_ms'] + r['output_ms'])
            print(f'{size}x{size} node worker per frame: estimator {r["inference_ms"]:.0f} ms + messages/publish '
                  f'{r["output_ms"]:.1f} ms -> model share {share:.2f}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
