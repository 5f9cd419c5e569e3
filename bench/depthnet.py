"""Benchmark: DepthNet raw forward vs the estimator (resize, de-rotation, fusion), same run.

    python bench/depthnet.py [--frames 10] [--device cpu] [--threads 0]

Prints frames/s (best of 3 rounds) of the eager fp32 network forward at 256x256 and 512x512, and of
`DepthNetEstimator.estimate` at 256x256 with one shift and with three fused shifts (1, 3, 9;
three pairs per frame, so about 1/3 of the raw rate is the expected ceiling) on a rotating,
translating camera, each with its ratio to the raw forward at the same size.
Weights are random (speed does not depend on them). The ROS node figures will be added by
bench/depthnet_node.py once depthnet_node exists.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def raw_fps(net, size: int, frames: int, device) -> float:
    x = torch.randn(1, 6, size, size, device=device)
    with torch.inference_mode():
        net(x)
        t0 = time.perf_counter()
        for _ in range(frames):
            net(x)
        if device.type == 'cuda':
            torch.cuda.synchronize()
    return frames / (time.perf_counter() - t0)


def estimator_fps(ckpt: Path, shifts, size: int, frames: int, device: str) -> float:
    from depth_perception.estimators import CameraFrame
    from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
    est = DepthNetEstimator(checkpoint=str(ckpt), frame_shifts=shifts, network_focal_px=size / 2,
                            device=device)
    rng = np.random.default_rng(0)
    K = np.array([[size / 2, 0, (size - 1) / 2], [0, size / 2, (size - 1) / 2], [0, 0, 1]])
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(4)]

    def pose(i):
        T = np.eye(4)
        T[:3, :3] = rot_y(0.5 * i)
        T[:3, 3] = [0.0, 0.0, 0.1 * i]
        return T
    warm = max(shifts) + 1
    for i in range(warm):
        try:
            est.estimate(CameraFrame(images[i % 4], K, i), T_world_cam=pose(i))
        except PairsSkipped:
            pass
    t0 = time.perf_counter()
    for i in range(warm, warm + frames):
        est.estimate(CameraFrame(images[i % 4], K, i), T_world_cam=pose(i))
    return frames / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--frames', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads (0 = default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from depth_perception.checkpoints_depthnet import save_depthnet_checkpoint
    from depth_perception.models.depthnet import DepthNet
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = DepthNet().eval()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = save_depthnet_checkpoint(Path(tmp) / 'bench.pth.tar', net)
        net = net.to(device)
        print(f'device {device}, torch threads {torch.get_num_threads()}, {args.frames} frames each')
        # Best of 3 rounds: on a shared machine the slow rounds measure the neighbours.
        raw = {s: max(raw_fps(net, s, args.frames, device) for _ in range(3)) for s in (256, 512)}
        for s, fps in raw.items():
            print(f'raw forward {s}x{s}: {fps:.2f} frames/s')
        for shifts in ((1,), (1, 3, 9)):
            fps = max(estimator_fps(ckpt, shifts, 256, args.frames, args.device) for _ in range(3))
            print(f'estimator 256x256 shifts {list(shifts)}: {fps:.2f} frames/s '
                  f'({fps / raw[256]:.2f} x raw forward)')


if __name__ == '__main__':
    main()
