"""Training throughput of SC-Depth (iterations/s): forward, full loss, backward and Adam step.

    python bench/train.py                       # 256x320, batch 4, V1, CPU (and GPU if present)
    python bench/train.py --size 128x160 --version v3 --threads 2

Inputs are a fixed random-texture batch with a plausible intrinsics matrix; data loading is
excluded (it runs in parallel workers during real training).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depth_perception_training.config import load_config  # noqa: E402
from depth_perception_training.module import SCDepthModule  # noqa: E402


def make_batch(b: int, h: int, w: int, n_refs: int, device, with_pseudo: bool) -> dict:
    g = torch.Generator().manual_seed(0)
    K = torch.tensor([[0.8 * w, 0, (w - 1) / 2], [0, 0.8 * w, (h - 1) / 2], [0, 0, 1]]).repeat(b, 1, 1)
    batch = {'tgt': torch.randn(b, 3, h, w, generator=g), 'refs': torch.randn(b, n_refs, 3, h, w, generator=g), 'K': K}
    if with_pseudo:
        batch['pseudo_depth'] = 1 + torch.rand(b, 1, h, w, generator=g)
    return {k: v.to(device) for k, v in batch.items()}


def bench(device: str, h: int, w: int, batch_size: int, version: str, iters: int, warmup: int) -> float:
    cfg = load_config(None, [], model_version=version, img_height=h, img_width=w, batch_size=batch_size)
    module = SCDepthModule(cfg.to_dict()).to(device).train()
    opt = module.configure_optimizers()
    batch = make_batch(batch_size, h, w, cfg.sequence_length - 1, device, version == 'v3')

    def step():
        loss = module.compute_losses(batch)['total']
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return iters / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', default='256x320', help='HxW (multiples of 32)')
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--version', default='v1', choices=['v1', 'v2', 'v3'])
    p.add_argument('--iters', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    p.add_argument('--cpu-only', action='store_true')
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    h, w = (int(v) for v in a.size.lower().split('x'))
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() and not a.cpu_only else [])
    for dev in devices:
        rate = bench(dev, h, w, a.batch, a.version, a.iters, a.warmup)
        name = torch.cuda.get_device_name() if dev == 'cuda' else f'cpu ({torch.get_num_threads()} threads)'
        print(f'SC-Depth {a.version} training {h}x{w} batch {a.batch} on {name}: {rate:.3f} it/s '
              f'({1 / rate:.3f} s/it)', flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
