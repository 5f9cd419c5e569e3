"""MiDaS v2 `MidasNet` (Ranftl et al.): ResNeXt-101 32x8d encoder + RefineNet-style decoder.

Outputs relative inverse depth (affine-invariant: unknown scale and shift), non-negative.
Parameter names follow the released `model.pt`: `pretrained.layer1` is the Sequential
(conv1, bn1, relu, maxpool, layer1) so the stem sits at `pretrained.layer1.{0,1}` and the
first stage at `pretrained.layer1.4`; `scratch.*` is the decoder.

Two behaviours of the reference decide the output (reference-systems.md §7):
- the residual conv unit starts with an in-place ReLU, so its skip adds relu(x), not x;
- fusion upsampling uses align_corners=True, the output head's upsampling False.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .resnext import ResNeXt


class ResidualConvUnit(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(features, features, 3, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The reference's ReLU(inplace=True) overwrites x before the skip-add: the residual
        # is relu(x). Written out explicitly so no caller's tensor is modified.
        x = F.relu(x)
        return self.conv2(F.relu(self.conv1(x))) + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)


class _Upsample2x(nn.Module):
    """The output head's `Interpolate`: bilinear x2, align_corners=False (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)


class MidasNet(nn.Module):
    """[B,3,H,W] ImageNet-normalised RGB (H, W multiples of 32) -> [B,H,W] inverse depth."""

    def __init__(self, features: int = 256, non_negative: bool = True, **encoder_kwargs):
        super().__init__()
        enc = ResNeXt(**encoder_kwargs)
        self.encoder_config = dict(layers=enc.layers, groups=enc.groups,
                                   width_per_group=enc.width_per_group, base_planes=enc.base_planes)
        self.features = features
        self.pretrained = nn.Module()
        self.pretrained.layer1 = nn.Sequential(enc.conv1, enc.bn1, nn.ReLU(inplace=True),
                                               enc.maxpool, enc.layer1)
        self.pretrained.layer2 = enc.layer2
        self.pretrained.layer3 = enc.layer3
        self.pretrained.layer4 = enc.layer4
        self.scratch = nn.Module()
        for i, c in enumerate(enc.out_channels):
            setattr(self.scratch, f'layer{i + 1}_rn', nn.Conv2d(c, features, 3, 1, 1, bias=False))
        for i in (4, 3, 2, 1):
            setattr(self.scratch, f'refinenet{i}', FeatureFusionBlock(features))
        self.scratch.output_conv = nn.Sequential(
            nn.Conv2d(features, 128, 3, 1, 1), _Upsample2x(), nn.Conv2d(128, 32, 3, 1, 1),
            nn.ReLU(), nn.Conv2d(32, 1, 1, 1, 0), nn.ReLU() if non_negative else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        l1 = self.pretrained.layer1(x)
        l2 = self.pretrained.layer2(l1)
        l3 = self.pretrained.layer3(l2)
        l4 = self.pretrained.layer4(l3)
        s = self.scratch
        path = s.refinenet4(s.layer4_rn(l4))
        path = s.refinenet3(path, s.layer3_rn(l3))
        path = s.refinenet2(path, s.layer2_rn(l2))
        path = s.refinenet1(path, s.layer1_rn(l1))
        return s.output_conv(path).squeeze(1)
