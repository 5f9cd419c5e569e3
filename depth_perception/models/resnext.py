"""ResNeXt encoder (torchvision parameter names, no torchvision dependency).

MiDaS v2 and LeReS both use ResNeXt-101 32x8d: bottleneck blocks [3, 4, 23, 3], 32 groups,
8 channels per group, stride on the 3x3 convolution (torchvision "v1.5"). The widths and
depths are constructor arguments so that tests can build the same architecture small; the
defaults are the full network. Names (`conv1`, `bn1`, `layer1.0.downsample.0`, ...) must
match torchvision exactly because the released checkpoints store the encoder under them.
"""
from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int, groups: int, width_per_group: int,
                 base_planes: int):
        super().__init__()
        width = int(planes * (width_per_group / base_planes)) * groups
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNeXt(nn.Module):
    """Stem + four bottleneck stages; `forward` returns the four stage outputs (1/4 .. 1/32).

    base_planes: stem width and first-stage planes (64 in torchvision); stage i has
    base_planes * 2**i planes and outputs 4x that many channels.
    """

    def __init__(self, layers=(3, 4, 23, 3), groups: int = 32, width_per_group: int = 8,
                 base_planes: int = 64):
        super().__init__()
        self.layers = tuple(int(n) for n in layers)
        self.groups, self.width_per_group, self.base_planes = groups, width_per_group, base_planes
        self.conv1 = nn.Conv2d(3, base_planes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_planes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = base_planes
        for i, n in enumerate(self.layers):
            planes = base_planes * 2 ** i
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(c_in, planes, 2 if (i > 0 and b == 0) else 1, groups,
                                         width_per_group, base_planes))
                c_in = planes * 4
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))

    @property
    def out_channels(self) -> list[int]:
        return [self.base_planes * 2 ** i * 4 for i in range(4)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        feats = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            feats.append(x)
        return feats


def resnext_config_from_state(state: dict, prefix: str) -> dict:
    """Constructor arguments of the ResNeXt whose weights are `state[prefix + ...]`.

    Depth per stage from the block indices, groups from the grouped 3x3 weight shape,
    widths from the stem: the full ResNeXt-101 32x8d and the reduced test networks alike.
    """
    layers = []
    for i in range(1, 5):
        idx = {int(k[len(f'{prefix}layer{i}.'):].split('.')[0]) for k in state
               if k.startswith(f'{prefix}layer{i}.')}
        if not idx:
            raise KeyError(f'{prefix}layer{i}.*')
        layers.append(max(idx) + 1)
    base = int(state[f'{prefix}conv1.weight'].shape[0])
    width = int(state[f'{prefix}layer1.0.conv1.weight'].shape[0])
    groups = width // int(state[f'{prefix}layer1.0.conv2.weight'].shape[1])
    return {'layers': tuple(layers), 'groups': groups,
            'width_per_group': width // groups, 'base_planes': base}
