"""What `refine_rotation` costs a DepthNet pair, beside the packaged model's forward on it.

    python bench/rotation_refinement.py [--size 640x480] [--repeats 10]

One 7-Scenes-sized pair (engine-rendered room, f ~585 px) with a 1 deg rotation error: the
refinement's time (grey at <= 320 px, two dense-flow passes, the fit) and the error it leaves,
and in the same run the eager fp32 forward of the packaged 64 px DepthNet on that pair at
`network_focal_px` 64. One torch and one OpenCV thread.
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch

from depth_perception.estimators.depthnet import DepthNetEstimator
from depth_perception.estimators.base import CameraFrame
from depth_perception.rotation_refinement import grey_for_refinement, refine_rotation
from depth_perception.stabilization import rotation_angle_deg
from depth_perception.synthetic import SequenceConfig, make_sequence


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='640x480')
    ap.add_argument('--repeats', type=int, default=10)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split('x'))
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    seq = make_sequence(SequenceConfig(scene='indoor', frames=4, width=w, height=h, hfov_deg=57.4, fps=30,
                                       speed_mps=0.15, seed=3))
    a, b = seq.render(0), seq.render(3)
    Tp, Tc = seq.T_world_cam[0], seq.T_world_cam[3]
    R_true = Tp[:3, :3].T @ Tc[:3, :3]
    t_dir = Tc[:3, :3].T @ (Tc[:3, 3] - Tp[:3, 3])
    R_given = R_true @ cv2.Rodrigues(np.radians([0.0, 1.0, 0.0]).reshape(3, 1))[0]
    times, err = [], 0.0
    for i in range(args.repeats + 2):
        t0 = time.perf_counter()
        later, K = grey_for_refinement(b.rgb, seq.K)
        earlier, _ = grey_for_refinement(a.rgb, seq.K)
        r = refine_rotation(later, earlier, K, R_given, t_dir)
        if i >= 2:
            times.append(time.perf_counter() - t0)
        err = rotation_angle_deg(r.R_prev_curr.T @ R_true)
    est = DepthNetEstimator(checkpoint='', device='cpu', frame_shifts=(1,), network_focal_px=64,
                            min_displacement_m=0.0)
    rgb, _ = est.network_image(CameraFrame(b.rgb, seq.K, 0))
    pair = [(est.network_image(CameraFrame(a.rgb, seq.K, 0))[0], rgb)]
    fwd = []
    for i in range(args.repeats + 2):
        t0 = time.perf_counter()
        est.runner.predict(pair)
        if i >= 2:
            fwd.append(time.perf_counter() - t0)
    ref_ms, fwd_ms = 1e3 * np.median(times), 1e3 * np.median(fwd)
    print(f'{w}x{h} pair, 1 deg error: refine_rotation {ref_ms:.1f} ms (median of {args.repeats}), '
          f'error left {err:.3f} deg')
    print(f'packaged DepthNet forward on it at f = 64 px ({rgb.shape[1]}x{rgb.shape[0]}), eager fp32: '
          f'{fwd_ms:.1f} ms; refinement = {ref_ms / fwd_ms:.1f}x the forward')


if __name__ == '__main__':
    main()
