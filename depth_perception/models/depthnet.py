"""DepthNet (Pinard et al. 2017, "End-to-end depth from motion with stabilized monocular videos").

A FlowNetS-like encoder/decoder that takes two stabilised frames stacked on channels,
[earlier RGB, later RGB] (6 channels, each normalised as (x/255 - 0.5)/0.2), and returns the
depth of the *later* frame at 1/4 of the input resolution, in metres as if the camera had
moved by the nominal displacement (0.3 m for Still Box models).

Parameter names follow the reference checkpoints (`conv1.0.weight`, `deconv5.2.running_var`,
`predict_depth2.bias`, `upsampled_depth3_to_2.weight`, ...), so a state_dict loads as is.
Details that decide parity (see docs/reference-systems.md §2, §7):
- BatchNorm eps is 1e-3, not PyTorch's 1e-5;
- the learned 2x upsampling of a coarse prediction takes the *raw* (pre-activation) output;
- the skip concatenation is (encoder map, decoder map, upsampled depth), and the decoder
  maps, which can be one pixel larger at sizes that are not multiples of 64, are cropped
  from the top-left corner to the encoder map's size;
- depth activation 'elu' is ELU(x) + 1; `clamp` clamps to [10, 60] after the activation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
CLAMP_RANGE_M = (10.0, 60.0)
ACTIVATIONS = (None, 'elu')

# (name, in, out, stride) of the encoder, in forward order.
ENCODER = (('conv1', 6, 32, 2), ('conv2', 32, 64, 2),
           ('conv3', 64, 128, 2), ('conv3_1', 128, 128, 1),
           ('conv4', 128, 256, 2), ('conv4_1', 256, 256, 1),
           ('conv5', 256, 256, 2), ('conv5_1', 256, 256, 1),
           ('conv6', 256, 512, 2), ('conv6_1', 512, 512, 1))
# Decoder levels 5..2: the encoder map they join (and its channels), the deconv's output channels.
# The deconv input is the previous level's concat: 512 (conv6_1), then conv + deconv + 1 depth.
DECODER = ((5, 'conv5_1', 256, 256), (4, 'conv4_1', 256, 128),
           (3, 'conv3_1', 128, 64), (2, 'conv2', 64, 32))


def _encoder_block(c_in: int, c_out: int, stride: int, batch_norm: bool) -> nn.Sequential:
    """Conv3x3 (+BN) + ReLU; the conv has no bias when a BN follows it."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out, eps=BN_EPS))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _decoder_block(c_in: int, c_out: int, batch_norm: bool) -> nn.Sequential:
    """2x ConvTranspose (always with bias) + Conv3x3 (+BN) + ReLU."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=True),
                               nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out, eps=BN_EPS))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DepthNet(nn.Module):
    """DepthNet; `forward` returns depth2 [B,H/4,W/4] in eval mode, [d2,d3,d4,d5,d6] in training.

    Args:
        batch_norm: the checkpoint's `bn` flag.
        with_confidence: prediction heads output 2 channels; channel 0 is depth (the
            reference keeps channel 0 too), channel 1 is returned by `forward_with_confidence`.
            The reference's own forward cannot run such a model (its 1->1 learned upsampling
            gets 2 channels); here the upsampling takes channel 0. No released file has it.
        clamp: clamp depth to [10, 60] m after the activation.
        depth_activation: None (raw output) or 'elu' (ELU(x) + 1, always positive).
    """

    def __init__(self, batch_norm: bool = True, with_confidence: bool = False,
                 clamp: bool = False, depth_activation: str | None = 'elu'):
        super().__init__()
        if depth_activation not in ACTIVATIONS:
            raise ValueError(f'unknown depth activation {depth_activation!r} (known: {ACTIVATIONS})')
        self.batch_norm = bool(batch_norm)
        self.with_confidence = bool(with_confidence)
        self.clamp = bool(clamp)
        self.depth_activation = depth_activation
        heads = 2 if with_confidence else 1
        for name, c_in, c_out, stride in ENCODER:
            self.add_module(name, _encoder_block(c_in, c_out, stride, self.batch_norm))
        self.add_module('predict_depth6', nn.Conv2d(512, heads, 3, 1, 1))
        c_prev = 512
        for level, _, c_skip, c_deconv in DECODER:
            self.add_module(f'deconv{level}', _decoder_block(c_prev, c_deconv, self.batch_norm))
            self.add_module(f'upsampled_depth{level + 1}_to_{level}',
                            nn.ConvTranspose2d(1, 1, 4, 2, 1, bias=False))
            c_prev = c_skip + c_deconv + 1
            self.add_module(f'predict_depth{level}', nn.Conv2d(c_prev, heads, 3, 1, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal weights with fan-out = k*k*out_channels, zero biases, unit BN (training init)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, (2.0 / fan) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def activate(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw head output [B,C,h,w] -> depth [B,h,w] (channel 0)."""
        depth = raw[:, 0]
        if self.depth_activation == 'elu':
            depth = F.elu(depth) + 1.0
        if self.clamp:
            depth = depth.clamp(*CLAMP_RANGE_M)
        return depth

    def raw_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Raw (pre-activation) head outputs [out2, out3, out4, out5, out6], each [B,C,h,w]."""
        if x.dim() != 4 or x.shape[1] != 6:
            raise ValueError(f'DepthNet takes [B,6,H,W] (earlier and later RGB), got {tuple(x.shape)}')
        skips = {}
        feat = x
        for name, *_ in ENCODER:
            feat = getattr(self, name)(feat)
            skips[name] = feat
        raw = self.predict_depth6(feat)
        outputs = [raw]
        for level, skip_name, _, _ in DECODER:
            skip = skips[skip_name]
            h, w = skip.shape[-2:]
            up = getattr(self, f'deconv{level}')(feat)[:, :, :h, :w]
            depth_up = getattr(self, f'upsampled_depth{level + 1}_to_{level}')(raw[:, :1])[:, :, :h, :w]
            feat = torch.cat((skip, up, depth_up), 1)
            raw = getattr(self, f'predict_depth{level}')(feat)
            outputs.append(raw)
        return outputs[::-1]

    def forward(self, x: torch.Tensor):
        raws = self.raw_outputs(x)
        if self.training:
            return [self.activate(r) for r in raws]
        return self.activate(raws[0])

    def forward_with_confidence(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(depth2 [B,H/4,W/4], raw confidence channel [B,H/4,W/4] or None)."""
        raw2 = self.raw_outputs(x)[0]
        return self.activate(raw2), (raw2[:, 1] if self.with_confidence else None)
