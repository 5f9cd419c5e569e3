"""ONNX export of the networks (SC-Depth depth/pose/rectify, DepthNet) and the ONNX Runtime
backend that runs them.

Each file carries the SHA-256 of the weights it was exported from (ONNX metadata), and
`OrtNetwork` refuses a file whose fingerprint differs from the loaded checkpoint: a stale
export would otherwise silently give another model's depth.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from .base import Backend, BackendError
from .quantize import CALIBRATION_KEY, INT8_FILES, PRECISION_KEY
from .torch_fast import FullResolutionDisparity

log = logging.getLogger(__name__)

# network kind -> file name in an export folder
FILES = {'disp': 'scdepth_disp.onnx', 'pose': 'scdepth_pose.onnx',
         'rectify': 'scdepth_rectify.onnx', 'depthnet': 'depthnet.onnx',
         'midas': 'boost_midas.onnx', 'merge': 'boost_merge.onnx'}
DEPTH_FILE, POSE_FILE, RECTIFY_FILE, DEPTHNET_FILE = (FILES[k] for k in ('disp', 'pose', 'rectify', 'depthnet'))
FINGERPRINT_KEY = 'depth_perception.weights_sha256'
# trace sizes only: height and width (and DepthNet's batch) are dynamic in the files. DepthNet's
# is larger so that its 1/64-scale map is not 1 px (size-1 dimensions get specialised).
EXPORT_HW = {'depthnet': (128, 192)}
DEFAULT_EXPORT_HW = (64, 96)
# DepthNet options that change its output without changing its state_dict
_DEPTHNET_FLAGS = ('batch_norm', 'with_confidence', 'clamp', 'depth_activation')


def weights_fingerprint(net: torch.nn.Module) -> str:
    """SHA-256 of a network's class, upsampling mode and every parameter/buffer (as fp32)."""
    h = hashlib.sha256(type(net).__name__.encode())
    h.update(str(getattr(getattr(net, 'decoder', None), 'upsample_mode', '')).encode())
    if hasattr(net, 'depth_activation'):
        h.update(repr(tuple(getattr(net, a) for a in _DEPTHNET_FLAGS)).encode())
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
    """ONNX ModelProto of a network of `kind` (a FILES key), dynamic in H and W."""
    with _quiet_exporter():
        return _export(net, kind)


def _export(net: torch.nn.Module, kind: str):
    from torch.export import Dim
    # a copy: .cpu() on the estimator's own module would move it off its device
    net = copy.deepcopy(net).cpu().float().eval()
    h, w = EXPORT_HW.get(kind, DEFAULT_EXPORT_HW)
    hw = {2: Dim.AUTO, 3: Dim.AUTO}
    if kind == 'disp':
        module, args, names, out = FullResolutionDisparity(net).eval(), (torch.randn(1, 3, h, w),), \
            ['image'], ['disparity']
    elif kind in ('pose', 'rectify'):
        x = torch.randn(1, 3, h, w)
        module, args, names, out = net, (x, x.clone()), ['target', 'reference'], \
            ['pose' if kind == 'pose' else 'rotation']
    elif kind == 'depthnet':
        # batch 2: the estimator runs one pair per frame shift as one batch
        module, args, names, out = net, (torch.randn(2, 6, h, w),), ['pair'], ['depth']
        hw = {0: Dim.AUTO, **hw}
    elif kind in ('midas', 'merge'):
        # boosting batches patches; the merge net's side is a multiple of 2**num_downs
        side = 2 ** net.num_downs if kind == 'merge' else 128
        c = 2 if kind == 'merge' else 3
        module, args, names, out = net, (torch.randn(2, c, side, side),), ['image'], ['depth']
        hw = {0: Dim.AUTO, **hw}
    else:
        raise ValueError(f'unknown network kind {kind!r} (known: {", ".join(FILES)})')
    program = torch.onnx.export(module, args, dynamo=True, input_names=names, output_names=out,
                                dynamic_shapes=tuple(hw for _ in args), verbose=False)
    model = program.model_proto
    entry = model.metadata_props.add()
    entry.key, entry.value = FINGERPRINT_KEY, weights_fingerprint(net)
    return model


