"""Benchmark: the raw boosted estimator vs boosted_depth_node end to end through DDS, same run.

    .venv/bin/python bench/boosted_node.py [--modes R0 R20] [--size 240x320] [--seconds 40]
        [--rate-hz 30] [--threads 1] [--rounds 2]

MiDaS base and merge net reduced in width with random weights, as `bench/boost.py` by default
(no released weights here; the node's overhead does not depend on them), written to files the
node loads. The camera is the 7-Scenes fixture frame at --size. Per mode, --rounds rounds of:
1. raw: `BoostedEstimator.estimate()` (what the node runs per frame) in a loop -> frames/s;
2. node: the boosted_depth_node console script in its own process, fed at --rate-hz by a
   publisher in this process (far faster than boosting: the node runs flat out and drops stale
   frames); depth/relative frames/s, camera->depth latency p50/p95 (same clock);
3. raw again.
Target (issue 13): node fps >= 0.9 x raw fps (raw = the mean of the two around the node run),
the median over the rounds. Final is left out by default: a frame takes ~30 s here, so a
node run would see one or two frames.
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

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import _dds  # noqa: E402  (bench/ is on sys.path when run as a script)
from boost import FIXTURE, random_midas  # noqa: E402
from depth_perception.malloc_tuning import keep_freed_memory  # noqa: E402

keep_freed_memory(all_from_one_heap=True)   # as boosted_depth_node does, so raw and node compare alike


def write_networks(folder: Path) -> dict:
    """bench/boost.py's reduced networks, saved in the released layouts."""
    import torch
    from depth_perception.models.pix2pix_unet import UnetGenerator
    torch.manual_seed(0)
    torch.save({'model': random_midas().state_dict(), 'optimizer': {}}, folder / 'model.pt')
    torch.save(UnetGenerator(ngf=8).state_dict(), folder / 'latest_net_G.pth')
    return {'base': 'midas', 'checkpoint': str(folder / 'model.pt'),
            'merge_checkpoint': str(folder / 'latest_net_G.pth')}


def bench_raw(files: dict, mode: str, rgb: np.ndarray, K: np.ndarray, frames: int, threads: int) -> float:
    from depth_perception.estimators import CameraFrame
    from depth_perception.estimators.boosted import BoostedEstimator
    est = BoostedEstimator(**files, mode=mode, device='cpu', num_threads=threads)
    est.estimate(CameraFrame(rgb, K, 0))
    t0 = time.perf_counter()
    for i in range(frames):
        est.estimate(CameraFrame(rgb, K, i + 1))
    return frames / (time.perf_counter() - t0)


def bench_node(files: dict, mode: str, rgb: np.ndarray, K: np.ndarray, args) -> dict:
    node_proc = _dds.start_node('boosted_depth_node', 'depth_perception.ros.boosted_node', {
        **files, 'mode': mode, 'device': 'cpu', 'num_threads': args.threads, 'input_qos': 'reliable',
        'diagnostics_period_s': 2.0})
    h, w = rgb.shape[:2]
    return _dds.stream_camera(node_proc, 'boosted_bench_peer', lambda name: name == 'boosted_depth_node: inference',
                              [rgb.tobytes()], h, w, [float(v) for v in K.ravel()], args.rate_hz, args.seconds,
                              match_timeout_s=120, depth_topic='depth/relative')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--modes', nargs='+', default=['R0', 'R20'], choices=['R0', 'R20', 'Final'])
    parser.add_argument('--size', default='240x320', help='HxW of the camera images')
    parser.add_argument('--seconds', type=float, default=40.0, help='node run time per round [s]')
    parser.add_argument('--rate-hz', type=float, default=30.0, help='camera rate [Hz]')
    parser.add_argument('--raw-frames', type=int, default=5, help='frames timed for the raw estimator')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads, raw and node')
    parser.add_argument('--rounds', type=int, default=2, help='raw / node / raw rounds per mode')
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    bgr = cv2.imread(str(FIXTURE))
    if bgr is None:
        sys.exit(f'{FIXTURE}: not a readable image (set DP_SHARED_FIXTURES)')
    h, w = (int(v) for v in args.size.split('x'))
    rgb = np.ascontiguousarray(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)[:, :, ::-1])
    f = 525.0 * w / 640     # 7-Scenes' focal length, scaled with the image
    K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
    print(f'torch threads: {torch.get_num_threads()}, cpu; camera {w}x{h} at {args.rate_hz:g} Hz; '
          'reduced random MiDaS + merge networks', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = write_networks(Path(tmp))
        for mode in args.modes:
            _dds.rounds_against_raw(mode, args.rounds,
                                    lambda: bench_raw(files, mode, rgb, K, args.raw_frames, args.threads),
                                    lambda: bench_node(files, mode, rgb, K, args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
