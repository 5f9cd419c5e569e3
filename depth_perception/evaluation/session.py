"""Collect one run's predictions and turn them into metrics (shared by offline and live modes).

The caller feeds evaluated frames in order: the image (for plots), the GT depth, the
predicted depth in metres at any resolution, and the estimated camera pose T_world_cam in
the optical frame (first camera = world). `finish()` computes depth and trajectory metrics.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .bag_index import BagIndex
from .config import EvalConfig
from .depth_eval import DepthEvaluator
from .depth_metrics import get_preset, resize_to
from .exports import save_depth_npy
from .trajectory import TrajectoryError, evaluate_trajectory

log = logging.getLogger(__name__)


@dataclass
class Sample:
    """A frame kept for the side-by-side figure."""

    stamp_ns: int
    rgb: np.ndarray
    gt_m: np.ndarray
    pred_m: np.ndarray      # scaled like the metrics and resized to the GT size


@dataclass
class EvalSession:
    cfg: EvalConfig
    index: BagIndex
    n_frames: int
    depth: DepthEvaluator = field(init=False)
    est_stamps_ns: list[int] = field(default_factory=list)
    est_T_world_cam: list[np.ndarray] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {
        'evaluated': 0, 'with_gt_depth': 0, 'without_gt_depth': 0, 'without_motion': 0})

    def __post_init__(self):
        preset = get_preset(self.cfg.preset, self.cfg.min_depth_m, self.cfg.max_depth_m)
        self.depth = DepthEvaluator(preset, self.cfg.scaling, spill_dir=self.cfg.out_dir)
        with_gt = sorted(i for i, _ in self.index.depth_assoc.pairs if i < self.n_frames) \
            if self.index.depth_assoc else []
        k = min(self.cfg.n_sample_frames, len(with_gt)) if self.cfg.plots else 0
        self._sample_at = {with_gt[int(j)] for j in np.linspace(0, len(with_gt) - 1, k).round()} if k else set()

    def save_depth(self, stamp_ns: int, pred_depth_m: np.ndarray) -> None:
        """--save-depth: the prediction as OUT/depth/<stamp>.npy (float32 metres, NaN invalid)."""
        if self.cfg.save_depth and not self.cfg.export_frames:   # the exporter writes them then
            save_depth_npy(self.cfg.out_dir, stamp_ns, pred_depth_m)

    def add(self, image_index: int, stamp_ns: int, rgb: np.ndarray | None, gt_depth_m: np.ndarray | None,
            pred_depth_m: np.ndarray, T_world_cam: np.ndarray | None, dynamic_mask=None) -> None:
        c = self.counts
        c['evaluated'] += 1
        self.save_depth(stamp_ns, pred_depth_m)
        if T_world_cam is not None:
            self.est_stamps_ns.append(int(stamp_ns))
            self.est_T_world_cam.append(np.asarray(T_world_cam, dtype=np.float64))
        else:
            c['without_motion'] += 1
        if gt_depth_m is None:
            c['without_gt_depth'] += 1
            return
        c['with_gt_depth'] += 1
        rec = self.depth.add(stamp_ns, gt_depth_m, pred_depth_m, dynamic_mask)
        if rec is not None and image_index in self._sample_at and rgb is not None:
            ratio = rec.ratio if self.cfg.scaling != 'none' else 1.0
            pred = resize_to(pred_depth_m, gt_depth_m.shape) * np.float32(ratio)
            self.samples.append(Sample(int(stamp_ns), rgb, gt_depth_m, pred))

    def finish(self) -> dict:
        depth = self.depth.finish()
        if self.cfg.scaling == 'sequence' and depth.sequence_ratio is not None:
            # samples were scaled per image before the sequence ratio was known
            for s in self.samples:
                rec = next(f for f in depth.frames if f.stamp_ns == s.stamp_ns)
                s.pred_m = s.pred_m / np.float32(rec.ratio) * np.float32(depth.sequence_ratio)
        out = {'depth': depth.to_json() if self.index.depth_assoc else {'skipped': 'no GT depth topic'}}
        if not self.index.gt_T_world_cam:
            out['trajectory'] = {'skipped': 'no ground-truth pose topic or --gt-tf pair'}
        elif len(self.est_T_world_cam) < 3:
            out['trajectory'] = {'skipped': f'only {len(self.est_T_world_cam)} estimated poses '
                                            f'(the method gives no motion, or too few frames)'}
        else:
            try:
                out['trajectory'] = evaluate_trajectory(
                    self.index.gt_pose_stamps_ns, self.index.gt_T_world_cam, self.est_stamps_ns,
                    self.est_T_world_cam, self.cfg.alignment, self.cfg.tolerance_ns)
            except TrajectoryError as exc:
                # Depth results are still worth reporting; the reason goes into the report.
                log.error('trajectory metrics: %s', exc)
                out['trajectory'] = {'error': str(exc)}
        out['frames'] = dict(self.counts)
        out['bad_messages'] = self.index.bad.to_json()
        return out
