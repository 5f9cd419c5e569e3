"""Surface normals from a depth map (the kornia `depth_to_normals` recipe SC-Depth V3 uses).

Points are back-projected with `geometry.backproject`, differentiated along image columns
and rows with a normalised 3x3 Sobel filter (replicate padding), and the normal is the unit
cross product d(X)/du x d(X)/dv. In the optical frame (z forward) a surface facing the
camera therefore has a normal with positive z; only consistency matters for the losses,
which always compare normals computed by this same function.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .geometry import backproject

# Sobel derivative along columns (u); its transpose differentiates along rows (v).
# Divided by the sum of absolute weights (8) so a unit ramp has gradient 1 per pixel.
_SOBEL_U = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0


def sobel_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel image derivatives (d/du, d/dv) of [B,C,H,W], same size (replicate padding)."""
    c = x.shape[1]
    k_u = _SOBEL_U.to(x)
    kernel = torch.stack([k_u, k_u.t()]).unsqueeze(1).repeat(c, 1, 1, 1)   # [2C,1,3,3]
    grads = F.conv2d(F.pad(x, (1, 1, 1, 1), mode='replicate'), kernel, groups=c)
    grads = grads.view(x.shape[0], c, 2, *x.shape[-2:])
    return grads[:, :, 0], grads[:, :, 1]


def depth_to_normals(depth: torch.Tensor, K: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Depth [B,1,H,W] (along z) and intrinsics K [B,3,3] -> unit normals [B,3,H,W]."""
    points = backproject(depth, K)
    d_du, d_dv = sobel_gradients(points)
    return F.normalize(torch.cross(d_du, d_dv, dim=1), dim=1, eps=eps)
