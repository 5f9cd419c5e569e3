"""Benchmark: raw SC-Depth (depth + pose) and DepthNet forwards per backend and precision vs eager fp32.

    python bench/backends.py [--threads 2] [--rounds 7] [--iters 3] [--resolutions 256x320,256x832]
                             [--configs eager:fp32,torch:fp32,torch:bf16,onnxruntime:fp32]
                             [--onnx-dir DIR] [--checkpoint FILE] [--device cpu]
                             [--depthnet-sizes 256,512] [--depthnet-configs ...] [--networks scdepth,depthnet]

SC-Depth: one frame = DispResNet on the current frame + PoseResNet(current, previous), on inputs
already prepared for the backend (no resize/normalisation; that is the same for every backend).
DepthNet: one frame = one forward of one normalised SxS pair [1,6,S,S] (random weights, seed 0:
speed does not depend on them; ONNX exported in memory). All configurations of a network run in
the same process, interleaved: each round times every configuration `--iters` times, so load
from other processes hits them alike. Reported per configuration: the median over rounds of the
per-call median (ms), and the median over rounds of (eager fp32 ms / this ms) in that round —
the ratio is the figure to compare across machines.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

DEFAULT_CONFIGS = 'eager:fp32,torch:fp32,torch:bf16,torch:fp16,onnxruntime:fp32'
DEPTHNET_CONFIGS = 'eager:fp32,torch:fp32,torch:bf16,onnxruntime:fp32'
TABLE_HEAD = ('| resolution | backend | precision | ms / frame (median) | ratio vs eager fp32 (median) |\n'
              '|---|---|---|---|---|')


def parse_hw(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def parse_configs(text: str) -> list[tuple[str, str]]:
    configs = [tuple(c.split(':')) for c in text.split(',')]
    return configs if ('eager', 'fp32') in configs else [('eager', 'fp32')] + configs


def interleaved_ms(frames: dict, rounds: int, iters: int) -> dict[tuple, list[float]]:
    """key -> per-round median ms of frames[key]() (2 warm-up calls each, then interleaved rounds)."""
    for frame in frames.values():        # allocations, oneDNN/ORT shape set-up
        for _ in range(2):
            frame()
    per_round = {k: [] for k in frames}
    for _ in range(rounds):
        for k, frame in frames.items():
            times = []
            for _ in range(iters):
                t0 = time.perf_counter()
                frame()
                times.append(time.perf_counter() - t0)
            per_round[k].append(1e3 * statistics.median(times))
    return per_round


def print_rows(label: str, per_round: dict[tuple, list[float]]) -> None:
    base = per_round[('eager', 'fp32')]
    for k, ms in per_round.items():
        ratio = statistics.median(e / m for e, m in zip(base, ms))
        print(f'| {label} | {k[0]} | {k[1]} | {statistics.median(ms):.1f} | {ratio:.2f}x |', flush=True)


def build(configs, make) -> dict:
    backends = {}
    for name, precision in configs:
        t0 = time.perf_counter()
        backends[(name, precision)] = b = make(name, precision)
        print(f'built {name} {precision} in {time.perf_counter() - t0:.1f} s: {b.describe()}', flush=True)
    return backends


def bench_scdepth(a) -> None:
    from depth_perception.backends import make_backend
    from depth_perception.estimators.scdepth import SCDepthConfig, SCDepthEstimator
    est = SCDepthEstimator(SCDepthConfig(checkpoint=a.checkpoint, device=a.device))
    backends = build(parse_configs(a.configs), lambda name, precision: make_backend(
        name, precision, est.depth_net, est.pose_net, est.device, onnx_dir=a.onnx_dir, num_threads=a.threads))
    print(f'\nSC-Depth depth + pose: device {est.device}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads, {a.rounds} rounds x {a.iters} calls, {est.weights_description}\n')
    print(TABLE_HEAD)
    for hw in (parse_hw(r) for r in a.resolutions.split(',')):
        g = torch.Generator().manual_seed(0)
        images = [torch.randn(1, 3, *hw, generator=g).to(est.device) for _ in range(2)]

        def frame(b, xs):
            b.disparity(xs[1])
            b.pose(xs[1], xs[0])
            if est.device.type == 'cuda':
                torch.cuda.synchronize()

        frames = {k: (lambda b=b, xs=[b.prepare(x) for x in images]: frame(b, xs)) for k, b in backends.items()}
        print_rows(f'{hw[0]}x{hw[1]}', interleaved_ms(frames, a.rounds, a.iters))


def bench_depthnet(a) -> None:
    from depth_perception.backends.depthnet import make_depthnet_backend
    from depth_perception.models.depthnet import DepthNet
    device = torch.device(a.device)
    torch.manual_seed(0)
    net = DepthNet().to(device).eval()
    backends = build(parse_configs(a.depthnet_configs), lambda name, precision: make_depthnet_backend(
        name, precision, net, device, num_threads=a.threads))
    print(f'\nDepthNet, one pair per frame: device {device}, {torch.get_num_threads()} threads, '
          f'{a.rounds} rounds x {a.iters} calls, random weights\n')
    print(TABLE_HEAD)
    for size in (int(v) for v in a.depthnet_sizes.split(',')):
        x = torch.randn(1, 6, size, size, generator=torch.Generator().manual_seed(0)).to(device)
        sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
        frames = {k: (lambda b=b: (b(x), sync())) for k, b in backends.items()}
        print_rows(f'DepthNet {size}x{size}', interleaved_ms(frames, a.rounds, a.iters))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2, help='torch and ONNX Runtime intra-op threads')
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--iters', type=int, default=3, help='timed calls per configuration per round')
    ap.add_argument('--networks', default='scdepth,depthnet', help='which tables: scdepth, depthnet or both')
    ap.add_argument('--resolutions', default='256x320,256x832', help='SC-Depth input sizes HxW')
    ap.add_argument('--configs', default=DEFAULT_CONFIGS, help='SC-Depth backend:precision,...')
    ap.add_argument('--depthnet-sizes', default='256,512', help='DepthNet square input sides [px]')
    ap.add_argument('--depthnet-configs', default=DEPTHNET_CONFIGS, help='DepthNet backend:precision,...')
    ap.add_argument('--onnx-dir', default='', help="SC-Depth files from `export --format onnx` ('' = export in memory)")
    ap.add_argument('--checkpoint', default='', help="SC-Depth weights; '' = the packaged default model")
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from depth_perception.malloc_tuning import keep_freed_memory
    keep_freed_memory()   # as the nodes do: no page faults re-mapping freed activations every call
    networks = a.networks.split(',')
    if 'scdepth' in networks:
        bench_scdepth(a)
    if 'depthnet' in networks:
        bench_depthnet(a)


if __name__ == '__main__':
    main()
