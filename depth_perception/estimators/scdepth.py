"""SC-Depth (V1/V2/V3) estimator: DispResNet depth + PoseResNet ego-motion.

Preprocessing follows the reference exactly: cv2 INTER_LINEAR resize to the network size,
x/255, then (x - 0.45)/0.225 on every channel, RGB order.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import torch

from .. import checkpoints
from ..backends import make_backend
from ..geometry import pose_vec_to_T_np
from ..models import DispResNet, PoseResNet
from ..pose_refinement import RefinementSettings, grey_pyramid, midpoint_motion, refine_pose, templates_for
from .base import CameraFrame, DepthEstimator, DepthResult, InputError

log = logging.getLogger(__name__)

NORM_MEAN = 0.45
NORM_STD = 0.225


def network_input(rgb: np.ndarray, hw: tuple[int, int], device='cpu') -> torch.Tensor:
    """RGB uint8 [H,W,3] -> the normalised fp32 [1,3,h,w] tensor SC-Depth's networks take at
    resolution hw (bilinear resize when the image is another size)."""
    h, w = hw
    if rgb.shape[:2] != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(np.ascontiguousarray(rgb)).to(device)
    x = x.permute(2, 0, 1).unsqueeze(0).to(torch.float32).div_(255.0)
    return (x - NORM_MEAN) / NORM_STD


DEFAULT_CHECKPOINT_NAME = 'scdepth_default.pt'


def default_checkpoint() -> Path | None:
    """The SC-Depth checkpoint shipped with the package, if present."""
    path = Path(str(resources.files('depth_perception') / 'data' / DEFAULT_CHECKPOINT_NAME))
    return path if path.is_file() else None


def refined_translation_gain(weights) -> float:
    """The checkpoint's gain for refined translations (`finalise_model --calibrate-on`), 1 if none.

    Refinement puts the translation in the depth's units, but the pixels that drive the alignment
    (textured, mostly near) carry a slightly different scale than the median depth that
    `depth_scale` is fitted to: 5 % on the synthetic validation set. The gain, fitted on
    validation sequences, makes one `depth_scale` serve both."""
    gain = ((weights.metadata.get('provenance') or {}).get('refined_translation_gain', 1.0)
            if weights is not None else 1.0)
    if not isinstance(gain, (int, float)) or not np.isfinite(gain) or gain <= 0:
        raise checkpoints.CheckpointError(
            f'{weights.source}: provenance refined_translation_gain must be a positive number, got {gain!r}')
    return float(gain)


def pick_device(device: str) -> torch.device:
    if device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'device {device!r} requested but CUDA is not available')
    return torch.device(device)


@dataclass
class SCDepthConfig:
    checkpoint: str = ''            # '' = the packaged default model
    pose_checkpoint: str = ''       # separate pose file (SC-SfMLearner releases)
    resolution_hw: tuple[int, int] | None = None   # None: the checkpoint's training size
    device: str = 'auto'
    fp16: bool = False              # half precision on CUDA only
    depth_scale: float = 1.0        # metres per model unit (depth, cloud and motion alike)
    min_depth_m: float = 0.0        # depth outside [min, max] becomes NaN (0 = no limit)
    max_depth_m: float = 0.0
    estimate_motion: bool = True
    num_threads: int = 0            # torch CPU threads (0 = torch default)
    backend: str = 'eager'          # eager | torch | onnxruntime | auto (see depth_perception.backends)
    precision: str = 'fp32'         # fp32 | fp16 | bf16 | int8 (onnxruntime on CPU)
    onnx_dir: str = ''              # ONNX files for backend onnxruntime ('' = export in memory)
    pose_refinement: bool = True    # refine the pose net's motion photometrically against the depth


FALLBACK_RESOLUTION_HW = (256, 320)


class SCDepthEstimator(DepthEstimator):
    name = 'scdepth'

    def __init__(self, config: SCDepthConfig | None = None, **overrides):
        cfg = config or SCDepthConfig()
        for k, v in overrides.items():
            setattr(cfg, k, v)
        self.config = cfg
        if cfg.depth_scale <= 0 or not np.isfinite(cfg.depth_scale):
            raise ValueError(f'depth_scale must be a positive number of metres per unit, got {cfg.depth_scale}')
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        self.device = pick_device(cfg.device)
        # the older `fp16` switch means fp16 on CUDA only
        precision = 'fp16' if (cfg.fp16 and cfg.precision == 'fp32' and self.device.type == 'cuda') \
            else cfg.precision

        path = cfg.checkpoint or default_checkpoint()
        if path:
            self.weights = checkpoints.read_scdepth_checkpoint(path, cfg.pose_checkpoint or None)
            self.weights_description = (f'{self.weights.source_format} checkpoint {path}'
                                        + (f' + pose {cfg.pose_checkpoint}' if cfg.pose_checkpoint else ''))
        else:
            self.weights = None
            self.weights_description = ('UNTRAINED randomly initialised weights (seed 0): no '
                                        'checkpoint given and none packaged; depth is meaningless')
            log.warning(self.weights_description)

        w = self.weights
        self.depth_net = DispResNet(w.num_layers if w else 18, w.upsample_mode if w else 'bilinear')
        self.pose_net = PoseResNet(18) if cfg.estimate_motion else None
        if w is None:
            torch.manual_seed(0)
            self.depth_net = DispResNet(18)
            self.pose_net = PoseResNet(18) if cfg.estimate_motion else None
        else:
            if w.depth_state is None:
                raise checkpoints.CheckpointError(f'{w.source}: holds no depth network weights')
            report = checkpoints.load_strict(self.depth_net, w.depth_state, w.source,
                                             f'DispResNet-{w.num_layers}')
            log.info('depth weights from %s: %s', w.source, report.summary())
            if self.pose_net is not None:
                if w.pose_state is None:
                    log.warning('%s has no pose network; ego-motion disabled', w.source)
                    self.pose_net = None
                else:
                    report = checkpoints.load_strict(self.pose_net, w.pose_state, w.source, 'PoseResNet-18')
                    log.info('pose weights from %s: %s', w.source, report.summary())
        for net in (self.depth_net, self.pose_net):
            if net is not None:
                net.to(self.device, torch.float32).eval()

        self.resolution_hw = tuple(cfg.resolution_hw or self._checkpoint_resolution())
        h, w_ = self.resolution_hw
        # The decoder reflection-pads the 1/32-scale features, which needs them >= 2 px.
        if h % 32 or w_ % 32 or h < 64 or w_ < 64:
            raise ValueError(f'network resolution {h}x{w_} must be multiples of 32, at least 64x64')
        self.backend = make_backend(cfg.backend, precision, self.depth_net, self.pose_net, self.device,
                                    onnx_dir=cfg.onnx_dir, num_threads=cfg.num_threads,
                                    calibration_hw=self.resolution_hw)
        self._prev = None   # the previous frame, prepared for the backend
        self._prev_pyramid = None   # ... and as a grey pyramid for pose refinement
        self._prev_depth = None     # ... and its depth (model units), for the backward alignment
        self._prev_T = None         # the last motion, a second starting guess for refinement
        self.refinement = RefinementSettings()
        self.refinement_stats = {'accepted': 0, 'rejected': 0}
        self.refined_translation_gain = refined_translation_gain(w)

    def _checkpoint_resolution(self) -> tuple[int, int]:
        if self.weights is not None:
            res = self.weights.metadata.get('training_resolution_hw')
            if res:
                return int(res[0]), int(res[1])
            dataset = str(self.weights.hparams.get('dataset_name', ''))
            sizes = {'kitti': (256, 832), 'ddad': (384, 640)}
            if dataset:
                return sizes.get(dataset, FALLBACK_RESOLUTION_HW)
        return FALLBACK_RESOLUTION_HW

    # ------------------------------------------------------------------ building blocks
    def preprocess(self, rgb: np.ndarray) -> torch.Tensor:
        """RGB uint8 [H,W,3] -> normalised fp32 [1,3,h,w] tensor at the network resolution."""
        return network_input(rgb, self.resolution_hw, self.device)

    def model_depth(self, x) -> torch.Tensor:
        """Depth in model units [B,1,h,w] (1 / disparity) of a backend-prepared input."""
        return 1.0 / self.backend.disparity(x)

    def relative_pose(self, x_curr, x_prev) -> np.ndarray:
        """T_prev_curr in model units (pose_net(target=curr, reference=prev)), prepared inputs."""
        return pose_vec_to_T_np(self.backend.pose(x_curr, x_prev)[0].cpu().numpy())

    # -------------------------------------------------------------------- the interface
    def estimate(self, frame: CameraFrame) -> DepthResult:
        frame.validate()
        t0 = time.perf_counter()
        x = self.backend.prepare(self.preprocess(frame.rgb))
        t1 = time.perf_counter()
        model_depth = self.model_depth(x)[0, 0].cpu().numpy()
        t2 = time.perf_counter()
        T = None
        t3 = t2
        if self.pose_net is not None:
            if self._prev is not None:
                T = self.relative_pose(x, self._prev)
            t3 = time.perf_counter()
            pyramid = (grey_pyramid(frame.rgb, frame.K, self.refinement)
                       if self.config.pose_refinement and frame.K is not None else None)
            if T is not None:
                refined = pyramid is not None and self._prev_pyramid is not None
                if refined:
                    T, refined = self._refine(T, pyramid, model_depth)
                self._prev_T = T.copy()     # the next frame's guess, in the depth's own units
                T[:3, 3] *= self.config.depth_scale * (self.refined_translation_gain if refined else 1.0)
            self._prev, self._prev_pyramid, self._prev_depth = x, pyramid, model_depth
        t3r = time.perf_counter()
        if not np.all(np.isfinite(model_depth)):
            raise InputError('network produced non-finite depth')
        depth_m = self.to_metric(model_depth, frame.rgb.shape[:2])
        t4 = time.perf_counter()
        return DepthResult(depth_m=depth_m, model_depth=model_depth, stamp_ns=frame.stamp_ns,
                           T_prev_curr=T, timings_ms={
                               'preprocess': 1e3 * (t1 - t0), 'depth_net': 1e3 * (t2 - t1),
                               'pose_net': 1e3 * (t3 - t2), 'pose_refinement': 1e3 * (t3r - t3),
                               'postprocess': 1e3 * (t4 - t3r)})

    def _refine(self, T_net: np.ndarray, pyramid, model_depth: np.ndarray) -> tuple[np.ndarray, bool]:
        """Photometric refinement: forward through this frame's depth, from the network's motion
        and from the last motion (the better fit wins), then backward through the previous
        frame's depth; the two directions' depth errors bias the motion oppositely, so their
        midpoint is kept (held-out translation RPE 2.9 -> 2.2 cm on 16 sequences). Returns the
        motion and whether it replaced the network's."""
        guesses = [T_net] + ([self._prev_T] if self._prev_T is not None else [])
        best, best_cost = T_net, np.inf
        templates = templates_for(pyramid, model_depth, self.refinement)
        for guess in guesses:
            T, info = refine_pose(guess, templates, self._prev_pyramid, settings=self.refinement)
            cost = info.get('cost_final', info.get('cost_init', np.inf))
            if info['accepted'] and cost < best_cost:
                best, best_cost = T, cost
        T_back, info = refine_pose(np.linalg.inv(best), self._prev_pyramid, pyramid, self._prev_depth,
                                   self.refinement)
        if info['accepted']:
            best = midpoint_motion(best, np.linalg.inv(T_back))
        self.refinement_stats['accepted' if best is not T_net else 'rejected'] += 1
        return best, best is not T_net

    def to_metric(self, model_depth: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
        """Scale to metres, resize to the input resolution and mark out-of-range as NaN."""
        depth = model_depth.astype(np.float32) * np.float32(self.config.depth_scale)
        if depth.shape != tuple(out_hw):
            depth = cv2.resize(depth, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)
        lo, hi = self.config.min_depth_m, self.config.max_depth_m
        if lo > 0 or hi > 0:
            invalid = (depth < lo) if lo > 0 else np.zeros(depth.shape, bool)
            if hi > 0:
                invalid |= depth > hi
            depth[invalid] = np.nan
        return depth

    def reset(self) -> None:
        self._prev = None
        self._prev_pyramid = None
        self._prev_depth = None
        self._prev_T = None

    def describe(self) -> str:
        h, w = self.resolution_hw
        return (f'SC-Depth DispResNet-{self.depth_net.num_layers} at {h}x{w} on {self.device} '
                f'({self.weights_description}); backend {self.backend.describe()}; '
                f'depth_scale {self.config.depth_scale} m/unit'
                + ('; motion: pose net + photometric refinement' if self.pose_net is not None
                   and self.config.pose_refinement else '')
                + (f' (refined translation gain {self.refined_translation_gain:.4f})'
                   if self.pose_net is not None and self.config.pose_refinement
                   and self.refined_translation_gain != 1.0 else ''))
