"""DepthNet estimator: metric depth from two frames of a moving camera and its known motion.

Kind of depth: **metric**, because the displacement between the frames is supplied (poses
from odometry/TF, or a constant velocity). DepthNet's output is depth at the nominal
displacement (0.3 m for Still Box models), so depth_m = output * |d| / d_nominal.

Per frame t and each frame shift k (config `frame_shifts`), the pair (t-k, t):
1. both images are resized so that their focal length equals the network's training focal
   length (Still Box: 90 deg FOV, f = W/2 of the training width), because DepthNet reads
   depth from disparity in pixels, which scales with the focal length;
2. the earlier frame is de-rotated by the infinite homography K R_prev_curr K^-1 when the
   relative rotation is known; the pair is skipped (and counted) when the rotation is
   unknown or above `max_rotation_deg`, or the displacement is unknown or below
   `min_displacement_m`;
3. all usable pairs run as one batch; the outputs are fused per pixel by the rule in
   `depthnet_fusion` and the depth is upsampled (bilinear) to the input resolution.
Pixels the de-rotated earlier frame does not cover are NaN.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..geometry import intrinsics_from_fov, scale_intrinsics
from ..rotation_refinement import grey_for_refinement, refine_rotation
from ..stabilization import derotate, rotation_angle_deg
from .base import CameraFrame, DepthEstimator, DepthResult, InputError
from .depthnet_fusion import DEFAULT_BAND, DEFAULT_SOFTNESS, fuse
from .depthnet_runner import DepthNetRunner, upsample

log = logging.getLogger(__name__)

STILLBOX_HFOV_DEG = 90.0
MIN_NETWORK_SIDE_PX = 32
SKIP_REASONS = ('no_earlier_frame', 'rotation_unknown', 'rotation_too_large',
                'displacement_unknown', 'displacement_too_small', 'bad_timestamps')


@dataclass
class DepthNetConfig:
    checkpoint: str = ''
    device: str = 'auto'
    frame_shifts: tuple[int, ...] = (1,)           # frames between the two images of a pair
    nominal_displacement_m: float = 0.3            # displacement the network's output assumes
    network_focal_px: float = 0.0                  # 0: from the checkpoint (training width / 2)
    velocity_mps: tuple[float, float, float] | None = None  # constant velocity when no poses
    assume_stabilized: bool = False                # no orientation given -> camera does not rotate
    max_rotation_deg: float = 20.0                 # larger relative rotations are skipped
    min_displacement_m: float = 0.02               # smaller displacements are skipped
    # Correct the given rotation from the images (rotation_refinement.py): for rotations known
    # to a degree or so (IMU, odometry, even ground truth) where DepthNet needs ~0.1 deg.
    refine_rotation: bool = False
    fusion_band: tuple[float, float] = DEFAULT_BAND  # network outputs it resolves best (m at d_nominal)
    fusion_softness: float = DEFAULT_SOFTNESS      # log-space width of the shift weights; 0 = hard selection
    min_depth_m: float = 0.0                       # outside [min, max] -> NaN (0 = no limit)
    max_depth_m: float = 0.0
    num_threads: int = 0
    backend: str = 'eager'                         # eager | torch | onnxruntime | auto (depth_perception.backends)
    precision: str = 'fp32'                        # fp32 | fp16 | bf16
    onnx_dir: str = ''                             # depthnet.onnx for backend onnxruntime ('' = export in memory)


@dataclass
class PairStatus:
    shift: int
    used: bool
    reason: str = ''                 # skip reason (one of SKIP_REASONS) when not used
    displacement_m: float = float('nan')
    rotation_deg: float = float('nan')
    rotation_correction_deg: float = float('nan')   # by refine_rotation (nan: not refined)


@dataclass
class DepthNetResult(DepthResult):
    pairs: list[PairStatus] = field(default_factory=list)
    shift_map: np.ndarray | None = None      # [h,w] frame shift chosen per network-output pixel
    outputs: dict = field(default_factory=dict)   # shift -> raw network output [h,w]


class PairsSkipped(InputError):
    """No pair of this frame is usable; the message says why for every shift."""


@dataclass
class _Entry:
    rgb: np.ndarray                  # at the network focal length
    K: np.ndarray                    # intrinsics of `rgb`
    R_world_cam: np.ndarray | None
    p_world: np.ndarray | None
    stamp_ns: int
    grey: np.ndarray | None = None   # refine_rotation: grey at <= REFINE_WIDTH_PX wide ...
    K_grey: np.ndarray | None = None  # ... and its intrinsics


class DepthNetEstimator(DepthEstimator):
    name = 'depthnet'

    def __init__(self, config: DepthNetConfig | None = None, **overrides):
        cfg = config or DepthNetConfig()
        for k, v in overrides.items():
            setattr(cfg, k, v)
        shifts = tuple(int(s) for s in cfg.frame_shifts)
        if not shifts or min(shifts) < 1 or len(set(shifts)) != len(shifts):
            raise ValueError(f'frame_shifts must be distinct positive integers, got {cfg.frame_shifts}')
        cfg.frame_shifts = tuple(sorted(shifts))
        if not cfg.nominal_displacement_m > 0:
            raise ValueError(f'nominal_displacement_m must be > 0 m, got {cfg.nominal_displacement_m}')
        if cfg.velocity_mps is not None and len(cfg.velocity_mps) != 3:
            raise ValueError(f'velocity_mps must be 3 numbers (m/s, camera optical frame), got {cfg.velocity_mps}')
        self.config = cfg
        if cfg.num_threads > 0:
            import torch
            torch.set_num_threads(cfg.num_threads)
        self.runner = DepthNetRunner(cfg.checkpoint, cfg.device, backend=cfg.backend, precision=cfg.precision,
                                     onnx_dir=cfg.onnx_dir, num_threads=cfg.num_threads)
        self.network_focal_px = float(cfg.network_focal_px or self.runner.weights.training_focal_px or 0)
        if not self.network_focal_px > 0:
            raise ValueError(f'{cfg.checkpoint}: the training focal length is unknown (not in the file '
                             'or its name); set network_focal_px (Still Box: training width / 2)')
        self.counters: Counter = Counter()
        self.last_inputs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._history: deque[_Entry] = deque(maxlen=max(cfg.frame_shifts) + 1)

    # ----------------------------------------------------------------- building blocks
    @staticmethod
    def input_K(frame: CameraFrame) -> np.ndarray:
        """The frame's K; without one, Still Box-like: 90 deg horizontal FOV (f = W/2)."""
        if frame.K is not None:
            return np.asarray(frame.K, np.float64)
        h, w = frame.rgb.shape[:2]
        return intrinsics_from_fov(w, h, STILLBOX_HFOV_DEG)

    def network_image(self, frame: CameraFrame) -> tuple[np.ndarray, np.ndarray]:
        """Resize so that the focal length equals the network's; returns (rgb, K of it).

        Without K the image is taken as Still Box-like: 90 deg horizontal FOV (f = W/2).
        """
        h, w = frame.rgb.shape[:2]
        K = self.input_K(frame)
        nw = int(round(w * self.network_focal_px / K[0, 0]))
        nh = int(round(h * self.network_focal_px / K[1, 1]))
        if min(nw, nh) < MIN_NETWORK_SIDE_PX:
            raise InputError(f'image {w}x{h} with fx={K[0, 0]:.1f} becomes {nw}x{nh} at the network '
                             f'focal length {self.network_focal_px:g} px; too small for DepthNet')
        rgb = frame.rgb
        if (nw, nh) != (w, h):
            interp = cv2.INTER_AREA if nw < w else cv2.INTER_LINEAR
            rgb = cv2.resize(rgb, (nw, nh), interpolation=interp)
        return rgb, scale_intrinsics(K, nw / w, nh / h)

    def _pair(self, prev: _Entry, curr: _Entry, shift: int):
        """(PairStatus, earlier rgb or None, valid mask or None) for one pair."""
        cfg = self.config
        if prev.R_world_cam is not None and curr.R_world_cam is not None:
            R_prev_curr = prev.R_world_cam.T @ curr.R_world_cam
        elif cfg.assume_stabilized:
            R_prev_curr = np.eye(3)
        else:
            return PairStatus(shift, False, 'rotation_unknown'), None, None
        angle = rotation_angle_deg(R_prev_curr)
        if angle > cfg.max_rotation_deg:
            return PairStatus(shift, False, 'rotation_too_large', rotation_deg=angle), None, None
        if prev.p_world is not None and curr.p_world is not None:
            disp = float(np.linalg.norm(curr.p_world - prev.p_world))
        elif cfg.velocity_mps is not None:
            dt = (curr.stamp_ns - prev.stamp_ns) * 1e-9
            if dt <= 0:
                return PairStatus(shift, False, 'bad_timestamps', rotation_deg=angle), None, None
            disp = float(np.linalg.norm(cfg.velocity_mps)) * dt
        else:
            return PairStatus(shift, False, 'displacement_unknown', rotation_deg=angle), None, None
        if disp < cfg.min_displacement_m:
            return PairStatus(shift, False, 'displacement_too_small', disp, angle), None, None
        correction = float('nan')
        if cfg.refine_rotation:
            R_prev_curr, correction = self._refine(prev, curr, shift, R_prev_curr)
        if angle > 1e-6 or correction > 0:
            earlier, valid = derotate(prev.rgb, curr.K, R_prev_curr)
        else:
            earlier, valid = prev.rgb, None
        return PairStatus(shift, True, '', disp, angle, correction), earlier, valid

    def _refine(self, prev: _Entry, curr: _Entry, shift: int, R_prev_curr: np.ndarray):
        """(rotation, correction in deg or nan) after refine_rotation; counts what happened."""
        if prev.p_world is not None and curr.p_world is not None and curr.R_world_cam is not None:
            t_dir = curr.R_world_cam.T @ (curr.p_world - prev.p_world)
        elif self.config.velocity_mps is not None:
            t_dir = np.asarray(self.config.velocity_mps, np.float64)
        else:
            t_dir = np.zeros(3)
        r = refine_rotation(curr.grey, prev.grey, curr.K_grey, R_prev_curr, t_dir)
        self.counters[f'shift{shift}_rotation_' + ('refined' if r.accepted else r.reason)] += 1
        return (r.R_prev_curr, r.correction_deg) if r.accepted else (R_prev_curr, float('nan'))

    # -------------------------------------------------------------------- the interface
    def estimate(self, frame: CameraFrame, T_world_cam: np.ndarray | None = None,
                 R_world_cam: np.ndarray | None = None) -> DepthNetResult:
        """Depth of `frame` from the frames before it.

        T_world_cam: camera-to-world pose of this frame (optical frame, metres): gives both
            rotation and position. R_world_cam: orientation only (e.g. an IMU); the
            displacement then comes from `velocity_mps`. Raises PairsSkipped when no pair
            is usable (the frame is still kept for later pairs).
        """
        frame.validate()
        t0 = time.perf_counter()
        R, p = self._motion(T_world_cam, R_world_cam)
        rgb, K = self.network_image(frame)
        curr = _Entry(rgb, K, R, p, int(frame.stamp_ns))
        if self.config.refine_rotation:
            curr.grey, curr.K_grey = grey_for_refinement(frame.rgb, self.input_K(frame))
        if self._history and self._history[-1].rgb.shape != rgb.shape:
            log.info('image size changed; DepthNet frame history cleared')
            self._history.clear()
        history = list(self._history)
        self._history.append(curr)
        self.counters['frames'] += 1

        statuses, batch, masks = [], [], []
        for k in self.config.frame_shifts:
            if len(history) < k:
                status, earlier, valid = PairStatus(k, False, 'no_earlier_frame'), None, None
            else:
                status, earlier, valid = self._pair(history[-k], curr, k)
            statuses.append(status)
            self.counters[f'shift{k}_' + ('used' if status.used else status.reason)] += 1
            if status.used:
                batch.append((earlier, rgb))
                masks.append(valid)
        self.last_inputs = {s.shift: pair for s, pair in zip([s for s in statuses if s.used], batch)}
        if not batch:
            self.counters['frames_without_pair'] += 1
            raise PairsSkipped('no usable DepthNet pair: ' +
                               ', '.join(f'shift {s.shift}: {s.reason}' for s in statuses))
        t1 = time.perf_counter()
        outputs = self.runner.predict(batch)
        t2 = time.perf_counter()
        used = [s for s in statuses if s.used]
        depth_net_res, chosen = fuse(list(outputs), [s.displacement_m for s in used],
                                     self.config.nominal_displacement_m, self.config.fusion_band,
                                     self.config.fusion_softness, masks)
        if not np.all(np.isfinite(depth_net_res)):
            raise InputError('network produced non-finite depth')
        h, w = frame.rgb.shape[:2]
        depth_m = upsample(depth_net_res, (h, w))
        self._apply_masks(depth_m, masks, chosen, used, (h, w))
        self._apply_range(depth_m)
        self.counters['frames_with_depth'] += 1
        t3 = time.perf_counter()
        shift_of = np.array([s.shift for s in used])
        return DepthNetResult(
            depth_m=depth_m, model_depth=outputs[0], stamp_ns=frame.stamp_ns, pairs=statuses,
            shift_map=shift_of[chosen], outputs={s.shift: o for s, o in zip(used, outputs)},
            timings_ms={'preprocess': 1e3 * (t1 - t0), 'depth_net': 1e3 * (t2 - t1),
                        'postprocess': 1e3 * (t3 - t2)})

    @staticmethod
    def _motion(T_world_cam, R_world_cam):
        if T_world_cam is not None:
            T = np.asarray(T_world_cam, np.float64)
            if T.shape != (4, 4) or not np.all(np.isfinite(T)):
                raise InputError(f'T_world_cam must be a finite 4x4 matrix, got shape {T.shape}')
            return T[:3, :3], T[:3, 3].copy()
        if R_world_cam is not None:
            R = np.asarray(R_world_cam, np.float64)
            if R.shape != (3, 3) or not np.all(np.isfinite(R)):
                raise InputError(f'R_world_cam must be a finite 3x3 matrix, got shape {R.shape}')
            return R, None
        return None, None

    @staticmethod
    def _apply_masks(depth_m, masks, chosen, used, out_hw) -> None:
        """NaN where the chosen pair's de-rotated earlier frame had no content."""
        h, w = out_hw
        chosen_full = None
        for i, valid in enumerate(masks):
            if valid is None:
                continue
            if chosen_full is None:
                chosen_full = cv2.resize(chosen.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            covered = cv2.resize(valid.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            depth_m[(chosen_full == i) & ~covered] = np.nan

    def _apply_range(self, depth_m) -> None:
        lo, hi = self.config.min_depth_m, self.config.max_depth_m
        with np.errstate(invalid='ignore'):
            if lo > 0:
                depth_m[depth_m < lo] = np.nan
            if hi > 0:
                depth_m[depth_m > hi] = np.nan

    def reset(self) -> None:
        self._history.clear()

    def describe(self) -> str:
        c = self.config
        return (f'{self.runner.describe()}; metric depth = output x |d| / {c.nominal_displacement_m:g} m; '
                f'network focal {self.network_focal_px:g} px; frame shifts {list(c.frame_shifts)}')
