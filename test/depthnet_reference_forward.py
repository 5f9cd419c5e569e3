"""An independent, functional DepthNet forward written from the documented facts
(reference-systems.md §2 and §7) straight from a state_dict, with torch.nn.functional only.

It also generates random weights and BatchNorm statistics from the documented key layout
and shapes (never from our module), so that parity checks compare two readings of the facts.
`eps` and `crop` can be set wrong on purpose, to show that the parity check notices.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ENC = [('conv1', 6, 32, 2), ('conv2', 32, 64, 2), ('conv3', 64, 128, 2), ('conv3_1', 128, 128, 1),
       ('conv4', 128, 256, 2), ('conv4_1', 256, 256, 1), ('conv5', 256, 256, 2),
       ('conv5_1', 256, 256, 1), ('conv6', 256, 512, 2), ('conv6_1', 512, 512, 1)]
DEC = [('deconv5', 512, 256), ('deconv4', 513, 128), ('deconv3', 385, 64), ('deconv2', 193, 32)]
HEADS = [('predict_depth6', 512), ('predict_depth5', 513), ('predict_depth4', 385),
         ('predict_depth3', 193), ('predict_depth2', 97)]
UPS = ['upsampled_depth6_to_5', 'upsampled_depth5_to_4', 'upsampled_depth4_to_3', 'upsampled_depth3_to_2']


def normalise(rgb_uint8_hw3) -> torch.Tensor:
    x = torch.from_numpy(rgb_uint8_hw3).permute(2, 0, 1).float()
    return (x / 255.0 - 0.5) / 0.2


def pair_tensor(earlier, later) -> torch.Tensor:
    return torch.cat([normalise(earlier), normalise(later)], 0)[None]


def _bn(x, sd, p, eps, calib):
    if calib is not None:  # set the statistics from this input, then perturb them randomly
        g = calib
        mean = x.mean((0, 2, 3))
        var = x.var((0, 2, 3), unbiased=False)
        sd[p + '.running_mean'] = mean + 0.3 * var.sqrt() * torch.randn(mean.shape, generator=g)
        sd[p + '.running_var'] = var * (0.6 + 0.8 * torch.rand(var.shape, generator=g))
    return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'], sd[p + '.weight'],
                        sd[p + '.bias'], False, 0.0, eps)


def _crop(x, h, w, crop):
    if crop == 'top-left':
        return x[:, :, :h, :w]
    dy, dx = x.shape[2] - h, x.shape[3] - w   # 'bottom-right': the wrong choice
    return x[:, :, dy:dy + h, dx:dx + w]


def forward(sd: dict, x: torch.Tensor, bn: bool = True, eps: float = 1e-3, crop: str = 'top-left',
            calibrate: torch.Generator | None = None) -> torch.Tensor:
    """Eval-mode DepthNet with ELU+1 activation: depth2 [B,H/4,W/4]."""
    feats = {}
    h = x
    for name, _, _, stride in ENC:
        h = F.conv2d(h, sd[name + '.0.weight'], sd.get(name + '.0.bias'), stride=stride, padding=1)
        if bn:
            h = _bn(h, sd, name + '.1', eps, calibrate)
        h = F.relu(h)
        feats[name] = h
    raw = F.conv2d(h, sd['predict_depth6.weight'], sd['predict_depth6.bias'], padding=1)
    skips = ['conv5_1', 'conv4_1', 'conv3_1', 'conv2']
    for (dname, _, _), (pname, _), up, skip in zip(DEC, HEADS[1:], UPS, skips):
        enc = feats[skip]
        d = F.conv_transpose2d(h, sd[dname + '.0.weight'], sd[dname + '.0.bias'], stride=2, padding=1)
        d = F.conv2d(d, sd[dname + '.1.weight'], sd.get(dname + '.1.bias'), padding=1)
        if bn:
            d = _bn(d, sd, dname + '.2', eps, calibrate)
        d = F.relu(d)
        u = F.conv_transpose2d(raw, sd[up + '.weight'], None, stride=2, padding=1)
        hh, ww = enc.shape[2:]
        h = torch.cat([enc, _crop(d, hh, ww, crop), _crop(u, hh, ww, crop)], 1)
        raw = F.conv2d(h, sd[pname + '.weight'], sd[pname + '.bias'], padding=1)
    return F.elu(raw[:, 0]) + 1.0


def random_state(seed: int, bn: bool = True, calibration_input: torch.Tensor | None = None) -> dict:
    """Random weights in the documented key layout; BN statistics calibrated on an input
    (then randomly perturbed) so that activations stay O(1) and eps matters."""
    g = torch.Generator().manual_seed(seed)

    def normal(shape, fan):
        return torch.randn(shape, generator=g) * (2.0 / fan) ** 0.5

    sd = {}

    def bn_params(p, c):
        sd[p + '.weight'] = 0.5 + torch.rand(c, generator=g)
        sd[p + '.bias'] = 0.2 * torch.randn(c, generator=g)
        sd[p + '.running_mean'] = torch.zeros(c)
        sd[p + '.running_var'] = torch.ones(c)

    for name, cin, cout, _ in ENC:
        # Small conv weights give pre-BN variances of ~1e-3, where eps 1e-3 vs 1e-5 matters.
        sd[name + '.0.weight'] = 0.03 * normal((cout, cin, 3, 3), cin * 9)
        if bn:
            bn_params(name + '.1', cout)
        else:
            sd[name + '.0.bias'] = 0.1 * torch.randn(cout, generator=g)
    for name, cin, cout in DEC:
        sd[name + '.0.weight'] = normal((cin, cout, 4, 4), cin * 4)
        sd[name + '.0.bias'] = 0.1 * torch.randn(cout, generator=g)
        sd[name + '.1.weight'] = 0.03 * normal((cout, cout, 3, 3), cout * 9)
        if bn:
            bn_params(name + '.2', cout)
        else:
            sd[name + '.1.bias'] = 0.1 * torch.randn(cout, generator=g)
    for name, cin in HEADS:
        sd[name + '.weight'] = normal((1, cin, 3, 3), cin * 9)
        sd[name + '.bias'] = torch.tensor([1.0]) + 0.5 * torch.randn(1, generator=g)
    for name in UPS:
        sd[name + '.weight'] = normal((1, 1, 4, 4), 4)
    if bn and calibration_input is not None:
        forward(sd, calibration_input, bn=True, calibrate=g)
    return sd


def save_layout(sd: dict, path, layout: str, bn: bool = True) -> None:
    """Write `sd` as a DepthNet file in one of the three documented layouts."""
    state = {k: v.clone() for k, v in sd.items()}
    meta = {'epoch': 7, 'arch': 'DepthNet', 'bn': bn, 'with_confidence': False,
            'activation_function': 'elu', 'clamp': False, 'mean': [0.5] * 3, 'std': [0.2] * 3}
    if layout == 'released-2017':
        torch.save({**meta, 'state_dict': state, 'best_EPE': 4.65}, path,
                   _use_new_zipfile_serialization=False)
        return
    if layout == 'current' and bn:
        for k in [k for k in state if k.endswith('.running_var')]:
            state[k[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(1000)
    state = {'module.' + k: v for k, v in state.items()}
    torch.save({**meta, 'state_dict': state, 'best_error': 3.08}, path)
