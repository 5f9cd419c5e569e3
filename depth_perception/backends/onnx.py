"""ONNX export of the SC-Depth networks and the ONNX Runtime backend that runs them.

Each file carries the SHA-256 of the weights it was exported from (ONNX metadata), and the
backend refuses a file whose fingerprint differs from the loaded checkpoint: a stale export
would otherwise silently give another model's depth.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .base import Backend, BackendError
from .torch_fast import FullResolutionDisparity

log = logging.getLogger(__name__)

DEPTH_FILE = 'scdepth_disp.onnx'
POSE_FILE = 'scdepth_pose.onnx'
FINGERPRINT_KEY = 'depth_perception.weights_sha256'
EXPORT_HW = (64, 96)     # trace size only: height and width are dynamic in the file


def weights_fingerprint(net: torch.nn.Module) -> str:
    """SHA-256 of a network's class, upsampling mode and every parameter/buffer (as fp32)."""
    h = hashlib.sha256(type(net).__name__.encode())
    h.update(str(getattr(getattr(net, 'decoder', None), 'upsample_mode', '')).encode())
    for key, t in sorted(net.state_dict().items()):
        h.update(key.encode())
        t = t.detach().cpu()
        h.update(str(tuple(t.shape)).encode())
        h.update((t.float() if t.is_floating_point() else t).contiguous().numpy().tobytes())
    return h.hexdigest()


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter logs every optimisation pass at INFO; keep a command's output readable."""
    names = ('onnx_ir', 'onnxscript', 'torch.onnx', 'torch.export')
    saved = {n: logging.getLogger(n).level for n in names}
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


def _onnx_model(net: torch.nn.Module, kind: str):
    """ONNX ModelProto of the depth ('disp') or pose ('pose') net, dynamic in H and W."""
    with _quiet_exporter():
        return _export(net, kind)


def _export(net: torch.nn.Module, kind: str):
    from torch.export import Dim
    net = net.cpu().float().eval()
    x = torch.randn(1, 3, *EXPORT_HW)
    dyn = {2: Dim.AUTO, 3: Dim.AUTO}
    if kind == 'disp':
        program = torch.onnx.export(FullResolutionDisparity(net).eval(), (x,), dynamo=True,
                                    input_names=['image'], output_names=['disparity'],
                                    dynamic_shapes={'image': dyn}, verbose=False)
    else:
        program = torch.onnx.export(net, (x, x.clone()), dynamo=True,
                                    input_names=['target', 'reference'], output_names=['pose'],
                                    dynamic_shapes={'target': dyn, 'reference': dyn}, verbose=False)
    model = program.model_proto
    entry = model.metadata_props.add()
    entry.key, entry.value = FINGERPRINT_KEY, weights_fingerprint(net)
    return model


def export_onnx(depth_net: torch.nn.Module, pose_net: torch.nn.Module | None,
                out_dir: str | Path) -> list[Path]:
    """Write scdepth_disp.onnx (and scdepth_pose.onnx when there is a pose net) into out_dir."""
    import onnx
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for net, kind, name in ((depth_net, 'disp', DEPTH_FILE), (pose_net, 'pose', POSE_FILE)):
        if net is None:
            continue
        path = out_dir / name
        tmp = path.with_suffix('.onnx.tmp')
        onnx.save_model(_onnx_model(net, kind), str(tmp))
        os.replace(tmp, path)
        written.append(path)
    return written


