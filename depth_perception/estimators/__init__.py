"""Registry of depth methods behind the one `DepthEstimator` interface."""
from __future__ import annotations

from .base import CameraFrame, DepthEstimator, DepthResult, InputError


def create_estimator(method: str, **options) -> DepthEstimator:
    """Build the estimator for `method` ('scdepth') with its options."""
    if method == 'scdepth':
        from .scdepth import SCDepthConfig, SCDepthEstimator
        return SCDepthEstimator(SCDepthConfig(**options))
    raise ValueError(f'unknown method {method!r} (available: scdepth)')


__all__ = ['CameraFrame', 'DepthEstimator', 'DepthResult', 'InputError', 'create_estimator']
