"""The backends behind DepthNet: one call, normalised pairs [N,6,H,W] fp32 -> depth [N,H/4,W/4] fp32.

The same choices as for SC-Depth (`eager | torch | onnxruntime | auto`, `fp32 | fp16 | bf16`):
- `eager`: the loaded network as is (the reference path, default);
- `torch`: BatchNorm folded into the convolutions, channels_last, inference mode;
- `onnxruntime`: depthnet.onnx (from `depth-perception export --format onnx --method depthnet`,
  or exported in memory) run by ONNX Runtime, refused when exported from other weights.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import PRECISIONS, check_choice, resolve_backend, warn_if_slow_bf16
from .base import DTYPES, BackendError


class DepthNetBackend:
    name = ''
    precision = 'fp32'

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return f'{self.name} {self.precision}'


class EagerDepthNet(DepthNetBackend):
    name = 'eager'

    def __init__(self, net: nn.Module, precision: str):
        self.precision, self.dtype = precision, DTYPES[precision]
        self.net = net if self.dtype == torch.float32 else copy.deepcopy(net).to(self.dtype)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.dtype)).float()


class TorchDepthNet(DepthNetBackend):
    name = 'torch'

    def __init__(self, net: nn.Module, precision: str, device: torch.device):
        from .torch_fast import fold_batchnorm
        self.precision, self.dtype = precision, DTYPES[precision]
        self.net = fold_batchnorm(net).to(device, self.dtype).to(memory_format=torch.channels_last).eval()

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.dtype).contiguous(memory_format=torch.channels_last)).float()

    def describe(self) -> str:
        return f'torch {self.precision} (BatchNorm folded, channels_last)'


class OrtDepthNet(DepthNetBackend):
    name = 'onnxruntime'

    def __init__(self, net: nn.Module, precision: str, device: torch.device, onnx_dir: str, num_threads: int):
        from .onnx import OrtNetwork
        self.precision, self.device = precision, device
        self.source = onnx_dir or 'exported in memory'
        self.run = OrtNetwork(net, 'depthnet', device, precision, onnx_dir=onnx_dir, num_threads=num_threads)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from .onnx import as_input
        return self.run(as_input(x)).to(self.device)

    def describe(self) -> str:
        return f'onnxruntime {self.precision} ({self.source}; {", ".join(self.run.providers)})'


def make_depthnet_backend(name: str, precision: str, net: nn.Module, device: torch.device, *,
                          onnx_dir: str = '', num_threads: int = 0) -> DepthNetBackend:
    """`net`: the loaded DepthNet, eval mode, fp32, on `device`; never modified."""
    check_choice('precision', precision, PRECISIONS)
    if precision == 'int8':
        raise BackendError('precision int8 is available for SC-Depth only (no DepthNet calibration); '
                           'use fp32 with backend onnxruntime or torch')
    name = resolve_backend(name, onnx_dir, precision, device.type)
    warn_if_slow_bf16(precision, device)
    if name == 'eager':
        return EagerDepthNet(net, precision)
    if name == 'torch':
        return TorchDepthNet(net, precision, device)
    return OrtDepthNet(net, precision, device, onnx_dir, num_threads)
