"""Frames/s of the synthetic renderer (RGB + z-depth) at 320x256, per scene, with a breakdown.

    .venv/bin/python bench/synthetic.py [--frames 100] [--size 320x256]

Reports the ray cast (open3d/Embree) separately from the rest (texturing, shading, packing),
so it is clear which part limits the rate on this machine.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import open3d as o3d

from depth_perception.synthetic import make_sequence


def bench(scene: str, frames: int, width: int, height: int, dynamic: int) -> None:
    seq = make_sequence(scene=scene, frames=frames, width=width, height=height, seed=1,
                        dynamic_objects=dynamic)
    seq.render(0)  # warm-up: atlas, BVH build
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(frames):
        seq.render(i)
    total = time.perf_counter() - t0
    cpu = (time.process_time() - c0) / frames
    # Ray cast alone, same rays, for the breakdown.
    r = seq.renderer
    rs = r._static if r._static is not None else r._build(0.0)
    T = seq.T_world_cam[0]
    rays = np.empty((width * height, 6), np.float32)
    rays[:, :3] = T[:3, 3]
    rays[:, 3:] = r._dirs_cam @ T[:3, :3].T.astype(np.float32)
    rays_t = o3d.core.Tensor.from_numpy(rays)
    t1 = time.perf_counter()
    for _ in range(frames):
        rs.cast_rays(rays_t)
    cast = (time.perf_counter() - t1) / frames
    per = total / frames
    # CPU time is the number to compare on a shared machine: wall time there includes waiting
    # for other processes' turns on the two cores.
    print(f'{scene:9s} dyn={dynamic} {width}x{height}: {1 / per:6.1f} frames/s wall, '
          f'{1 / cpu:6.1f} frames/s of CPU time ({per * 1e3:5.1f} ms wall/frame, {cpu * 1e3:5.1f} ms CPU; '
          f'ray cast alone {cast * 1e3:5.1f} ms wall; {len(seq.scene.triangles)} static triangles)')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=100)
    p.add_argument('--size', default='320x256')
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split('x'))
    print(f'cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f} open3d={o3d.__version__}')
    for scene, dyn in [('indoor', 0), ('corridor', 0), ('street', 0), ('stillbox', 0),
                       ('indoor', 3), ('street', 3)]:
        bench(scene, a.frames, w, h, dyn)


if __name__ == '__main__':
    main()
