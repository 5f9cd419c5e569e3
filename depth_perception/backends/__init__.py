"""Inference backends behind the SC-Depth estimator: one interface, chosen by configuration.

- `eager`: the networks exactly as loaded, fp32 (no TF32 on CUDA). What the reference code
  runs; the default for `infer` and every parity check.
- `torch`: BatchNorm folded into the convolutions, channels_last, only the full-resolution
  disparity head, inference mode; CUDA graphs on CUDA.
- `onnxruntime`: ONNX exports of DispResNet and PoseResNet run by ONNX Runtime (CPU, or its
  CUDA/TensorRT providers when installed).
- `auto`: `onnxruntime` when ONNX files are configured and ONNX Runtime can run the requested
  precision there (CPU: fp32, int8), else `torch`; int8 always means `onnxruntime`.

Precision is `fp32`, `fp16`, `bf16` or `int8` (bf16 pays on CPUs with AMX/AVX512-BF16; fp16
on GPUs; int8 = SC-Depth statically quantized for ONNX Runtime's CPU provider, see
backends/quantize.py: 2.9x eager fp32 at 256x320 on an AVX-512 VNNI CPU, 1 thread, median depth error vs fp32 <= 3 %).
"""
from __future__ import annotations

import logging

import torch

from .base import Backend, BackendError

log = logging.getLogger(__name__)

BACKENDS = ('eager', 'torch', 'onnxruntime', 'auto')
PRECISIONS = ('fp32', 'fp16', 'bf16', 'int8')


def check_choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BackendError(f'{field} {value!r} is not one of {", ".join(choices)}')
    return value


def resolve_backend(name: str, onnx_dir: str = '', precision: str = 'fp32',
                    device_type: str = 'cpu') -> str:
    """The concrete backend `name` stands for ('auto' picks one)."""
    check_choice('backend', name, BACKENDS)
    if name != 'auto':
        return name
    if precision == 'int8':     # only ONNX Runtime runs the quantized networks
        return 'onnxruntime'
    # ORT's CPU kernels are fp32 (and int8); reduced float precision on CPU is torch's (bf16 on AMX)
    if onnx_dir and (precision == 'fp32' or device_type == 'cuda'):
        try:
            import onnxruntime  # noqa: F401
            return 'onnxruntime'
        except ImportError:
            pass
    return 'torch'


def warn_if_slow_bf16(precision: str, device: torch.device) -> None:
    """bf16 on a CPU without AVX512-BF16/AMX runs torch's reference kernels: measured 16x
    slower than fp32 for DepthNet on an AMD EPYC (AVX2) here. Allowed, but said once at start."""
    if precision == 'bf16' and device.type == 'cpu' and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        log.warning('precision bf16: this CPU has no bf16 support in oneDNN (AVX512-BF16/AMX); '
                    'torch falls back to slow reference kernels, expect it far slower than fp32')


def refuse_int8_outside_ort(name: str, precision: str) -> None:
    if precision == 'int8' and name != 'onnxruntime':
        raise BackendError(f'precision int8 runs with backend onnxruntime only (got backend {name}): '
                           'the networks are quantized for ONNX Runtime')


def make_backend(name: str, precision: str, depth_net: torch.nn.Module,
                 pose_net: torch.nn.Module | None, device: torch.device, *,
                 onnx_dir: str = '', num_threads: int = 0,
                 calibration_hw: tuple[int, int] | None = None) -> Backend:
    """Build the backend that runs `depth_net` (and `pose_net`, may be None) on `device`.

    The nets must be in eval mode, fp32, on `device`; backends never modify them.
    calibration_hw: the network input size int8 calibrates at when quantizing in memory.
    """
    check_choice('precision', precision, PRECISIONS)
    name = resolve_backend(name, onnx_dir, precision, device.type)
    refuse_int8_outside_ort(name, precision)
    warn_if_slow_bf16(precision, device)
    if name == 'eager':
        from .eager import EagerBackend
        return EagerBackend(depth_net, pose_net, device, precision)
    if name == 'torch':
        from .torch_fast import TorchBackend
        return TorchBackend(depth_net, pose_net, device, precision)
    from .onnx import OrtBackend
    return OrtBackend(depth_net, pose_net, device, precision, onnx_dir=onnx_dir,
                      num_threads=num_threads, calibration_hw=calibration_hw)


def backend_config(backend: str = 'eager', precision: str = 'fp32', onnx_dir: str = '') -> dict:
    """Parameter values (node, launch file, YAML) -> SCDepthConfig fields, validated.

    Usage: `SCDepthConfig(**backend_config(p['backend'], p['precision'], p['onnx_dir']), ...)`.
    """
    return {'backend': check_choice('backend', str(backend), BACKENDS),
            'precision': check_choice('precision', str(precision), PRECISIONS),
            'onnx_dir': str(onnx_dir or '')}


__all__ = ['BACKENDS', 'PRECISIONS', 'Backend', 'BackendError', 'backend_config',
           'make_backend', 'refuse_int8_outside_ort', 'resolve_backend', 'warn_if_slow_bf16']
