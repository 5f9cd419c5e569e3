"""Accumulate per-image depth metrics over a sequence, for each scaling mode.

'median' and 'none' are computed as frames arrive. 'sequence' needs one ratio for the whole
run before any metric, so each frame's valid pixel pairs are spilled to a temporary .npy file
(8 bytes per valid pixel) and evaluated in `finish()`; memory stays flat on long bags.

Every image is also scored for the baselines (baselines.py): a constant prediction with
per-image median scaling, and the Spearman rank correlation of prediction and GT.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .baselines import constant_depth_errors, spearman
from .depth_metrics import (SCALINGS, DepthPreset, FramePixels, frame_errors, mean_errors,
                            valid_pixels)

log = logging.getLogger(__name__)


@dataclass
class FrameRecord:
    stamp_ns: int
    ratio: float
    n_valid: int
    n_pred_invalid: int
    errors: dict | None = None
    const_errors: dict | None = None      # the constant baseline on the same pixels
    const_ratio: float = float('nan')     # its median(gt)/1: the GT's own median depth
    spearman: float | None = None


@dataclass
class DepthSummary:
    preset: str
    scaling: str
    min_depth_m: float
    max_depth_m: float
    frames: list[FrameRecord] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    regions: dict[str, dict | None] = field(default_factory=dict)
    sequence_ratio: float | None = None

    def to_json(self) -> dict:
        ratios = np.array([f.ratio for f in self.frames]) if self.frames else np.zeros(0)
        const_ratios = np.array([f.const_ratio for f in self.frames]) if self.frames else np.zeros(0)
        rhos = [f.spearman for f in self.frames if f.spearman is not None]
        return {
            'preset': self.preset, 'scaling': self.scaling,
            'min_depth_m': self.min_depth_m, 'max_depth_m': self.max_depth_m,
            'frames_evaluated': len(self.frames), 'frames_skipped': dict(self.skipped),
            'metrics': self.regions.get('all'),
            'metrics_static': self.regions.get('static'),
            'metrics_dynamic': self.regions.get('dynamic'),
            # median(gt)/median(pred): its spread says how stable the scale is (monodepth2's std).
            'median_ratio': None if not len(ratios) else {
                'mean': float(ratios.mean()), 'std': float(ratios.std()),
                'median': float(np.median(ratios))},
            'sequence_ratio': self.sequence_ratio,
            'baseline_constant': {
                'what': 'one depth per image, per-image median scaled (oracle scale)',
                'metrics': self.regions.get('constant_all'),
                'metrics_static': self.regions.get('constant_static'),
                'metrics_dynamic': self.regions.get('constant_dynamic')},
            'spearman': None if not rhos else {
                'median': float(np.median(rhos)), 'mean': float(np.mean(rhos)), 'frames': len(rhos),
                'what': 'rank correlation of prediction and GT per image (1 = same depth order, '
                        '0 = none; undefined for a constant)'},
            # Relative spread of the per-image scale ratios; the constant predictor's spread
            # is that of the GT's own median depth, the floor a "stable scale" must beat.
            'scale_stability': None if not len(ratios) else {
                'model_cv': _cv(ratios), 'constant_cv': _cv(const_ratios)},
            'per_frame': [{'stamp_ns': f.stamp_ns, 'n_valid': f.n_valid, 'ratio': f.ratio,
                           'spearman': f.spearman,
                           'abs_rel_constant': (f.const_errors or {}).get('all', {}).get('abs_rel'),
                           **(f.errors['all'] if f.errors else {})} for f in self.frames],
        }


def _cv(x: np.ndarray) -> float | None:
    m = float(np.mean(x))
    return float(np.std(x) / m) if m > 0 else None


class DepthEvaluator:
    def __init__(self, preset: DepthPreset, scaling: str = 'median', spill_dir: str | Path | None = None):
        if scaling not in SCALINGS:
            raise ValueError(f'unknown scaling {scaling!r}; choose one of {SCALINGS}')
        self.preset = preset
        self.scaling = scaling
        self.summary = DepthSummary(preset.name, scaling, preset.min_depth_m, preset.max_depth_m)
        self._tmp = None
        if scaling == 'sequence':
            if spill_dir is not None:   # the report folder may not exist yet
                Path(spill_dir).mkdir(parents=True, exist_ok=True)
            self._tmp = tempfile.TemporaryDirectory(prefix='dp_eval_', dir=spill_dir)

    def skip(self, reason: str) -> None:
        self.summary.skipped[reason] = self.summary.skipped.get(reason, 0) + 1

    def add(self, stamp_ns: int, gt_m: np.ndarray, pred_m: np.ndarray,
            dynamic_mask: np.ndarray | None = None) -> FrameRecord | None:
        """Evaluate one image; returns its record (errors filled later for 'sequence')."""
        pix = valid_pixels(gt_m, pred_m, self.preset, dynamic_mask)
        if pix.gt_m.size == 0:
            self.skip('no valid ground-truth pixels in range/crop' if pix.n_gt_valid == 0
                      else 'prediction invalid on every valid ground-truth pixel')
            return None
        rec = FrameRecord(int(stamp_ns), pix.median_ratio, int(pix.gt_m.size), pix.n_pred_invalid)
        rec.const_errors = constant_depth_errors(pix, self.preset)
        rec.const_ratio = float(np.median(pix.gt_m))
        rec.spearman = spearman(pix.gt_m, pix.pred_m)
        if self.scaling == 'sequence':
            path = Path(self._tmp.name) / f'{len(self.summary.frames):08d}.npz'
            dyn = pix.dynamic if pix.dynamic is not None else np.zeros(0, bool)
            np.savez(path, gt=pix.gt_m, pred=pix.pred_m, dyn=dyn, has_dyn=pix.dynamic is not None)
        else:
            rec.errors = frame_errors(pix, rec.ratio if self.scaling == 'median' else 1.0, self.preset)
        self.summary.frames.append(rec)
        return rec

    def finish(self) -> DepthSummary:
        s = self.summary
        if self.scaling == 'sequence' and s.frames:
            s.sequence_ratio = float(np.median([f.ratio for f in s.frames]))
            for i, rec in enumerate(s.frames):
                with np.load(Path(self._tmp.name) / f'{i:08d}.npz') as z:
                    pix = FramePixels(z['gt'], z['pred'], z['dyn'] if bool(z['has_dyn']) else None,
                                      rec.n_valid, rec.n_pred_invalid)
                rec.errors = frame_errors(pix, s.sequence_ratio, self.preset)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        for region in ('all', 'static', 'dynamic'):
            per = [f.errors[region] for f in s.frames if f.errors and f.errors.get(region)]
            s.regions[region] = mean_errors(per)
            per = [f.const_errors[region] for f in s.frames if f.const_errors and f.const_errors.get(region)]
            s.regions[f'constant_{region}'] = mean_errors(per)
        return s
