"""Boosting's networks on ONNX Runtime: the MiDaS base and the merge net, exported in memory
when boosting starts (the exact mode stays eager fp32). LeReS and package-estimator bases
run their own way."""
from __future__ import annotations


def use_onnxruntime(base, net, device, num_threads: int = 0):
    """Swap `base.net` for its ONNX Runtime run and return the merge net's (BackendError when
    ONNX Runtime is missing)."""
    from ..backends.onnx import OrtModule
    if getattr(base, 'name', '') != 'midas':
        raise ValueError(f"backend onnxruntime: boosting runs it for the midas base only, not {getattr(base, 'name', base)}")
    base.net = OrtModule(base.net, 'midas', device, num_threads=num_threads)
    return OrtModule(net, 'merge', device, num_threads=num_threads)
