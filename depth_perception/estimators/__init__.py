"""Registry of depth methods behind the one `DepthEstimator` interface."""
from __future__ import annotations

from .base import CameraFrame, DepthEstimator, DepthResult, InputError


def create_estimator(method: str, **options) -> DepthEstimator:
    """Build the estimator for `method` ('scdepth', 'depthnet') with its options."""
    if method == 'scdepth':
        from .scdepth import SCDepthConfig, SCDepthEstimator
        return SCDepthEstimator(SCDepthConfig(**options))
    if method == 'depthnet':
        from .depthnet import DepthNetConfig, DepthNetEstimator
        return DepthNetEstimator(DepthNetConfig(**options))
    raise ValueError(f'unknown method {method!r} (available: scdepth, depthnet)')


__all__ = ['CameraFrame', 'DepthEstimator', 'DepthResult', 'InputError', 'create_estimator']