def export_networks(nets: dict[str, torch.nn.Module | None], out_dir: str | Path) -> list[Path]:
    """Write FILES[kind] into out_dir for every kind -> network given (None: skipped)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, net in nets.items():
        if net is None:
            continue
        written.append(save_model(_onnx_model(net, kind), out_dir / FILES[kind]))
    return written


def save_model(model, path: Path) -> Path:
    """Write the ModelProto beside `path` and rename it over: a reader never sees half a file."""
    import onnx
    tmp = path.with_suffix('.onnx.tmp')
    onnx.save_model(model, str(tmp))
    os.replace(tmp, path)
    return path


def export_onnx(depth_net: torch.nn.Module, pose_net: torch.nn.Module | None,
                out_dir: str | Path, rectify_net: torch.nn.Module | None = None) -> list[Path]:
    """scdepth_disp.onnx (+ scdepth_pose.onnx, scdepth_rectify.onnx for the nets given)."""
    return export_networks({'disp': depth_net, 'pose': pose_net, 'rectify': rectify_net}, out_dir)


def _providers(device: torch.device, precision: str, cache_dir: str):
    import onnxruntime as ort
    if device.type != 'cuda':
        if precision not in ('fp32', 'int8'):
            raise BackendError(f'onnxruntime on CPU runs fp32 only, and int8 for SC-Depth (got precision {precision}); '
                               'use backend torch for bf16/fp16 on CPU')
        return ['CPUExecutionProvider']
    if precision == 'int8':
        raise BackendError(f'precision int8 runs on the CPU only (ONNX Runtime CPU provider), not on '
                           f'{device}; use fp16 on a GPU')
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


def session_options(num_threads: int = 0):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # the same thread budget as torch, so the node's executor thread keeps a core
    options.intra_op_num_threads = num_threads if num_threads > 0 else torch.get_num_threads()
    options.inter_op_num_threads = 1
    # no busy-waiting between ops: with other threads on the cores (the node's executor,
    # the camera driver) spinning workers doubled the 2-thread frame time here (921 vs 574 ms)
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return options


def _import_ort():
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendError('backend onnxruntime needs the onnxruntime package '
                           '(pip install onnxruntime)') from None
    return ort


class OrtNetwork:
    """One network run by ONNX Runtime: FILES[kind] from onnx_dir ('' = exported in memory),
    refused unless its weights fingerprint is `net`'s. Call with numpy arrays; returns the
    first output as an fp32 torch tensor."""

    def __init__(self, net: torch.nn.Module, kind: str, device: torch.device, precision: str = 'fp32',
                 *, onnx_dir: str = '', num_threads: int = 0, calibration_hw: tuple[int, int] | None = None):
        ort = _import_ort()
        if precision == 'int8' and kind not in INT8_FILES:
            raise BackendError(f'precision int8 is available for the SC-Depth depth and pose networks only '
                               f'(not {kind}); use fp32')
        providers = _providers(device, precision, onnx_dir)
        expected = weights_fingerprint(net)
        int8 = precision == 'int8'
        if onnx_dir:
            path = Path(onnx_dir) / (INT8_FILES[kind] if int8 else FILES[kind])
            if not path.is_file():
                raise BackendError(f'{path}: ONNX file not found; write it with `depth-perception export '
                                   f'--format onnx{_method(kind)}{" --precision int8" if int8 else ""} '
                                   f'--output {onnx_dir}`')
            source = str(path)
        elif int8:
            path, source = kind, _quantized_in_memory(net, kind, calibration_hw)
        else:
            log.info('exporting the %s network to ONNX in memory (seconds; '
                     '`depth-perception export --format onnx` writes files once)', kind)
            path, source = kind, _onnx_model(net, kind).SerializeToString()
        model = _half(source, providers) if precision == 'fp16' and \
            not _has_tensorrt(providers) else source
        try:
            self.session = ort.InferenceSession(model, session_options(num_threads), providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
            raise BackendError(f'{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})') from None
        meta = self.session.get_modelmeta().custom_metadata_map
        found = meta.get(FINGERPRINT_KEY, '')
        if found != expected:
            raise BackendError(
                f'{path}: exported from other weights (fingerprint {found[:12] or "missing"}, '
                f'loaded checkpoint {expected[:12]}); re-run `depth-perception export --format onnx{_method(kind)}`')
        # an fp32 file renamed to the int8 name (or back) would run at the wrong speed/accuracy
        stored = meta.get(PRECISION_KEY, 'fp32')
        if stored != ('int8' if int8 else 'fp32'):
            raise BackendError(f'{path}: holds the network in {stored}, but precision {precision} was asked for')
        self.calibration = meta.get(CALIBRATION_KEY, '')
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.providers = self.session.get_providers()

    def __call__(self, *arrays: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, dict(zip(self.input_names, arrays)))[0])


def _method(kind: str) -> str:
    return ' --method depthnet --checkpoint <file>' if kind == 'depthnet' else ''


class OrtModule(torch.nn.Module):
    """An OrtNetwork behind a torch forward(x), for code that calls a network module
    (the boosting pipeline's base and merge nets)."""

    def __init__(self, net: torch.nn.Module, kind: str, device: torch.device, **options):
        super().__init__()
        self.run = OrtNetwork(net, kind, device, **options)
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(as_input(x)).to(x.device)


def as_input(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().float().cpu().numpy())


class OrtBackend(Backend):
    name = 'onnxruntime'

    def __init__(self, depth_net, pose_net, device: torch.device, precision: str = 'fp32', *,
                 onnx_dir: str = '', num_threads: int = 0, calibration_hw: tuple[int, int] | None = None):
        self.precision = precision
        self.source = onnx_dir or ('quantized in memory' if precision == 'int8' else 'exported in memory')
        opts = dict(onnx_dir=onnx_dir, num_threads=num_threads, calibration_hw=calibration_hw)
        self.depth = OrtNetwork(depth_net, 'disp', device, precision, **opts)
        self.pose_run = OrtNetwork(pose_net, 'pose', device, precision, **opts) if pose_net is not None else None
        self.providers = self.depth.providers

    def prepare(self, x: torch.Tensor) -> np.ndarray:
        return as_input(x)

    def disparity(self, x: np.ndarray) -> torch.Tensor:
        return self.depth(x)

    def pose(self, target: np.ndarray, reference: np.ndarray) -> torch.Tensor:
        return self.pose_run(target, reference)

    def describe(self) -> str:
        calibrated = f'; calibrated on {self.depth.calibration}' if self.depth.calibration else ''
        return f'onnxruntime {self.precision} ({self.source}; {", ".join(self.providers)}{calibrated})'


def _quantized_in_memory(net: torch.nn.Module, kind: str, hw: tuple[int, int] | None) -> bytes:
    from .quantize import DEFAULT_CALIBRATION_HW, quantize_network, synthetic_calibration
    hw = tuple(hw or DEFAULT_CALIBRATION_HW)
    log.info('int8: exporting the %s network and quantizing it in memory, calibrated on synthetic frames '
             'at %dx%d (tens of seconds; `depth-perception export --format onnx --precision int8` '
             'writes files once)', kind, *hw)
    t0 = time.perf_counter()
    model = quantize_network(net, kind, synthetic_calibration(), hw)
    log.info('int8: %s network quantized in %.0f s', kind, time.perf_counter() - t0)
    return model.SerializeToString()


def _has_tensorrt(providers) -> bool:
    return any((p[0] if isinstance(p, tuple) else p) == 'TensorrtExecutionProvider' for p in providers)


def _half(source, providers):
    """fp16 copy of the model for ORT's CUDA provider (TensorRT does fp16 itself). Untested here."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    model = onnx.load(source) if isinstance(source, str) else onnx.load_from_string(source)
    return convert_float_to_float16(model, keep_io_types=True).SerializeToString()
