"""int8 static quantization of the SC-Depth ONNX networks, for ONNX Runtime's CPU provider.

The recipe (chosen by the accuracy figures below, on an AVX2 AMD EPYC; speed in bench/README.md):
- QDQ format, Conv layers only, weights int8 per output channel, activations uint8 per tensor
  with ranges from calibration: the 99.999th percentile of each activation's histogram over
  the calibration frames (plain min/max let a few outlier pixels stretch the ranges: median
  depth error vs fp32 1.9 % instead of 1.3 % at 256x320).
- Left in fp32: each network's last convolution (the disparity logits before the sigmoid, the
  pose vector), whose outputs are the answer itself, and PoseResNet's first convolution: it
  sees the two frames stacked, and the motion lives in their small differences, which an
  8-bit input range loses (translation direction vs fp32 2.6 deg median, 15 deg worst with it
  quantized; 0.4 / 2.3 deg without).
Calibration frames: by default a fixed set rendered by the package's synthetic engine
(hand-held rooms and corridors, seeds 101-104, so no download and the same files every time),
or a folder of the user's own images (in name order: consecutive images feed the pose net).
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import BackendError

log = logging.getLogger(__name__)

INT8_FILES = {'disp': 'scdepth_disp_int8.onnx', 'pose': 'scdepth_pose_int8.onnx'}
PRECISION_KEY = 'depth_perception.precision'
CALIBRATION_KEY = 'depth_perception.calibration'
# (scene, seed) of the default calibration sequences; evaluation and tests use other seeds
SYNTHETIC_SEQUENCES = (('indoor', 101), ('indoor', 102), ('corridor', 103), ('corridor', 104))
FRAMES_PER_SEQUENCE = 8
FRAME_STRIDE = 3          # every 3rd frame at 10 Hz: wider motions between pose pairs
PERCENTILE = 99.999
MAX_CALIBRATION_IMAGES = 256   # each one is a forward pass; beyond this a folder is a mistake
DEFAULT_CALIBRATION_HW = (256, 320)   # when no network resolution is given (the engine's frame size)


@dataclass(frozen=True)
class Calibration:
    """Calibration frames as sequences of RGB uint8 images (pose pairs never cross sequences)."""
    sequences: tuple[tuple[np.ndarray, ...], ...]
    description: str


@functools.lru_cache(maxsize=1)     # depth and pose are calibrated on the same frames
def synthetic_calibration() -> Calibration:
    from ..synthetic import SequenceConfig, make_sequence
    sequences = []
    for scene, seed in SYNTHETIC_SEQUENCES:
        seq = make_sequence(SequenceConfig(scene=scene, seed=seed, frames=FRAMES_PER_SEQUENCE * FRAME_STRIDE))
        sequences.append(tuple(seq.render(i).rgb for i in range(0, len(seq), FRAME_STRIDE)))
    seeds = ','.join(f'{scene}:{seed}' for scene, seed in SYNTHETIC_SEQUENCES)
    return Calibration(tuple(sequences), f'synthetic {seeds} x {FRAMES_PER_SEQUENCE} frames')


def folder_calibration(folder: str | Path) -> Calibration:
    """The images of `folder` in name order, as one sequence; BackendError (one line) if unusable."""
    from ..image_io import list_images, read_rgb
    try:
        paths = list_images(Path(folder))
    except FileNotFoundError as exc:
        raise BackendError(f'--calibration {exc}') from None
    if len(paths) < 2:
        raise BackendError(f'--calibration {folder}: {len(paths)} image; at least 2 are needed '
                           '(consecutive images calibrate the pose network)')
    if len(paths) > MAX_CALIBRATION_IMAGES:
        raise BackendError(f'--calibration {folder}: {len(paths)} images, more than '
                           f'{MAX_CALIBRATION_IMAGES}; use a subset')
    try:
        images = tuple(read_rgb(p) for p in paths)
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    return Calibration((images,), f'{len(images)} images from {Path(folder).resolve()}')


def _feeds(kind: str, calibration: Calibration, hw: tuple[int, int]) -> list[dict]:
    from ..estimators.scdepth import network_input
    sequences = [[network_input(rgb, hw).numpy() for rgb in seq] for seq in calibration.sequences]
    if kind == 'disp':
        return [{'image': x} for seq in sequences for x in seq]
    # target = current frame, reference = previous one, as the estimator calls the pose net
    return [{'target': seq[i], 'reference': seq[i - 1]} for seq in sequences for i in range(1, len(seq))]


def _kept_in_fp32(model, kind: str) -> list[str]:
    convs = [n.name for n in model.graph.node if n.op_type == 'Conv']
    return [convs[-1]] + ([convs[0]] if kind == 'pose' else [])


def quantize_network(net, kind: str, calibration: Calibration, hw: tuple[int, int]):
    """int8 ModelProto of the torch network `net` of kind 'disp' or 'pose', exported to ONNX and
    calibrated on `calibration` resized to hw; the fp32 export's metadata (weights
    fingerprint) is kept and the precision and calibration are recorded beside it."""
    import onnx
    from .onnx import _onnx_model
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self, feeds):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    model = _onnx_model(net, kind)
    excluded = _kept_in_fp32(model, kind)
    meta = {p.key: p.value for p in model.metadata_props}   # before the quantizer edits `model`
    quiet = logging.getLogger('root'), logging.getLogger()
    levels = [q.level for q in quiet]
    with tempfile.TemporaryDirectory(prefix='dp_int8_') as tmp:
        out = Path(tmp) / f'{kind}_int8.onnx'
        try:
            for q in quiet:     # the quantizer logs advice (pre-processing) at WARNING per call
                q.setLevel(logging.ERROR)
            with contextlib.redirect_stdout(io.StringIO()):     # ... and prints its percentiles
                quantize_static(model, str(out), Reader(_feeds(kind, calibration, hw)),
                                quant_format=QuantFormat.QDQ, op_types_to_quantize=['Conv'],
                                per_channel=True, reduce_range=False, activation_type=QuantType.QUInt8,
                                weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                                calibrate_method=CalibrationMethod.Percentile,
                                extra_options={'CalibPercentile': PERCENTILE, 'ActivationSymmetric': False})
        finally:
            for q, level in zip(quiet, levels):
                q.setLevel(level)
        quantized = onnx.load(str(out))
    meta.update({PRECISION_KEY: 'int8', CALIBRATION_KEY: f'{calibration.description} at {hw[0]}x{hw[1]}'})
    del quantized.metadata_props[:]
    for key, value in meta.items():
        entry = quantized.metadata_props.add()
        entry.key, entry.value = key, value
    return quantized
