"""The reference path: the loaded modules, called as they are."""
from __future__ import annotations

import copy

import torch

from .base import DTYPES, Backend


class EagerBackend(Backend):
    name = 'eager'

    def __init__(self, depth_net, pose_net, device: torch.device, precision: str = 'fp32'):
        self.precision = precision
        self.dtype = DTYPES[precision]
        if device.type == 'cuda' and precision == 'fp32':
            # parity means real fp32: cuDNN would otherwise run convolutions in TF32
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        cast = (lambda n: n) if self.dtype == torch.float32 else \
            (lambda n: copy.deepcopy(n).to(self.dtype))
        self.depth_net = cast(depth_net)
        self.pose_net = cast(pose_net) if pose_net is not None else None

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)

    @torch.inference_mode()
    def disparity(self, x: torch.Tensor) -> torch.Tensor:
        return self.depth_net(x).float()

    @torch.inference_mode()
    def pose(self, target: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.pose_net(target, reference).float()
