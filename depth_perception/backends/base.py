"""The interface every inference backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


class BackendError(ValueError):
    """A backend that cannot be built as configured (bad name, missing or stale files...)."""


class Backend(ABC):
    """Runs the SC-Depth networks on prepared inputs; outputs are always fp32 torch tensors.

    `prepare` turns the estimator's normalised fp32 [1,3,h,w] tensor into whatever this
    backend consumes (dtype, memory format, numpy), so a frame is converted once even though
    it feeds the depth net now and the pose net twice (as target, then as reference).
    """

    name: str = ''
    precision: str = 'fp32'

    @abstractmethod
    def prepare(self, x: torch.Tensor):
        """Normalised fp32 [1,3,h,w] image -> this backend's input."""

    @abstractmethod
    def disparity(self, x) -> torch.Tensor:
        """Full-resolution disparity [1,1,h,w] fp32 (DispResNet's output)."""

    @abstractmethod
    def pose(self, target, reference) -> torch.Tensor:
        """PoseResNet(target, reference): [1,6] fp32 [tx,ty,tz,rx,ry,rz]."""

    def describe(self) -> str:
        return f'{self.name} {self.precision}'
