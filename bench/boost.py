"""Boosting cost: R0 / R20 / Final vs one forward of the base network alone, same run.

    .venv/bin/python bench/boost.py [--image PNG] [--size 240x320] [--full] [--max-res N]
        [--midas model.pt --merge latest_net_G.pth] [--device cpu|cuda] [--threads N] [--onnxruntime]
        [--modes R0,R20,Final] [--batch N] [--rounds N] [--no-straight] [--default-malloc]

Default: reduced-width MiDaS and merge networks with random weights (the CPU can run them in
minutes; timings then show the pipeline's own overhead relative to the network), on a
7-Scenes fixture frame resized to --size. `--full` builds the full-size networks (ResNeXt-101
MiDaS, unet_1024 ngf 64); `--midas/--merge` load released weights. Prints seconds per stage,
the patch count, and each mode's time as a multiple of one base forward at the receptive field.
Final is also computed by `boost_straight.straight_final` (the reference's way: one patch at a
time, both estimates of every double estimate, the 3000x3000 mask) in the same run, and the
package's speed-up over it printed with the largest difference between the two outputs.
The process tunes malloc as `depth-perception boost` does (`--default-malloc`: glibc's defaults).
`--onnxruntime` then runs every mode again with both networks in ONNX Runtime (the node's and
`boost`'s `backend onnxruntime`) and prints its speed-up over the eager run of the same mode.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from boost_straight import straight_final  # noqa: E402
from depth_perception.boosting.bases import MidasBase  # noqa: E402
from depth_perception.boosting.ort import use_onnxruntime  # noqa: E402
from depth_perception.boosting.pipeline import BoostConfig, boost, to_float_rgb  # noqa: E402
from depth_perception.boosting.weights import read_merge_net, read_midas  # noqa: E402
from depth_perception.malloc_tuning import keep_freed_memory  # noqa: E402
from depth_perception.models.midas import MidasNet  # noqa: E402
from depth_perception.models.pix2pix_unet import UnetGenerator  # noqa: E402

import os  # noqa: E402

FIXTURE = (Path(os.environ.get('DP_SHARED_FIXTURES', Path(__file__).resolve().parents[2] / 'shared/fixtures'))
           / 'sevenscenes_tsdf50/data/rgbd-frames/frame-000150.color.png')


def random_midas(full: bool = False) -> MidasNet:
    """MiDaS v2 with random weights from torch's current seed: full size, or reduced in width so
    the CPU runs it in seconds (the default here and in bench/boosted_node.py)."""
    midas = (MidasNet() if full else MidasNet(features=64, layers=(1, 1, 2, 1), groups=8, width_per_group=4,
                                              base_planes=32)).eval()
    with torch.no_grad():
        midas.scratch.output_conv[4].bias.fill_(0.5)   # keep the final ReLU open
    return midas


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--image', type=Path, default=FIXTURE)
    p.add_argument('--size', default='240x320', help='HxW the image is resized to first')
    p.add_argument('--full', action='store_true', help='full-size networks (slow on CPU)')
    p.add_argument('--midas', type=Path, help='MiDaS v2 model.pt')
    p.add_argument('--merge', type=Path, help='merge net latest_net_G.pth')
    p.add_argument('--max-res', type=float, default=math.inf, help='Final target cap (px)')
    p.add_argument('--modes', default='R0,R20,Final')
    p.add_argument('--batch', type=int, default=4,
                   help='Final is also run with this many patches per network call (0: skip)')
    p.add_argument('--no-straight', dest='straight', action='store_false',
                   help='skip the straight per-patch baseline of Final')
    p.add_argument('--rounds', type=int, default=2,
                   help='Final and its straight baseline are each run this many times, alternated')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--onnxruntime', action='store_true',
                   help='also time each mode with the networks in ONNX Runtime, against eager')
    p.add_argument('--default-malloc', action='store_true',
                   help="glibc's malloc defaults instead of the boost command's keep_freed_memory")
    a = p.parse_args()
    if not a.default_malloc:
        keep_freed_memory(all_from_one_heap=True)    # as `depth-perception boost` and the node
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    midas = read_midas(a.midas) if a.midas else random_midas(a.full)
    merge = read_merge_net(a.merge) if a.merge else UnetGenerator(ngf=64 if a.full else 8).eval()
    merge = merge.to(a.device)
    base = MidasBase(midas, a.device)

    raw = cv2.imread(str(a.image))
    if raw is None:
        sys.exit(f'{a.image}: not a readable image (set --image or DP_SHARED_FIXTURES)')
    rgb = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    h, w = (int(v) for v in a.size.split('x'))
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    net_desc = 'released weights' if a.midas else ('full-size random' if a.full else 'reduced random')
    print(f'image {a.image.name} at {w}x{h}, MiDaS base ({net_desc}), merge net '
          f'ngf {merge.ngf}, device {a.device}, {a.threads} threads')

    base.estimate(to_float_rgb(rgb), base.receptive_field)   # warm-up
    t = time.perf_counter()
    base.estimate(to_float_rgb(rgb), base.receptive_field)
    t_base = time.perf_counter() - t
    print(f'base forward alone at {base.receptive_field} px: {t_base:.2f} s')
    eager = {}
    for mode in a.modes.split(','):
        t = time.perf_counter()
        with torch.inference_mode():
            res = boost(rgb, base, merge, BoostConfig(mode=mode, max_res=a.max_res))
        total = time.perf_counter() - t
        eager[mode] = (total, res.depth)
        stages = ', '.join(f'{k} {v:.2f} s' for k, v in res.timings_s.items())
        extra = (f', target {res.target_hw[1]}x{res.target_hw[0]}, {len(res.patches)} patches'
                 if res.target_hw else '')
        print(f'{mode:5s}: {total:7.2f} s = {total / t_base:6.1f} x base forward '
              f'(R={res.resolution} px{extra}; {stages})')
        if mode == 'Final' and a.straight:
            # Alternated, best of each: neither side gets the other's warm heap or a quiet spell.
            runs, t_s = [total], []
            for r in range(a.rounds):
                t = time.perf_counter()
                straight = straight_final(rgb, base, merge)
                t_s.append(time.perf_counter() - t)
                if r + 1 < a.rounds:
                    t = time.perf_counter()
                    with torch.inference_mode():
                        boost(rgb, base, merge, BoostConfig(mode=mode, max_res=a.max_res))
                    runs.append(time.perf_counter() - t)
            total, t_s = min(runs), min(t_s)
            diff = float(np.abs(straight - res.depth).max() / max(np.ptp(straight), 1e-12))
            print(f'Final, best of {a.rounds} alternated: package {total:.2f} s, straight per-patch '
                  f'baseline {t_s:.2f} s = {t_s / total:.2f}x (max |diff| {diff:.1e} of the range)')
        if mode == 'Final' and a.batch > 1 and res.patches:
            t = time.perf_counter()
            with torch.inference_mode():
                batched = boost(rgb, base, merge, BoostConfig(mode=mode, max_res=a.max_res,
                                                              batch_size=a.batch))
            t_b = time.perf_counter() - t
            diff = float(np.abs(batched.depth - res.depth).max())
            vs = f', {t_s / t_b:.2f}x the straight baseline' if a.straight else ''
            print(f'Final, {a.batch} patches per call: {t_b:7.2f} s = {total / t_b:.2f}x one at a '
                  f'time{vs} (max |diff| {diff:.2e})')
    if a.onnxruntime:
        merge = use_onnxruntime(base, merge, torch.device(a.device), a.threads)
        boost(rgb, base, merge, BoostConfig(mode='R0'))   # warm-up: the first ORT runs allocate
        for mode, (t_eager, depth_eager) in eager.items():
            t = time.perf_counter()
            with torch.inference_mode():
                res = boost(rgb, base, merge, BoostConfig(mode=mode, max_res=a.max_res))
            total = time.perf_counter() - t
            diff = float(np.abs(res.depth - depth_eager).max() / max(np.ptp(depth_eager), 1e-12))
            print(f'{mode:5s} onnxruntime: {total:7.2f} s = {t_eager / total:.2f}x eager '
                  f'(max |diff| {diff:.1e} of the range)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
