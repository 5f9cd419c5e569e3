"""Boosted high-resolution depth on ROS 2: the shared depth adapter plus the boosting pipeline.

The base is a parameter, and what the node publishes says what the depth is:
- base midas / leres: RELATIVE depth (unknown scale and shift; MiDaS inverse depth, larger =
  nearer; LeReS depth, larger = farther) on `depth/relative` (32FC1, NOT metres). No
  `depth/image` publisher exists at all, and no point cloud (it would need metres).
- base scdepth: the boosted result fitted back onto SC-Depth's own estimate of the frame,
  in metres up to SC-Depth's one global scale x `depth_scale`, on `depth/image` (REP 118), as
  scdepth_node would publish it; cloud and RGB-D outputs work as there.
Also depth/camera_info, depth/colored (near = warm for either kind), /tf_static and
/diagnostics with the boosting counters (patches selected / used / skipped by the budget).

Boosting is slow: the adapter's worker boosts only the newest frame (latest-frame slot, never
a queue) and `max_patches` / `budget_s` bound the patch work of each frame (Final mode).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import boosted_params as B
from .. import params as P
from ..visualization import colorize_depth
from .depth_node import DepthNode
from .run import exit_with

RELATIVE_TOPIC = 'depth/relative'
LIVE_FIELDS = ('mode', 'max_res', 'max_patches', 'budget_s', 'batch_size', 'depth_scale')


class BoostedDepthNode(DepthNode):
    default_name = B.NODE_NAME
    specs = B.BOOSTED_NODE_PARAMS
    rules = B.BOOSTED_RULES

    def __init__(self, node_name: str = B.NODE_NAME, **kwargs):
        self._totals = {'patches_used_total': 0, 'patches_skipped_total': 0}
        super().__init__(node_name, **kwargs)

    def make_estimator(self):
        from ..estimators.boosted import BoostedConfig, BoostedEstimator
        c = self.params
        if not c['merge_checkpoint']:
            raise ValueError('parameter merge_checkpoint: not set; boosting needs the merge network '
                             '(pix2pix latest_net_G.pth), none ships with the package')
        if c['base'] in B.RELATIVE_BASES and not c['checkpoint']:
            want = 'MiDaS v2 model.pt' if c['base'] == 'midas' else 'LeReS res101.pth'
            raise ValueError(f"parameter checkpoint: not set; base {c['base']} needs its weights "
                             f'({want}), none ships with the package')
        P.check_startup_resources(c.values, ('checkpoint', 'merge_checkpoint'))
        # Before the adapter creates its publishers: relative depth never gets depth/image.
        self.depth_topic = RELATIVE_TOPIC if B.is_relative(c['base']) else 'depth/image'
        # Checkpoint readers name the file in their one-line errors.
        return BoostedEstimator(BoostedConfig(**{k: c[k] for k in (
            'base', 'checkpoint', 'merge_checkpoint', 'receptive_field', 'merge_size', 'mode', 'max_res',
            'max_patches', 'budget_s', 'batch_size', 'depth_scale', 'device', 'num_threads', 'backend')}))

    def apply_params(self, changes: dict[str, Any]) -> None:
        for name in LIVE_FIELDS:
            if name in changes:
                setattr(self.estimator.config, name, changes[name])

    def extra_outputs(self, frame, result) -> list:
        # Called once per published frame: count the budget's effect here.
        last = self.estimator.last
        self._totals['patches_used_total'] += last.patches_used
        self._totals['patches_skipped_total'] += last.patches_skipped
        return []

    def colorize(self, depth: np.ndarray) -> np.ndarray:
        if not self.estimator.relative:
            return colorize_depth(depth)
        # Relative values: spread the robust range over the colour map, near = warm as for
        # metres. MiDaS maps grow towards the camera, LeReS maps away from it.
        d = np.asarray(depth, np.float32)
        finite = d[np.isfinite(d)]
        if finite.size == 0:
            return np.zeros(d.shape + (3,), np.uint8)
        lo, hi = np.percentile(finite, (2.0, 98.0))
        span = max(float(hi - lo), 1e-12)
        farness = (hi - d) / span if self.estimator.larger_is_nearer else (d - lo) / span
        return colorize_depth(1.0 + np.clip(farness, 0.0, 1.0), near_m=1.0, far_m=2.0)

    def extra_diagnostics(self) -> dict:
        last = self.estimator.last     # the latest frame (one object, replaced per frame)
        return {'boost_resolution_px': last.resolution_px,
                'patches_selected': last.patches_selected,
                'patches_used': last.patches_used,
                'patches_skipped_by_budget': last.patches_skipped,
                **self._totals}


def main(args=None) -> None:
    exit_with(BoostedDepthNode, args)


if __name__ == '__main__':
    main()