def _providers(device: torch.device, precision: str, cache_dir: str):
    import onnxruntime as ort
    if device.type != 'cuda':
        if precision != 'fp32':
            raise BackendError(f'onnxruntime on CPU runs fp32 only (got precision {precision}); '
                               'use backend torch for bf16/fp16 on CPU')
        return ['CPUExecutionProvider']
    # CUDA / TensorRT providers: guarded, not exercised on the CPU-only development machine.
    available = ort.get_available_providers()
    if 'CUDAExecutionProvider' not in available:
        raise BackendError('onnxruntime has no CUDAExecutionProvider here (install onnxruntime-gpu) '
                           f'but device is {device}; available: {", ".join(available)}')
    if precision == 'bf16':
        raise BackendError('onnxruntime backend supports fp32 and fp16, not bf16')
    cuda = ('CUDAExecutionProvider', {'device_id': device.index or 0})
    providers = [cuda, 'CPUExecutionProvider']
    if 'TensorrtExecutionProvider' in available:
        providers.insert(0, ('TensorrtExecutionProvider', {
            'device_id': device.index or 0, 'trt_fp16_enable': precision == 'fp16',
            'trt_engine_cache_enable': bool(cache_dir), 'trt_engine_cache_path': cache_dir or '.'}))
    return providers


class OrtBackend(Backend):
    name = 'onnxruntime'

    def __init__(self, depth_net, pose_net, device: torch.device, precision: str = 'fp32', *,
                 onnx_dir: str = '', num_threads: int = 0):
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendError('backend onnxruntime needs the onnxruntime package '
                               '(pip install onnxruntime)') from None
        self.precision = precision
        providers = _providers(device, precision, onnx_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # the same thread budget as torch, so the node's executor thread keeps a core
        options.intra_op_num_threads = num_threads if num_threads > 0 else torch.get_num_threads()
        options.inter_op_num_threads = 1
        # no busy-waiting between ops: with other threads on the cores (the node's executor,
        # the camera driver) spinning workers doubled the 2-thread frame time here (921 vs 574 ms)
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.source = onnx_dir or 'exported in memory'

        def session(net, kind, name):
            expected = weights_fingerprint(net)
            if onnx_dir:
                path = Path(onnx_dir) / name
                if not path.is_file():
                    raise BackendError(f'{path}: ONNX file not found; write it with '
                                       f'`depth-perception export --format onnx --output {onnx_dir}`')
                source = str(path)
            else:
                log.info('exporting the %s network to ONNX in memory (seconds; '
                         '`depth-perception export --format onnx` writes files once)', kind)
                path, source = kind, _onnx_model(net, kind).SerializeToString()
            model = _half(source, providers) if precision == 'fp16' and \
                not _has_tensorrt(providers) else source
            try:
                sess = ort.InferenceSession(model, options, providers=providers)
            except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
                raise BackendError(f'{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})') from None
            found = sess.get_modelmeta().custom_metadata_map.get(FINGERPRINT_KEY, '')
            if found != expected:
                raise BackendError(
                    f'{path}: exported from other weights (fingerprint {found[:12] or "missing"}, '
                    f'loaded checkpoint {expected[:12]}); re-run `depth-perception export --format onnx`')
            return sess

        self.depth_sess = session(depth_net, 'disp', DEPTH_FILE)
        self.pose_sess = session(pose_net, 'pose', POSE_FILE) if pose_net is not None else None
        self.providers = self.depth_sess.get_providers()

    def prepare(self, x: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(x.detach().float().cpu().numpy())

    def disparity(self, x: np.ndarray) -> torch.Tensor:
        name = self.depth_sess.get_inputs()[0].name
        return torch.from_numpy(self.depth_sess.run(None, {name: x})[0])

    def pose(self, target: np.ndarray, reference: np.ndarray) -> torch.Tensor:
        names = [i.name for i in self.pose_sess.get_inputs()]
        return torch.from_numpy(self.pose_sess.run(None, {names[0]: target, names[1]: reference})[0])

    def describe(self) -> str:
        return f'onnxruntime {self.precision} ({self.source}; {", ".join(self.providers)})'


def _has_tensorrt(providers) -> bool:
    return any((p[0] if isinstance(p, tuple) else p) == 'TensorrtExecutionProvider' for p in providers)


def _half(source, providers):
    """fp16 copy of the model for ORT's CUDA provider (TensorRT does fp16 itself). Untested here."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    model = onnx.load(source) if isinstance(source, str) else onnx.load_from_string(source)
    return convert_float_to_float16(model, keep_io_types=True).SerializeToString()
