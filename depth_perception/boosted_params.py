"""Parameter table of `boosted_depth_node` (ROS-free; see params.py for the conventions).

What the node publishes depends on `base`: MiDaS / LeReS give RELATIVE depth (unknown scale
and shift, not metres) on `depth/relative`; SC-Depth's boosted result is fitted back onto
SC-Depth's own depth and goes to `depth/image` in metres (up to SC-Depth's one global
scale, times `depth_scale`). A point cloud needs metres, so the relative bases refuse it.
"""
from __future__ import annotations

from dataclasses import replace

from . import params as P

NODE_NAME = 'boosted_depth_node'
BASES = ('midas', 'leres', 'scdepth')
RELATIVE_BASES = ('midas', 'leres')
MODES = ('R0', 'R20', 'Final')
BOOST_BACKENDS = ('eager', 'onnxruntime')   # onnxruntime: midas base only (boosting/ort.py)
MIN_RECEPTIVE_FIELD = 128     # the resolution search needs RF / 128 >= 1 (its smaller kernel)

BOOSTED_MODEL_PARAMS: tuple[P.ParamSpec, ...] = (
    P.ParamSpec('base', 'midas', 'base network: midas / leres publish RELATIVE depth (not metres) on '
                'depth/relative; scdepth publishes metres (up to SC-Depth scale x depth_scale) on '
                'depth/image', choices=BASES),
    P.ParamSpec('checkpoint', '', "base weights: MiDaS v2 model.pt (midas) or LeReS res101.pth (leres), "
                "required; scdepth: '' = the packaged SC-Depth model", 'path'),
    P.ParamSpec('merge_checkpoint', '', 'merge network weights (pix2pix unet_1024 latest_net_G.pth); '
                'required, none ships with the package', 'path'),
    P.ParamSpec('receptive_field', 0, "base receptive field; 0 = the base's own (384 MiDaS, 448 LeReS, "
                'the SC-Depth network size); else >= 128', 'px', range=(0, 4096)),
    P.ParamSpec('merge_size', 0, "square size the merge net runs at; 0 = the net's own (1024 for "
                'the reference unet_1024; a reduced net trained by `train --config boost/merge`: its '
                'input_size_px); else a multiple of 2**down-samplings', 'px', range=(0, 8192)),
    P.ParamSpec('mode', 'Final', 'R0 / R20: whole image at two resolutions merged; Final: R20 plus '
                'patch-wise refinement within max_patches / budget_s', choices=MODES, live=True),
    P.ParamSpec('max_res', 0, "cap on Final's target long side; 0 = none (reference default); "
                'below R20 = no patches', 'px', range=(0, 20000), live=True),
    P.ParamSpec('max_patches', 16, 'at most this many patches per frame (Final, largest first); '
                '0 = no limit', 'patches', range=(0, 100000), live=True),
    P.ParamSpec('budget_s', 2.0, 'per frame, no new patch batch starts after this long (the frame '
                'may overrun by one batch); 0 = no limit', 's', range=(0.0, 3600.0), live=True),
    P.ParamSpec('batch_size', 1, 'patches per network call (Final): same result, faster on a GPU, '
                'more memory', 'patches', range=(1, 64), live=True),
    P.ParamSpec('depth_scale', 1.0, 'scdepth base: metres per SC-Depth unit on depth/image; '
                'ignored by midas / leres', 'm/unit', range=(1e-6, 1e6), live=True),
    P.ParamSpec('backend', 'eager', "'eager' (exact fp32 reference path) or 'onnxruntime' (midas base only: "
                'the MiDaS and merge networks exported in memory at start, within 1e-3 of eager)',
                choices=BOOST_BACKENDS),
    P.ParamSpec('device', 'auto', "torch device: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', "
                "'cuda:N'"),
    P.ParamSpec('num_threads', 0, 'torch CPU threads; 0 = torch default', 'threads', range=(0, 256)),
)

# A relative map as a point cloud would be garbage in metres: off by default, refused below.
BOOSTED_ADAPTER_PARAMS: tuple[P.ParamSpec, ...] = tuple(
    replace(s, default=False, description=s.description + ' (scdepth base only: needs metres)')
    if s.name in ('publish_points', 'pseudo_rgbd') else s for s in P.ADAPTER_PARAMS)

BOOSTED_NODE_PARAMS: tuple[P.ParamSpec, ...] = BOOSTED_MODEL_PARAMS + BOOSTED_ADAPTER_PARAMS
SPECS_BY_NAME = {s.name: s for s in BOOSTED_NODE_PARAMS}


def receptive_field_rule(values: dict) -> None:
    rf = values.get('receptive_field', 0)
    if 0 < rf < MIN_RECEPTIVE_FIELD:
        raise ValueError(f'parameter receptive_field: {rf} px is below the minimum of '
                         f'{MIN_RECEPTIVE_FIELD} px (0 = the base\'s own)')


def metric_outputs_rule(values: dict) -> None:
    """Outputs that claim metres (cloud, RGB-D depth) need the scdepth base."""
    base = values.get('base', 'midas')
    if base not in RELATIVE_BASES:
        return
    for name in ('publish_points', 'pseudo_rgbd'):
        if values.get(name):
            raise ValueError(f'parameter {name}: the {base} base gives relative depth (unknown scale '
                             'and shift, not metres); only base scdepth can publish it')


BOOSTED_RULES: tuple[P.Rule, ...] = P.ADAPTER_RULES + (
    P.device_rule, receptive_field_rule, metric_outputs_rule)


def is_relative(base: str) -> bool:
    return base in RELATIVE_BASES
