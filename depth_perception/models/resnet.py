"""ResNet-18/50 backbones with torchvision's parameter names (no torchvision dependency).

Parameter names must match torchvision exactly (`conv1`, `bn1`, `layer1.0.downsample.0`,
...) because SC-Depth checkpoints store the backbone under those names.
"""
from __future__ import annotations

import torch
from torch import nn


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(c_in, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's v1.5 bottleneck: the stride sits on the 3x3 convolution."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


_LAYOUTS = {18: (BasicBlock, (2, 2, 2, 2)), 50: (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    """Convolutional trunk of torchvision's ResNet.

    The classifier (`avgpool`, `fc`) is left out: SC-Depth never runs it, and the checkpoint
    loader reports the `fc.*` keys that reference files carry as ignored.
    """

    def __init__(self, num_layers: int = 18, in_channels: int = 3):
        super().__init__()
        if num_layers not in _LAYOUTS:
            raise ValueError(f'ResNet-{num_layers} is not supported (only 18 and 50)')
        block, counts = _LAYOUTS[num_layers]
        self._c = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, counts[0], 1)
        self.layer2 = self._make_layer(block, 128, counts[1], 2)
        self.layer3 = self._make_layer(block, 256, counts[2], 2)
        self.layer4 = self._make_layer(block, 512, counts[3], 2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block, planes: int, count: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._c != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self._c, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self._c, planes, stride, downsample)]
        self._c = planes * block.expansion
        layers += [block(self._c, planes) for _ in range(1, count)]
        return nn.Sequential(*layers)


class ResnetEncoder(nn.Module):
    """Monodepth2-style multi-scale feature extractor over a ResNet kept at `.encoder`.

    Input: normalised images [B, 3*num_input_images, H, W] with H, W multiples of 32.
    Output: five feature maps at 1/2, 1/4, 1/8, 1/16 and 1/32 resolution.
    """

    def __init__(self, num_layers: int = 18, num_input_images: int = 1):
        super().__init__()
        self.encoder = ResNet(num_layers, in_channels=3 * num_input_images)
        scale = 4 if num_layers == 50 else 1
        self.num_ch_enc = [64, 64 * scale, 128 * scale, 256 * scale, 512 * scale]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        e = self.encoder
        f0 = e.relu(e.bn1(e.conv1(x)))
        f1 = e.layer1(e.maxpool(f0))
        f2 = e.layer2(f1)
        f3 = e.layer3(f2)
        f4 = e.layer4(f3)
        return [f0, f1, f2, f3, f4]
