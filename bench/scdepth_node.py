"""Benchmark: raw SC-Depth estimator throughput vs the ROS node end to end through DDS.

    .venv/bin/python bench/scdepth_node.py [--seconds 40] [--rate-hz 30] [--device cpu]
        [--backend eager] [--precision fp32] [--output-thread auto|always|never]
        [--compare /path/to/other/checkout] [--rounds 2] [--threads 0] [--size 256x320]

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
import sys
import time
from pathlib import Path

# DDS isolation must be set before rclpy is imported (and inherited by the node process).
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(100, 199)))
USER_OMP_WAIT = os.environ.get('OMP_WAIT_POLICY')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')   # before torch loads, as in the node

import numpy as np  # noqa: E402

import _dds  # noqa: E402  (bench/ is on sys.path when run as a script)
from depth_perception.malloc_tuning import keep_freed_memory  # noqa: E402

# malloc thresholds as in the node processes (which also serve their worker thread from one
# heap, depth_perception.ros); the raw loop runs on the main thread
keep_freed_memory()


def intrinsics(hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    f = 250.0 * w / 320      # 250 px at 256x320, the same field of view at other widths
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])


def bench_raw(device: str, frames: int, backend: str, precision: str, threads: int = 0,
              hw: tuple[int, int] = (256, 320)) -> float:
    from depth_perception.estimators import CameraFrame, create_estimator
    est = create_estimator('scdepth', resolution_hw=hw, device=device, backend=backend, precision=precision,
                           num_threads=threads)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (*hw, 3), dtype=np.uint8) for _ in range(4)]
    K = intrinsics(hw)
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
               precision: str = 'fp32', tree: str | None = None, output_thread: str = 'auto',
               threads: int = 0, hw: tuple[int, int] = (256, 320)) -> dict:
    H, W = hw
    params = {'network_height': H, 'network_width': W, 'device': device, 'diagnostics_period_s': 5.0}
    if (backend, precision) != ('eager', 'fp32'):    # older trees have no such parameters
        params.update(backend=backend, precision=precision)
    if output_thread != 'auto':
        params['output_thread'] = output_thread
    if threads:
        params['num_threads'] = threads
    node_proc = _dds.start_node('scdepth_node', 'depth_perception.ros.scdepth_node', params,
                                env=node_env(tree), cwd=tree)
    rgb = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8).tobytes()
    return _dds.stream_camera(node_proc, 'scdepth_bench_peer', lambda name: name.startswith('scdepth_node'),
                              [rgb], H, W, intrinsics(hw).ravel().tolist(), rate_hz, seconds, match_timeout_s=90)


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
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads, raw and node (0 = default)')
    parser.add_argument('--size', default='256x320', help='HxW of the camera images = the network input')
    args = parser.parse_args()
    args.hw = tuple(int(v) for v in args.size.split('x'))
    import logging
    logging.basicConfig(level=logging.ERROR)
    if args.compare:
        return compare(args)
    raw_fps = bench_raw(args.device, args.raw_frames, args.backend, args.precision, args.threads, args.hw)
    print(f'raw estimator ({args.size}, {args.device}, {args.backend} {args.precision}, depth+pose): '
          f'{raw_fps:.2f} frames/s', flush=True)
    r = bench_node(args.device, args.seconds, args.rate_hz, args.backend, args.precision,
                   output_thread=args.output_thread, threads=args.threads, hw=args.hw)
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
            raw = bench_raw(args.device, args.raw_frames, args.backend, args.precision, args.threads, args.hw)
            r = bench_node(args.device, args.seconds, args.rate_hz, args.backend, args.precision, trees[label],
                           args.output_thread if label == 'new' else 'auto', args.threads, args.hw)
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
