"""A DepthNet checkpoint ready to run on image pairs: preprocessing, forward, resizing.

Shared by the estimator (stream + motion) and `depth-perception infer --method depthnet`
(folders of pairs), so both feed the network exactly as the reference does:
[earlier, later] RGB on channels, x/255 then (x - 0.5)/0.2, eval-mode network; the raw
output is [h/4, w/4] and is upsampled bilinearly with align_corners=False.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.depthnet import make_depthnet_backend
from ..checkpoints_depthnet import DepthNetWeights, build_depthnet, read_depthnet_checkpoint
from .scdepth import pick_device

NORM_MEAN = 0.5
NORM_STD = 0.2
DEFAULT_CHECKPOINT_NAME = 'depthnet_default.pt'


def default_checkpoint() -> Path | None:
    """The DepthNet model shipped with the package (64 px, synthetic flights; training/README.md), if present."""
    path = Path(str(resources.files('depth_perception') / 'data' / DEFAULT_CHECKPOINT_NAME))
    return path if path.is_file() else None


class DepthNetRunner:
    def __init__(self, checkpoint: str | Path, device: str = 'auto', *, backend: str = 'eager',
                 precision: str = 'fp32', onnx_dir: str = '', num_threads: int = 0):
        checkpoint = checkpoint or default_checkpoint()
        if not checkpoint:
            raise ValueError(f'DepthNet needs a checkpoint (--checkpoint / checkpoint parameter): '
                             f'the packaged default ({DEFAULT_CHECKPOINT_NAME}) is missing from this install')
        self.weights: DepthNetWeights = read_depthnet_checkpoint(checkpoint)
        self.device = pick_device(device)
        self.net = build_depthnet(self.weights).to(self.device)
        self.backend = make_depthnet_backend(backend, precision, self.net, self.device,
                                             onnx_dir=onnx_dir, num_threads=num_threads)

    def describe(self) -> str:
        w = self.weights
        focal = f', trained at f={w.training_focal_px:g} px' if w.training_focal_px else ''
        return (f'DepthNet (bn={w.batch_norm}, activation={w.activation}, clamp={w.clamp}) from '
                f'{w.layout} checkpoint {w.source}{focal} on {self.device}, backend {self.backend.describe()}')

    def to_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device)
        x = x.permute(2, 0, 1).to(torch.float32).div_(255.0)
        return (x - NORM_MEAN) / NORM_STD

    @torch.inference_mode()
    def predict(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Raw depth [N, h/4, w/4] float32 for N (earlier, later) uint8 RGB pairs of one size."""
        shapes = {p.shape for pair in pairs for p in pair}
        if len(shapes) != 1:
            raise ValueError(f'all images of a DepthNet batch must have one size, got {sorted(shapes)}')
        x = torch.stack([torch.cat([self.to_tensor(a), self.to_tensor(b)], 0) for a, b in pairs])
        return self.backend(x).cpu().numpy()


def upsample(depth: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear (align_corners=False, as the reference's run_inference.py) to out_hw."""
    t = torch.from_numpy(np.ascontiguousarray(depth, np.float32))[None, None]
    return F.interpolate(t, size=tuple(out_hw), mode='bilinear', align_corners=False)[0, 0].numpy()
