"""Do a sequence's poses explain its images' motion? (what DepthNet's metric depth rests on)

    python -m depth_perception_training.depthnet.pose_check --data 7SCENES [--shifts 3,9,15]

For pairs (i - k, i) of a 7-Scenes-layout folder: de-rotate the earlier frame with the given
rotation, measure dense optical flow (OpenCV Farneback) from frame i to it, and fit the flow
with the ground-truth depth of frame i as the first-order motion field of a translation t
plus a residual rotation w (least squares over textured pixels, worst residuals trimmed).
With exact poses w = 0 and t = the given translation. Printed per shift: the median residual
rotation (deg), |t_fit| / |t_given| and the cosine between them. DepthNet reads parallax
after de-rotation, so a residual rotation comparable to the parallax is read as depth.
"""
from __future__ import annotations

import argparse
import json
import sys

import cv2
import numpy as np

from depth_perception.estimators.depthnet import DepthNetEstimator
from depth_perception.image_io import read_rgb
from depth_perception.rotation_refinement import motion_field, textured_pixels, trimmed_lstsq
from depth_perception.stabilization import derotate, rotation_angle_deg

from .evaluate import read_gt_depth_m, read_sevenscenes


def _fit(later_rgb: np.ndarray, earlier_rgb: np.ndarray, K: np.ndarray, R_prev_curr: np.ndarray,
         depth_later_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, w): the translation and residual rotation (rad, later frame) that explain the flow
    of the pair de-rotated with R_prev_curr, given the later frame's depth."""
    warped, valid = derotate(earlier_rgb, K, R_prev_curr)
    g0 = cv2.cvtColor(later_rgb, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(g0, cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY), None,
                                        0.5, 4, 21, 5, 7, 1.5, 0)
    h, w = g0.shape
    fx, fy = K[0, 0], K[1, 1]
    x, y, bx, by = motion_field(K, (h, w))
    ok = np.isfinite(depth_later_m) & valid & textured_pixels(g0)
    iz, x, y = 1.0 / depth_later_m[ok], x[ok], y[ok]
    zero = np.zeros_like(iz)
    # flow = parallax (t / Z) + rotation w, first order
    A = np.concatenate([np.concatenate([np.stack([fx * iz, zero, -fx * x * iz], 1), bx[ok]], 1),
                        np.concatenate([np.stack([zero, fy * iz, -fy * y * iz], 1), by[ok]], 1)])
    b = np.concatenate([flow[..., 0][ok], flow[..., 1][ok]])
    sol = trimmed_lstsq(A, b, rounds=4)
    return sol[:3], sol[3:]


def fit_motion(later_rgb: np.ndarray, earlier_rgb: np.ndarray, K: np.ndarray, T_prev_curr: np.ndarray,
               depth_later_m: np.ndarray) -> dict:
    """Residual rotation and translation that explain the flow of one de-rotated pair."""
    R, t_given = T_prev_curr[:3, :3], T_prev_curr[:3, :3].T @ T_prev_curr[:3, 3]   # t in the later frame
    t_fit, w_fit = _fit(later_rgb, earlier_rgb, K, R, depth_later_m)
    n_given = float(np.linalg.norm(t_given))
    return {'residual_rotation_deg': float(np.degrees(np.linalg.norm(w_fit))),
            't_ratio': float(np.linalg.norm(t_fit) / n_given) if n_given > 0 else float('nan'),
            't_cos': float(t_fit @ t_given / (np.linalg.norm(t_fit) * n_given)) if n_given > 0 else float('nan')}


def flow_corrected_rotation(later_rgb: np.ndarray, earlier_rgb: np.ndarray, K: np.ndarray,
                            R_prev_curr: np.ndarray, depth_later_m: np.ndarray, rounds: int = 2) -> np.ndarray:
    """R_prev_curr with the residual rotation that the flow shows removed (twice: the fit is
    first order). Needs the later frame's true depth: an oracle for evaluation, not a method."""
    R = np.asarray(R_prev_curr, np.float64)
    for _ in range(rounds):
        _, w = _fit(later_rgb, earlier_rgb, K, R, depth_later_m)
        R = cv2.Rodrigues(w.reshape(3, 1))[0] @ R
    return R


class OracleRotationEstimator(DepthNetEstimator):
    """DepthNet with each pair's rotation corrected by `flow_corrected_rotation` from the
    ground-truth depth: what the model gives once the poses' rotation error is gone.

    frames: stamp -> (rgb, depth_m) at the input resolution, whose intrinsics are K.
    """

    def __init__(self, frames: dict, K: np.ndarray, **overrides):
        super().__init__(refine_rotation=True, **overrides)
        self.frames, self.K = frames, K

    def _refine(self, prev, curr, shift, R_prev_curr):
        later_rgb, depth_m = self.frames[curr.stamp_ns]
        R = flow_corrected_rotation(later_rgb, self.frames[prev.stamp_ns][0], self.K, R_prev_curr, depth_m)
        self.counters[f'shift{shift}_rotation_oracle'] += 1
        return R, rotation_angle_deg(R @ R_prev_curr.T)


def check_sevenscenes(data_dir, shifts=(3, 9, 15), step: int = 3) -> dict:
    K, frames = read_sevenscenes(data_dir)
    rgb = [read_rgb(f['color']) for f in frames]
    report = {'data': str(data_dir), 'shifts': {}}
    for k in shifts:
        rows = []
        for i in range(k, len(frames), step):
            T = np.linalg.inv(frames[i - k]['T_world_cam']) @ frames[i]['T_world_cam']
            rows.append(fit_motion(rgb[i], rgb[i - k], K, T, read_gt_depth_m(frames[i]['depth'])))
        if not rows:
            raise ValueError(f'{data_dir}: fewer than {k + 1} frames')
        report['shifts'][str(k)] = {'pairs': len(rows), **{key: float(np.median([r[key] for r in rows]))
                                                            for key in rows[0]}}
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', required=True, help='7-Scenes layout folder (frame-*.color/depth/pose)')
    parser.add_argument('--shifts', default='3,9,15')
    args = parser.parse_args(argv)
    try:
        report = check_sevenscenes(args.data, tuple(int(s) for s in args.shifts.split(',')))
    except (ValueError, FileNotFoundError) as exc:
        print(f'pose_check: error: {exc}', file=sys.stderr)
        return 2
    for k, r in report['shifts'].items():
        print(f"shift {k:>3}: residual rotation {r['residual_rotation_deg']:.2f} deg, "
              f"|t_fit|/|t| {r['t_ratio']:.2f}, cos(t_fit, t) {r['t_cos']:.2f}  ({r['pairs']} pairs, medians)")
    print(json.dumps(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
