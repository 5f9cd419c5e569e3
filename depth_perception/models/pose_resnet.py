"""SC-Depth ego-motion (PoseResNet) and V2 rotation (RectifyNet / ARN) networks.

Both read two normalised images stacked on the channel axis with a 6-channel ResNet-18.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .resnet import ResnetEncoder

POSE_SCALE = 0.01


class PoseDecoder(nn.Module):
    """Squeeze 1x1 -> two 3x3 -> 1x1 to `num_outputs`, averaged over the image."""

    def __init__(self, c_enc: int, num_outputs: int = 6):
        super().__init__()
        self.conv_squeeze = nn.Conv2d(c_enc, 256, 1)
        self.convs_pose = nn.ModuleList([
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.Conv2d(256, num_outputs, 1),
        ])
        self.relu = nn.ReLU()

    def forward(self, last_feature: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv_squeeze(last_feature))
        out = self.relu(self.convs_pose[0](out))
        out = self.relu(self.convs_pose[1](out))
        out = self.convs_pose[2](out)
        return out.mean(dim=(2, 3))


class PoseResNet(nn.Module):
    """(target, reference) -> 6-DoF pose [tx,ty,tz,rx,ry,rz] (metres in model units, radians).

    The pose maps target-camera points into the reference camera: X_ref = T(pose) X_tgt,
    i.e. it is T_ref_tgt, with R = Rx(rx) Ry(ry) Rz(rz).
    """

    def __init__(self, num_layers: int = 18):
        super().__init__()
        self.encoder = ResnetEncoder(num_layers, num_input_images=2)
        self.decoder = PoseDecoder(self.encoder.num_ch_enc[-1], 6)

    def forward(self, target: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        features = self.encoder(torch.cat([target, reference], 1))
        return POSE_SCALE * self.decoder(features[-1])


class RectifyNet(nn.Module):
    """SC-Depth V2 auto-rectify network: (target, reference) -> Euler angles [rx,ry,rz] (rad).

    Runs at half resolution (bilinear, align_corners=True) and has no output scaling.
    """

    def __init__(self, num_layers: int = 18):
        super().__init__()
        self.encoder = ResnetEncoder(num_layers, num_input_images=2)
        self.decoder = PoseDecoder(self.encoder.num_ch_enc[-1], 3)

    def forward(self, target: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        x = torch.cat([target, reference], 1)
        h, w = x.shape[-2:]
        x = F.interpolate(x, size=(h // 2, w // 2), mode='bilinear', align_corners=True)
        return self.decoder(self.encoder(x)[-1])
