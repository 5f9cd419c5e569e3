"""What a number is worth: the trivial predictions every metric is reported beside.

Depth
- constant depth: one value per image, scaled like SC-Depth's per-image median scaling, i.e.
  the median of the image's own ground truth (an oracle scale, which only helps it). A model
  whose abs_rel is not clearly below this has learned no more than "the room is ~2 m away".
- Spearman rank correlation per image between prediction and ground truth over the
  evaluated pixels: scale-free, 1 = same depth order, 0 = no relation. A constant has no
  order at all (undefined, reported as such).

Ego-motion (poses T_world_cam with world = the first camera, like an estimate)
- zero motion: the camera never moves (standing still);
- constant velocity: a straight line at the ground truth's mean velocity (first to last
  position, in the first camera's frame) with no rotation. Under sim3 its direction and
  speed are fitted anyway; it is what "any straight line" achieves.
Both are scored with the same alignment and metrics as the model (trajectory.py).
"""
from __future__ import annotations

import numpy as np

from .depth_metrics import DepthPreset, FramePixels, frame_errors


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties get the mean of the ranks they span (as Spearman requires)."""
    x = np.asarray(x).ravel()
    order = np.argsort(x, kind='mergesort')
    sorted_x = x[order]
    # start of each run of equal values, and its mean rank
    new = np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]])
    run_id = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [x.size]])
    mean_rank = (starts + ends + 1) / 2.0          # mean of ranks start+1 .. end
    out = np.empty(x.size, dtype=np.float64)
    out[order] = mean_rank[run_id]
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho of two equal-length samples; None when either has no variation."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f'spearman needs equal lengths, got {a.shape} and {b.shape}')
    if a.size < 2:
        return None
    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = float(np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))
    return None if den == 0 else float((ra * rb).sum() / den)


def constant_depth_errors(pix: FramePixels, preset: DepthPreset) -> dict:
    """Metrics of a constant prediction on the model's evaluated pixels, median scaled."""
    const = FramePixels(pix.gt_m, np.ones_like(pix.pred_m), pix.dynamic, pix.n_gt_valid, 0)
    return frame_errors(const, const.median_ratio, preset)


def zero_motion_path(n: int) -> list[np.ndarray]:
    return [np.eye(4) for _ in range(n)]


def constant_velocity_path(stamps_ns, gt_T) -> list[np.ndarray]:
    """Straight line at the GT's mean velocity, expressed in the first GT camera's frame."""
    t = np.asarray(stamps_ns, dtype=np.float64)
    g0, g1 = gt_T[0], gt_T[-1]
    span = t[-1] - t[0]
    v = g0[:3, :3].T @ (g1[:3, 3] - g0[:3, 3]) / span if span > 0 else np.zeros(3)
    out = []
    for ti in t:
        T = np.eye(4)
        T[:3, 3] = v * (ti - t[0])
        out.append(T)
    return out
