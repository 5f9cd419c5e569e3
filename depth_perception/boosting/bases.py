"""Single estimates of the base networks (`singleestimate` of Boosting), one class per base.

`estimate(rgb, msize)` takes the float64 RGB image in [0, 1] (any size) and returns a float32
[H,W] map at the image's size. Every base has a `receptive_field` (the size it was trained
at) and says what its values are (`kind`). Preprocessing follows the reference exactly:

- MiDaS v2: resize keeping aspect with the long side bounded by msize, both sides multiples
  of 32 (np.round, floor when over the bound), bicubic; ImageNet mean/std in float64, then
  float32; output resized bicubic to the image and min-max normalised (0 if flat).
- LeReS: the RGB image is channel-flipped (a reference quirk: the network sees BGR),
  resized to msize x msize ignoring aspect (bilinear), ImageNet mean/std in float32;
  `depth - min + 0.01`, resized bicubic; not normalised.
- SC-Depth (this package's estimator): resized like MiDaS (bilinear, as SC-Depth's own
  preprocessing), (x - 0.45) / 0.225; its depth is turned into disparity 1/depth so that it
  points the same way as MiDaS' inverse depth, which the merge net was trained on.

`record`: when a list, every call appends (msize, network input, raw network output) so
the `--dump` option can show exactly what the network saw.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def multiple_of_32_upper_bound(h: int, w: int, msize: int) -> tuple[int, int]:
    """MiDaS `Resize(msize, msize, keep_aspect_ratio, ensure_multiple_of=32, 'upper_bound')`."""
    scale = min(msize / h, msize / w)

    def constrain(x: float) -> int:
        y = int(np.round(x / 32) * 32)
        if y > msize:
            y = int(np.floor(x / 32) * 32)
        if y < 0:
            y = int(np.ceil(x / 32) * 32)
        return y
    return constrain(scale * h), constrain(scale * w)


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    if hi - lo > np.finfo('float').eps:
        return (a - lo) / (hi - lo)
    return np.zeros_like(a)   # the reference returns the scalar 0 (and then fails)


class BoostBase:
    name = 'base'
    kind = 'relative'
    receptive_field = 384

    def __init__(self, net: torch.nn.Module | None, device: str | torch.device = 'cpu'):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval() if net is not None else None
        self.record: list | None = None

    def _run(self, x: torch.Tensor, msize: int) -> torch.Tensor:
        with torch.inference_mode():
            out = self.forward(x.to(self.device))
        if self.record is not None:
            self.record.append((int(msize), x.cpu().numpy(), out.float().cpu().numpy()))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def prepare(self, rgb: np.ndarray, msize: int) -> torch.Tensor:
        """[3,h,w] float32 network input for one image."""
        raise NotImplementedError

    def finish(self, out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """One network output -> the [H,W] float32 estimate at the image's size."""
        raise NotImplementedError

    def estimate(self, rgb: np.ndarray, msize: int) -> np.ndarray:
        if type(self).prepare is BoostBase.prepare:
            raise NotImplementedError
        return self.estimate_batch([rgb], msize)[0]

    def estimate_batch(self, rgbs: list, msize: int) -> list:
        """`estimate` for several images; inputs of equal size go through the net together.

        Each sample is computed exactly as alone (no cross-sample statistics), so batching
        changes results only by float rounding.
        """
        if type(self).prepare is BoostBase.prepare:   # a base with only `estimate`
            return [self.estimate(rgb, msize) for rgb in rgbs]
        inputs = [self.prepare(rgb, msize) for rgb in rgbs]
        outputs: list = [None] * len(rgbs)
        groups: dict = {}
        for i, x in enumerate(inputs):
            groups.setdefault(tuple(x.shape), []).append(i)
        for idx in groups.values():
            out = self._run(torch.stack([inputs[i] for i in idx]), msize).float().cpu().numpy()
            for j, i in enumerate(idx):
                outputs[i] = self.finish(out[j], rgbs[i])
        return outputs


