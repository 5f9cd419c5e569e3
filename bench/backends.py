"""Benchmark: raw SC-Depth forward (depth + pose) per backend and precision vs eager fp32.

    python bench/backends.py [--threads 2] [--rounds 7] [--iters 3] [--resolutions 256x320,256x832]
                             [--configs eager:fp32,torch:fp32,torch:bf16,onnxruntime:fp32]
                             [--onnx-dir DIR] [--checkpoint FILE] [--device cpu]

One frame = DispResNet on the current frame + PoseResNet(current, previous), on inputs already
prepared for the backend (no resize/normalisation; that is the same for every backend). All
configurations run in the same process, interleaved: each round times every configuration
`--iters` times, so load from other processes hits them alike. Reported per configuration:
the median over rounds of the per-call median (ms), and the median over rounds of
(eager fp32 ms / this ms) in that round — the ratio is the figure to compare across machines.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

DEFAULT_CONFIGS = 'eager:fp32,torch:fp32,torch:bf16,torch:fp16,onnxruntime:fp32'


def parse_hw(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2, help='torch and ONNX Runtime intra-op threads')
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--iters', type=int, default=3, help='timed calls per configuration per round')
    ap.add_argument('--resolutions', default='256x320,256x832')
    ap.add_argument('--configs', default=DEFAULT_CONFIGS, help='backend:precision,...')
    ap.add_argument('--onnx-dir', default='', help="files from `export --format onnx` ('' = export in memory)")
    ap.add_argument('--checkpoint', default='', help="'' = the packaged default model")
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    from depth_perception.backends import make_backend
    from depth_perception.estimators.scdepth import SCDepthConfig, SCDepthEstimator
    est = SCDepthEstimator(SCDepthConfig(checkpoint=a.checkpoint, device=a.device))
    configs = [tuple(c.split(':')) for c in a.configs.split(',')]
    if ('eager', 'fp32') not in configs:
        configs.insert(0, ('eager', 'fp32'))
    backends = {}
    for name, precision in configs:
        t0 = time.perf_counter()
        backends[(name, precision)] = make_backend(name, precision, est.depth_net, est.pose_net,
                                                   est.device, onnx_dir=a.onnx_dir, num_threads=a.threads)
        print(f'built {name} {precision} in {time.perf_counter() - t0:.1f} s: '
              f'{backends[(name, precision)].describe()}', flush=True)

    print(f'\ndevice {est.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{a.rounds} rounds x {a.iters} calls, {est.weights_description}\n')
    print('| resolution | backend | precision | ms / frame (median) | ratio vs eager fp32 (median) |')
    print('|---|---|---|---|---|')
    for hw in (parse_hw(r) for r in a.resolutions.split(',')):
        g = torch.Generator().manual_seed(0)
        images = [torch.randn(1, 3, *hw, generator=g).to(est.device) for _ in range(2)]
        inputs = {k: [b.prepare(x) for x in images] for k, b in backends.items()}

        def frame(b, xs):
            b.disparity(xs[1])
            b.pose(xs[1], xs[0])
            if est.device.type == 'cuda':
                torch.cuda.synchronize()

        for k, b in backends.items():            # warm-up: allocations, oneDNN/ORT shape set-up
            for _ in range(2):
                frame(b, inputs[k])
        per_round = {k: [] for k in backends}
        for _ in range(a.rounds):
            for k, b in backends.items():
                times = []
                for _ in range(a.iters):
                    t0 = time.perf_counter()
                    frame(b, inputs[k])
                    times.append(time.perf_counter() - t0)
                per_round[k].append(1e3 * statistics.median(times))
        base = per_round[('eager', 'fp32')]
        for k, ms in per_round.items():
            ratio = statistics.median(e / m for e, m in zip(base, ms))
            print(f'| {hw[0]}x{hw[1]} | {k[0]} | {k[1]} | {statistics.median(ms):.1f} | {ratio:.2f}x |',
                  flush=True)


if __name__ == '__main__':
    main()
