"""Boosted high-resolution depth (boosting/) behind the `DepthEstimator` interface.

What `estimate` returns depends on the base (`relative`):
- midas / leres: `depth_m` holds the boosted RELATIVE map exactly as the offline pipeline
  (`depth-perception boost`) computes it: unknown scale and shift, NOT metres (MiDaS:
  inverse depth, larger = nearer; LeReS: depth, larger = farther). Consumers must look at
  `relative` before treating it as depth (the ROS node publishes it on depth/relative).
- scdepth: the boosted disparity fitted (scale and shift) onto SC-Depth's own estimate of the
  same image (`pipeline.map_onto_base`): metres up to SC-Depth's one global scale, times
  `depth_scale`, NaN where the fit gives no positive disparity.

Each frame is boosted on its own (no stream state); `budget` bounds the patches of Final.
`last` describes the latest frame (patches selected / used / skipped by the budget).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..boosted_params import BASES, BOOST_BACKENDS, MODES, RELATIVE_BASES
from .base import CameraFrame, DepthEstimator, DepthResult


@dataclass
class BoostedConfig:
    base: str = 'midas'
    checkpoint: str = ''            # base weights ('' only for scdepth: the packaged model)
    merge_checkpoint: str = ''      # pix2pix latest_net_G.pth (required)
    receptive_field: int = 0        # px; 0 = the base's own
    mode: str = 'Final'
    max_res: int = 0                # px cap on Final's target; 0 = none
    merge_size: int = 0             # px the merge net runs at; 0 = the net's own (2**num_downs)
    max_patches: int = 0            # 0 = no limit
    budget_s: float = 0.0           # 0 = no limit
    batch_size: int = 1
    depth_scale: float = 1.0        # scdepth base: metres per SC-Depth unit
    device: str = 'auto'
    num_threads: int = 0
    backend: str = 'eager'          # eager | onnxruntime (MiDaS base and merge net; exported in memory)

    def __post_init__(self):
        if self.backend not in BOOST_BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BOOST_BACKENDS)}, got {self.backend!r}")
        if self.base not in BASES:
            raise ValueError(f'base must be one of {", ".join(BASES)}, got {self.base!r}')
        if self.mode not in MODES:
            raise ValueError(f'mode must be one of {", ".join(MODES)}, got {self.mode!r}')


@dataclass
class FrameReport:
    """What boosting did for one frame (for diagnostics)."""
    resolution_px: int = 0
    patches_selected: int = 0       # Final: patches the selection produced
    patches_used: int = 0
    patches_skipped: int = 0        # left out by max_patches / budget_s
    seconds: dict = field(default_factory=dict)


class BoostedEstimator(DepthEstimator):
    name = 'boosted'

    def __init__(self, config: BoostedConfig | None = None, **overrides):
        import torch

        from ..boosting import bases, weights
        from ..boosting.merge import merge_size_px
        from .scdepth import pick_device
        cfg = config or BoostedConfig(**overrides)
        self.config = cfg
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        self.device = pick_device(cfg.device)
        if not cfg.merge_checkpoint:
            raise ValueError('merge_checkpoint: not set; boosting needs the merge network '
                             '(pix2pix latest_net_G.pth), none ships with the package')
        self.base_estimator = None
        if cfg.base in RELATIVE_BASES:
            if not cfg.checkpoint:
                want = 'MiDaS v2 model.pt' if cfg.base == 'midas' else 'LeReS res101.pth'
                raise ValueError(f'checkpoint: not set; the {cfg.base} base needs its weights ({want})')
            reader, cls = ((weights.read_midas, bases.MidasBase) if cfg.base == 'midas'
                           else (weights.read_leres, bases.LeresBase))
            self.base = cls(reader(Path(cfg.checkpoint).expanduser()), self.device)
            if cfg.receptive_field:
                self.base.receptive_field = int(cfg.receptive_field)
        else:
            from . import create_estimator
            self.base_estimator = create_estimator(
                'scdepth', checkpoint=str(Path(cfg.checkpoint).expanduser()) if cfg.checkpoint else '',
                device=str(self.device), estimate_motion=False, depth_scale=cfg.depth_scale,
                num_threads=cfg.num_threads)
            self.base = bases.SCDepthBase(self.base_estimator, receptive_field=cfg.receptive_field or None)
        self.net = weights.read_merge_net(Path(cfg.merge_checkpoint).expanduser()).to(self.device)
        self.merge_size_px = merge_size_px(self.net, cfg.merge_size)
        if cfg.backend == 'onnxruntime':
            from ..boosting.ort import use_onnxruntime
            self.net = use_onnxruntime(self.base, self.net, self.device, cfg.num_threads)
        self.last = FrameReport()
        self.weights = (cfg.checkpoint or 'packaged SC-Depth model', cfg.merge_checkpoint)

    @property
    def relative(self) -> bool:
        """True: `depth_m` is a relative map (unknown scale and shift), not metres."""
        return self.config.base in RELATIVE_BASES

    @property
    def larger_is_nearer(self) -> bool:
        """Orientation of the relative map (MiDaS: inverse depth; LeReS: depth)."""
        return self.config.base != 'leres'

    def boost_config(self):
        from ..boosting.pipeline import BoostConfig
        c = self.config
        return BoostConfig(mode=c.mode, max_res=c.max_res or math.inf, batch_size=c.batch_size,
                           pix2pixsize=self.merge_size_px)

    def estimate(self, frame: CameraFrame) -> DepthResult:
        import torch

        from ..boosting.budget import PatchBudget
        from ..boosting.pipeline import boost, map_onto_base
        frame.validate()
        c = self.config
        budget = PatchBudget(c.max_patches, c.budget_s)    # the clock starts with the frame
        with torch.inference_mode():
            result = boost(frame.rgb, self.base, self.net, self.boost_config(), budget=budget)
        used = len(result.patches)
        self.last = FrameReport(result.resolution, used + result.patches_skipped, used,
                                result.patches_skipped, dict(result.timings_s))
        relative = result.depth.astype(np.float32)
        if self.base_estimator is None:
            return DepthResult(depth_m=relative, model_depth=relative, stamp_ns=frame.stamp_ns)
        self.base_estimator.config.depth_scale = c.depth_scale
        self.base_estimator.reset()
        base_depth = self.base_estimator.estimate(CameraFrame(frame.rgb)).depth_m
        return DepthResult(depth_m=map_onto_base(relative, base_depth), model_depth=relative,
                           stamp_ns=frame.stamp_ns)

    def describe(self) -> str:
        c = self.config
        what = ('RELATIVE depth, unknown scale and shift, NOT metres' if self.relative
                else f'metres up to SC-Depth scale x depth_scale {c.depth_scale}')
        return (f'boosted depth (Miangoleh et al. 2021), {c.base} base (receptive field '
                f'{self.base.receptive_field} px, {self.weights[0]}), merge net {self.weights[1]}, '
                f'mode {c.mode}, on {self.device}: {what}')
