"""Report figures (matplotlib, headless Agg): trajectory top view, per-frame errors, and
side-by-side RGB | GT | prediction | abs-rel error map for a few sample frames."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault('MPLBACKEND', 'Agg')
import matplotlib  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from .session import Sample  # noqa: E402


def _top_view_axes(xyz: np.ndarray) -> tuple[int, int]:
    """The two world axes along which the GT moves most (the 'ground plane' of the view)."""
    spread = xyz.max(0) - xyz.min(0)
    a, b = sorted(np.argsort(spread)[-2:])
    return int(a), int(b)


def plot_trajectory(traj: dict, path: Path) -> Path:
    gt = np.asarray(traj['_plot']['gt_xyz'])
    est = np.asarray(traj['_plot']['est_xyz'])
    a, b = _top_view_axes(gt)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot(gt[:, a], gt[:, b], 'k-', label='ground truth')
    ax.plot(est[:, a], est[:, b], 'r-', label=f'estimate ({traj["alignment"]}-aligned)')
    ax.plot(gt[0, a], gt[0, b], 'go', label='start')
    ax.set_xlabel('xyz'[a] + ' [m]')
    ax.set_ylabel('xyz'[b] + ' [m]')
    ax.set_aspect('equal', 'datalim')
    ax.set_title(f'ATE RMSE {traj["ate_m"]["rmse"]:.4f} m')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_per_frame(depth: dict, traj: dict | None, path: Path) -> Path:
    rows = [r for r in (depth.get('per_frame') or []) if 'abs_rel' in r]
    has_traj = bool(traj and 'per_frame' in traj)
    fig, axes = plt.subplots(2 if has_traj else 1, 1, figsize=(8, 5 if has_traj else 3), squeeze=False)
    t0 = None
    if rows:
        t = np.array([r['stamp_ns'] for r in rows]) * 1e-9
        t0 = t[0]
        axes[0, 0].plot(t - t0, [r['abs_rel'] for r in rows], 'b.-')
    axes[0, 0].set_ylabel('abs_rel')
    axes[0, 0].set_title('per-frame depth error')
    if has_traj:
        t = np.array(traj['per_frame']['stamp_ns']) * 1e-9
        t0 = t[0] if t0 is None else t0
        axes[1, 0].plot(t - t0, traj['per_frame']['ate_m'], 'r.-')
        axes[1, 0].set_ylabel('ATE [m]')
    axes[-1, 0].set_xlabel('time [s]')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_sample(sample: Sample, path: Path, max_depth_m: float) -> Path:
    gt, pred = sample.gt_m, sample.pred_m
    valid = np.isfinite(gt) & (gt > 0)
    lo, hi = (np.percentile(gt[valid], [2, 98]) if valid.any() else (0.0, max_depth_m))
    err = np.full(gt.shape, np.nan, np.float32)
    err[valid] = np.abs(gt[valid] - pred[valid]) / gt[valid]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    axes[0].imshow(sample.rgb)
    axes[0].set_title('RGB')
    for ax, img, title in ((axes[1], gt, 'ground truth [m]'), (axes[2], pred, 'prediction [m] (scaled)')):
        im = ax.imshow(img, cmap='turbo_r', vmin=lo, vmax=hi)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.035)
    im = axes[3].imshow(err, cmap='magma', vmin=0, vmax=0.5)
    axes[3].set_title('abs rel error')
    fig.colorbar(im, ax=axes[3], fraction=0.035)
    for ax in axes:
        ax.axis('off')
    fig.suptitle(f't = {sample.stamp_ns / 1e9:.3f} s')
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
