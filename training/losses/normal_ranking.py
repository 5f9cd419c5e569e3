"""SC-Depth V3 edge-guided normal ranking loss (sc_depth_pl `EdgeguidedNormalRankingLoss`).

Anchors are edge pixels (Sobel magnitude >= 0.1 max) of the image's first channel and of the
pseudo-normals (5 px border removed); pixels near pseudo-depth edges (3x3 dilation) are
excluded. Around each anchor four points lie along the gradient direction at distances
3..19 px (two on each side); pairs (a,b), (b,c), (c,d) compare | n_A . n_B | of the predicted
normals with that of the pseudo-normals (L1). The reference's cos-threshold arguments are
unused and are not reproduced.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

EDGE_FRACTION = 0.1
BORDER_PX = 5
MIN_DIST_PX, MAX_DIST_PX = 3, 20    # randint upper bound is exclusive: 3..19
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def _sobel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised Sobel responses of each channel, valid region only then zero-padded by 1."""
    c = x.shape[1]
    kx = _SOBEL_X.to(x).view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    ky = _SOBEL_Y.to(x).view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    gx = F.pad(F.conv2d(x, kx, groups=c), (1, 1, 1, 1))
    gy = F.pad(F.conv2d(x, ky, groups=c), (1, 1, 1, 1))
    return gx, gy


def image_edges(gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge magnitude and direction (atan2(gy, gx)) of a one-channel map [B,1,H,W]."""
    gx, gy = _sobel(gray)
    return torch.sqrt(gx ** 2 + gy ** 2), torch.atan2(gy, gx)


def normal_edges(normals: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of a normal map: channel-mean of |Sobel| per axis, then magnitude and direction."""
    gx, gy = _sobel(normals)
    gx, gy = gx.abs().mean(1, keepdim=True), gy.abs().mean(1, keepdim=True)
    return torch.sqrt(gx ** 2 + gy ** 2), torch.atan2(gy, gx)


def edge_guided_pairs(edges: torch.Tensor, thetas: torch.Tensor, h: int, w: int,
                      generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat pixel indices (A, B) of the sampled pairs for one image (edges, thetas: [H*W])."""
    dev = edges.device
    gen_dev = 'cpu' if generator is None else generator.device
    edge_idx = (edges >= edges.max() * EDGE_FRACTION).nonzero(as_tuple=True)[0]
    n = edge_idx.numel()
    if n == 0:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        return empty, empty
    anchors = edge_idx[torch.randint(0, n, (n,), generator=generator, device=gen_dev).to(dev)]
    theta = thetas[anchors]
    row0 = torch.div(anchors, w, rounding_mode='floor')
    col0 = anchors - row0 * w
    dist = torch.randint(MIN_DIST_PX, MAX_DIST_PX, (4, n), generator=generator, device=gen_dev).to(dev)
    dist = dist.to(theta.dtype) * torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=theta.dtype, device=dev)[:, None]
    col = (col0[None] + torch.round(dist * theta.cos().abs()[None]).long()).clamp(0, w - 1)
    row = (row0[None] + torch.round(dist * theta.sin().abs()[None]).long()).clamp(0, h - 1)
    idx = row * w + col
    return torch.cat([idx[0], idx[1], idx[2]]), torch.cat([idx[1], idx[2], idx[3]])


def edge_guided_normal_ranking_loss(pseudo_depth: torch.Tensor, image: torch.Tensor,
                                    pred_normals: torch.Tensor, pseudo_normals: torch.Tensor,
                                    generator: torch.Generator | None = None) -> torch.Tensor:
    """pseudo_depth [B,1,H,W], image [B,3,H,W] (normalised), normals [B,3,H,W] -> scalar."""
    b, _, h, w = pred_normals.shape
    edges_img, thetas_img = image_edges(image[:, :1])
    edges_nrm, thetas_nrm = normal_edges(pseudo_normals)
    border = torch.ones_like(edges_nrm, dtype=torch.bool)
    border[:, :, BORDER_PX:-BORDER_PX, BORDER_PX:-BORDER_PX] = False
    edges_nrm = edges_nrm.masked_fill(border, 0)
    edges_depth, _ = image_edges(pseudo_depth)
    depth_edge = (edges_depth >= edges_depth.amax(dim=(1, 2, 3), keepdim=True).max() * EDGE_FRACTION).float()
    near_depth_edge = F.conv2d(depth_edge, depth_edge.new_ones(1, 1, 3, 3), padding=1) > 0
    edges_img = edges_img.masked_fill(near_depth_edge, 0)
    edges_nrm = edges_nrm.masked_fill(near_depth_edge, 0)

    pred = pred_normals.reshape(b, 3, -1)
    pseudo = pseudo_normals.reshape(b, 3, -1)
    losses = []
    for i in range(b):
        for edges, thetas in ((edges_img, thetas_img), (edges_nrm, thetas_nrm)):
            a, bb = edge_guided_pairs(edges[i].reshape(-1), thetas[i].reshape(-1), h, w, generator)
            cos_pseudo = (pseudo[i][:, a] * pseudo[i][:, bb]).sum(0).abs()
            cos_pred = (pred[i][:, a] * pred[i][:, bb]).sum(0).abs()
            losses.append((cos_pseudo - cos_pred).abs())
    all_losses = torch.cat(losses)
    return all_losses.mean() if all_losses.numel() else pred_normals.sum() * 0
