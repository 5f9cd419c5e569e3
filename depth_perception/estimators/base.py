"""The one interface every depth method implements: frames in, depth (+ ego-motion) out.

The ROS node, the `infer` command, bag evaluation and the benchmarks all drive an
estimator through `estimate`, so a method behaves the same everywhere.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


class InputError(ValueError):
    """A frame the estimator cannot use (wrong shape, dtype, non-finite intrinsics...)."""


@dataclass(frozen=True)
class CameraFrame:
    """One image. `rgb` is [H,W,3] uint8 in RGB order; `K` the 3x3 intrinsics of that image."""

    rgb: np.ndarray
    K: np.ndarray | None = None
    stamp_ns: int = 0

    def validate(self) -> None:
        rgb = self.rgb
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
                or rgb.shape[2] != 3:
            raise InputError(f'expected an HxWx3 uint8 RGB image, got '
                             f'{getattr(rgb, "dtype", type(rgb))} {getattr(rgb, "shape", "")}')
        if rgb.shape[0] < 2 or rgb.shape[1] < 2:
            raise InputError(f'image of size {rgb.shape[1]}x{rgb.shape[0]} is too small')
        if self.K is not None:
            K = np.asarray(self.K, dtype=np.float64)
            if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
                raise InputError(f'invalid intrinsics K={K.tolist()}')


@dataclass
class DepthResult:
    """What an estimator returns for one frame.

    depth_m: [H,W] float32 metres along the optical axis at the input resolution, NaN
        where invalid, already multiplied by the estimator's metres-per-unit scale.
    T_prev_curr: 4x4 motion of the camera since the previous frame (maps points of the
        current optical frame into the previous one), translation in metres; None when the
        method gives no motion or this is the first frame.
    model_depth: depth exactly as the network outputs it (model units, network resolution).
    """

    depth_m: np.ndarray
    model_depth: np.ndarray
    stamp_ns: int = 0
    T_prev_curr: np.ndarray | None = None
    timings_ms: dict = field(default_factory=dict)


class DepthEstimator(ABC):
    """Stateful per stream: methods that estimate motion remember the previous frame."""

    name: str = 'abstract'

    @abstractmethod
    def estimate(self, frame: CameraFrame) -> DepthResult:
        """Depth (and motion, if the method has it) for the next frame of a stream."""

    def reset(self) -> None:
        """Forget the stream history (e.g. after a gap or a jump back in time)."""

    @abstractmethod
    def describe(self) -> str:
        """One line saying which model and weights are in use."""
