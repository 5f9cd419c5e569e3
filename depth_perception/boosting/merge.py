"""The merge network's use in Boosting: `set_input`, the forward, and `doubleestimate`.

Inputs: channel 0 = the low-resolution ("outer") estimate, channel 1 = the high-resolution
("inner") one (swapping them changes the result by ~110 %). Each is min-max normalised to
[0, 1] and mapped to [-1, 1] (float32). The output is tanh, then (x + 1) / 2.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

PIX2PIX_SIZE = 1024
GPU_THRESHOLD = 1600 - 32     # the reference clamps every single inference size to this


def merge_size_px(net: torch.nn.Module, requested_px: int = 0) -> int:
    """The square size the merge net runs at: `requested_px`, or with 0 the net's own,
    2**num_downs (1024 for the reference's unet_1024; a reduced net from `train --config
    boost/merge` is trained at that size). Sizes the net cannot take are refused up front."""
    step = 2 ** int(getattr(net, 'num_downs', 10))
    size = int(requested_px) or step
    if size < step or size % step:
        raise ValueError(f'merge size {size} px: this merge net ({step.bit_length() - 1} '
                         f'down-samplings) runs at multiples of {step} px')
    return size


def _unit(t: torch.Tensor) -> torch.Tensor:
    lo, hi = torch.min(t), torch.max(t)
    if not hi > lo:           # the reference would divide by zero (NaN); a flat map stays flat
        return torch.zeros_like(t)
    return (t - lo) / (hi - lo)


def merge(net: torch.nn.Module, outer: np.ndarray, inner: np.ndarray,
          device: str | torch.device = 'cpu') -> np.ndarray:
    """(net(outer, inner) + 1) / 2 as float32 [S,S]; outer/inner are [S,S] maps."""
    return merge_batch(net, [outer], [inner], device)[0]


def merge_batch(net: torch.nn.Module, outers: list, inners: list,
                device: str | torch.device = 'cpu') -> np.ndarray:
    """`merge` for several pairs in one forward: [B,S,S]; each pair normalised on its own."""
    pairs = []
    for outer, inner in zip(outers, inners):
        o = torch.from_numpy(np.ascontiguousarray(outer, dtype=np.float32))[None]
        i = torch.from_numpy(np.ascontiguousarray(inner, dtype=np.float32))[None]
        pairs.append(torch.cat((_unit(o) * 2 - 1, _unit(i) * 2 - 1), 0))
    with torch.inference_mode():
        out = net(torch.stack(pairs).to(device)).float()
    return ((out + 1) / 2)[:, 0].cpu().numpy()


def single_estimate(base, rgb: np.ndarray, msize: int) -> np.ndarray:
    """The base's estimate at inference size min(msize, 1568)."""
    return base.estimate(rgb, min(int(msize), GPU_THRESHOLD))


def double_estimate(rgb: np.ndarray, base, net: torch.nn.Module, size1: int, size2: int,
                    pix2pixsize: int = PIX2PIX_SIZE, singles: dict | None = None) -> np.ndarray:
    """Merge of the estimates at size1 (low) and size2 (high), min-max normalised, [S,S].

    The same effective size is estimated once (the reference runs it twice, identically).
    `singles`, when a dict, receives the two single estimates keyed 'low' and 'high'.
    """
    s1, s2 = min(int(size1), GPU_THRESHOLD), min(int(size2), GPU_THRESHOLD)
    low = single_estimate(base, rgb, s1)
    high = low if s2 == s1 else single_estimate(base, rgb, s2)
    if singles is not None:
        singles['low'], singles['high'] = low, high
    est1 = cv2.resize(low, (pix2pixsize, pix2pixsize), interpolation=cv2.INTER_CUBIC)
    est2 = cv2.resize(high, (pix2pixsize, pix2pixsize), interpolation=cv2.INTER_CUBIC)
    out = torch.from_numpy(merge(net, est1, est2, base.device))
    return _unit(out).numpy()


def double_estimate_batch(rgbs: list, base, net: torch.nn.Module, size1: int, size2: int,
                          pix2pixsize: int = PIX2PIX_SIZE) -> list:
    """`double_estimate` for several images, each network run once for the whole batch."""
    s1, s2 = min(int(size1), GPU_THRESHOLD), min(int(size2), GPU_THRESHOLD)
    lows = base.estimate_batch(rgbs, s1)
    highs = lows if s2 == s1 else base.estimate_batch(rgbs, s2)
    size = (pix2pixsize, pix2pixsize)
    est1 = [cv2.resize(e, size, interpolation=cv2.INTER_CUBIC) for e in lows]
    est2 = [cv2.resize(e, size, interpolation=cv2.INTER_CUBIC) for e in highs]
    merged = merge_batch(net, est1, est2, base.device)
    return [_unit(torch.from_numpy(m)).numpy() for m in merged]