class MidasBase(BoostBase):
    name = 'midas'
    kind = 'relative inverse depth (MiDaS v2; unknown scale and shift)'
    receptive_field = 384

    def prepare(self, rgb: np.ndarray, msize: int) -> torch.Tensor:
        h, w = multiple_of_32_upper_bound(rgb.shape[0], rgb.shape[1], msize)
        x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC)
        x = (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32))

    def finish(self, out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        pred = cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
        return _minmax(pred)


class LeresBase(BoostBase):
    name = 'leres'
    kind = 'relative depth (LeReS; unknown scale and shift)'
    receptive_field = 448

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The reference's `inference` (depth - min + 0.01) with the minimum per sample, so a
        # batch gives what each image gives alone.
        depth = self.net(x)
        return depth - depth.amin(dim=(1, 2, 3), keepdim=True) + 0.01

    def prepare(self, rgb: np.ndarray, msize: int) -> torch.Tensor:
        bgr = rgb[:, :, ::-1].copy()       # the reference feeds BGR to a net trained on RGB
        x = cv2.resize(bgr, (msize, msize)).astype(np.float32)
        x = torch.from_numpy(x.transpose(2, 0, 1).copy())
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32)[:, None, None]
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32)[:, None, None]
        return (x - mean) / std

    def finish(self, out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        return cv2.resize(out[0], (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)


class SCDepthBase(BoostBase):
    """This package's SC-Depth depth network as a boosting base (any size multiple of 32)."""

    name = 'scdepth'
    kind = 'relative disparity (SC-Depth 1/depth, normalised)'

    def __init__(self, estimator, device=None, receptive_field: int | None = None):
        super().__init__(estimator.depth_net, device or estimator.device)
        self.estimator = estimator
        self.net = self.net.float()
        h, w = estimator.resolution_hw
        self.receptive_field = int(receptive_field or max(h, w))

    def prepare(self, rgb: np.ndarray, msize: int) -> torch.Tensor:
        from ..estimators.scdepth import NORM_MEAN, NORM_STD
        h, w = multiple_of_32_upper_bound(rgb.shape[0], rgb.shape[1], msize)
        h, w = max(h, 64), max(w, 64)     # its decoder needs >= 2 px at 1/32 scale
        x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy(((x - NORM_MEAN) / NORM_STD).transpose(2, 0, 1).astype(np.float32))

    def finish(self, out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        # DispResNet outputs disparity (1/depth): near is large, as in MiDaS.
        disp = cv2.resize(out[0], (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
        return _minmax(disp)


class EstimatorBase(BoostBase):
    """Any `DepthEstimator` as a base, through its `estimate` (its own network size).

    The estimator resizes internally, so `msize` only matters through the crop it is given:
    patches still gain detail, the whole-image low/high pair is one estimate. Its depth is
    turned into disparity (1 / depth) and min-max normalised, like SCDepthBase.
    """

    name = 'estimator'
    kind = 'relative disparity (1/depth of the base estimator, normalised)'

    def __init__(self, estimator, receptive_field: int):
        super().__init__(None, 'cpu')
        self.estimator = estimator
        self.receptive_field = int(receptive_field)

    def estimate_batch(self, rgbs: list, msize: int) -> list:
        return [self.estimate(rgb, msize) for rgb in rgbs]

    def estimate(self, rgb: np.ndarray, msize: int) -> np.ndarray:
        from ..estimators import CameraFrame
        frame = CameraFrame(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))
        depth = self.estimator.estimate(frame).depth_m
        with np.errstate(divide='ignore', invalid='ignore'):
            disp = np.where(np.isfinite(depth) & (depth > 0), 1.0 / depth, 0.0).astype(np.float32)
        if self.record is not None:
            self.record.append((int(msize), frame.rgb, disp))
        return _minmax(cv2.resize(disp, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC))
