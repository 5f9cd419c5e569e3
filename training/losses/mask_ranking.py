"""SC-Depth V3 dynamic-region ranking loss (sc_depth_pl `Mask_Ranking_Loss`).

Pixels the dynamic mask trusts least (lowest 20 % per image) are paired with random trusted
pixels of the same image; a second, global set pairs a random 10 % of pixels with a random
permutation of them. Each pair gets an ordinal label from the pseudo-depth ratio
(+1 if z_A/z_B >= 1.15, -1 if z_B/z_A > 1.15, else 0) and a logistic ranking loss on the
predicted depths, summed over labelled pairs and divided by their number.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

UNRELIABLE_FRACTION = 0.2
GLOBAL_SAMPLE_RATIO = 0.1
RATIO_THRESHOLD = 0.15
FILTER_DEPTH = 1e-8


def ordinal_labels(za: torch.Tensor, zb: torch.Tensor, theta: float, inclusive: bool) -> torch.Tensor:
    """+1 where za/zb exceeds 1+theta (>= if inclusive, as the reference's local set), -1 where
    zb/za > 1+theta, else 0. Later labels overwrite earlier ones, as in the reference."""
    ratio_ab, ratio_ba = za / zb, zb / za
    target = torch.zeros_like(za)
    target[(ratio_ab >= 1 + theta) if inclusive else (ratio_ab > 1 + theta)] = 1
    target[ratio_ba > 1 + theta] = -1
    return target


def ranking_sum(pred_a: torch.Tensor, pred_b: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Sum of log(1 + exp(-t (A - B))) over pairs with t != 0, and their number.

    softplus is the same function, evaluated without overflowing for large depth gaps.
    """
    keep = target != 0
    return F.softplus(-target[keep] * (pred_a[keep] - pred_b[keep])).sum(), int(keep.sum())


def unreliable_mask(weight: torch.Tensor, fraction: float = UNRELIABLE_FRACTION) -> torch.Tensor:
    """Boolean [B,1,H,W]: the `fraction` of pixels with the lowest weight in each image."""
    b = weight.shape[0]
    flat = weight.reshape(b, -1)
    n_low = int(fraction * flat.shape[1])
    order = torch.sort(flat, dim=1).indices[:, :n_low]
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask.scatter_(1, order, True)
    return mask.view_as(weight)


def mask_ranking_loss(pred_depth: torch.Tensor, pseudo_depth: torch.Tensor, dynamic_mask: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """pred_depth, pseudo_depth, dynamic_mask: [B,1,H,W]. Returns a scalar (0 when nothing is labelled)."""
    dev = pred_depth.device
    gen_dev = 'cpu' if generator is None else generator.device
    low = unreliable_mask(dynamic_mask.detach())
    loss = pred_depth.new_zeros(())
    count = 0
    # Local: each unreliable pixel against a random reliable pixel of the same image.
    for i in range(pred_depth.shape[0]):
        za, pa = pseudo_depth[i][low[i]], pred_depth[i][low[i]]
        zr, pr = pseudo_depth[i][~low[i]], pred_depth[i][~low[i]]
        if za.numel() == 0 or zr.numel() == 0:
            continue
        pick = torch.randint(0, zr.numel(), (za.numel(),), generator=generator, device=gen_dev).to(dev)
        s, n = ranking_sum(pa, pr[pick], ordinal_labels(za, zr[pick], RATIO_THRESHOLD, inclusive=True))
        loss, count = loss + s, count + n
    # Global: a random 10 % of pixel positions (shared over the batch) against a permutation of them.
    _, c, h, w = pred_depth.shape
    sel_a = torch.rand(c * h * w, generator=generator, device=gen_dev) >= 1 - GLOBAL_SAMPLE_RATIO
    sel_b = sel_a[torch.randperm(c * h * w, generator=generator, device=gen_dev)]
    sel_a, sel_b = sel_a.to(dev), sel_b.to(dev)
    flat_pseudo, flat_pred = pseudo_depth.reshape(pred_depth.shape[0], -1), pred_depth.reshape(pred_depth.shape[0], -1)
    za, zb = flat_pseudo[:, sel_a].reshape(-1), flat_pseudo[:, sel_b].reshape(-1)
    pa, pb = flat_pred[:, sel_a].reshape(-1), flat_pred[:, sel_b].reshape(-1)
    keep = (za > FILTER_DEPTH) | (zb > FILTER_DEPTH)
    s, n = ranking_sum(pa[keep], pb[keep], ordinal_labels(za[keep], zb[keep], RATIO_THRESHOLD, inclusive=False))
    loss, count = loss + s, count + n
    return loss / count if count else loss
