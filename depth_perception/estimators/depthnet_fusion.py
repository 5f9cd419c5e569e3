"""Multi-range fusion of DepthNet outputs from several frame shifts.

DepthNet's output is the depth the scene would have if the camera had moved by the nominal
displacement (0.3 m for Still Box models): o_k = depth_m * d_nominal / |d_k|. The network is
reliable only inside a band of outputs: below it the disparity is too large for its
receptive field, above it the disparity is below a pixel and the training targets were
clipped at 100. The reference's own `clamp` option names that band: [10, 60] m.

Rule (per pixel): use the shift whose output is closest to the band's geometric centre
o* = sqrt(lo * hi) in log space, i.e. whose disparity is closest to the disparity the
network resolves best; ties go to the shorter shift (listed first). Metric depth is then
o_k * |d_k| / d_nominal for the chosen k. Near pixels therefore come from short shifts and
far pixels from long ones.
"""
from __future__ import annotations

import numpy as np

DEFAULT_BAND = (10.0, 60.0)


def fusion_target(band: tuple[float, float] = DEFAULT_BAND) -> float:
    lo, hi = band
    if not 0 < lo < hi:
        raise ValueError(f'fusion band must satisfy 0 < lo < hi, got {band}')
    return float(np.sqrt(lo * hi))


def fuse(outputs: list[np.ndarray], displacements_m: list[float], nominal_displacement_m: float,
         band: tuple[float, float] = DEFAULT_BAND) -> tuple[np.ndarray, np.ndarray]:
    """Fuse network outputs (same shape, one per shift, shortest shift first).

    Returns (depth_m [h,w] float32, chosen [h,w] int: index into `outputs`).
    """
    if not outputs or len(outputs) != len(displacements_m):
        raise ValueError('need one displacement per output and at least one output')
    stack = np.stack([np.asarray(o, np.float64) for o in outputs])
    target = np.log(fusion_target(band))
    # Non-positive outputs (possible without the ELU activation) are never preferred.
    cost = np.where(stack > 0, np.abs(np.log(np.maximum(stack, 1e-12)) - target), np.inf)
    chosen = np.argmin(cost, axis=0)  # argmin returns the first index on ties
    scale = np.asarray(displacements_m, np.float64)[:, None, None] / nominal_displacement_m
    depth = np.take_along_axis(stack * scale, chosen[None], 0)[0]
    return depth.astype(np.float32), chosen
