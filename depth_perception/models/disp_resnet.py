"""SC-Depth depth network: ResNet encoder + Monodepth2-style disparity decoder.

Parameter names follow sc_depth_pl (`decoder.upconvs0.N.conv.conv.weight`, ...). The
SC-SfMLearner layout (`decoder.decoder.N`) is remapped by `depth_perception.checkpoints`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .resnet import ResnetEncoder

DISP_ALPHA = 10.0
DISP_BETA = 0.01
NUM_CH_DEC = (16, 32, 64, 128, 256)
UPSAMPLE_MODES = ('bilinear', 'nearest')


class Conv3x3(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(c_in, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = Conv3x3(c_in, c_out)
        self.nonlin = nn.ELU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlin(self.conv(x))


class DepthDecoder(nn.Module):
    """Decodes encoder features into disparities at four scales.

    `upsample_mode` is 'bilinear' (sc_depth_pl) or 'nearest' (SC-SfMLearner); the same
    weights give ~20 % different depth under the other mode, so it belongs to the checkpoint.
    """

    def __init__(self, num_ch_enc: list[int], upsample_mode: str = 'bilinear'):
        super().__init__()
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(f'upsample_mode must be one of {UPSAMPLE_MODES}')
        self.upsample_mode = upsample_mode
        self.upconvs0 = nn.ModuleList()
        self.upconvs1 = nn.ModuleList()
        for i in range(4, -1, -1):
            c_in = num_ch_enc[-1] if i == 4 else NUM_CH_DEC[i + 1]
            self.upconvs0.append(ConvBlock(c_in, NUM_CH_DEC[i]))
            c_in = NUM_CH_DEC[i] + (num_ch_enc[i - 1] if i > 0 else 0)
            self.upconvs1.append(ConvBlock(c_in, NUM_CH_DEC[i]))
        self.dispconvs = nn.ModuleList(Conv3x3(NUM_CH_DEC[s], 1) for s in range(4))

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample_mode == 'nearest':
            return F.interpolate(x, scale_factor=2, mode='nearest')
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """Returns disparities [B,1,H/2^s,W/2^s] for s = 0..3 (full resolution first)."""
        x = features[-1]
        disps: list[torch.Tensor] = []
        for cnt, i in enumerate(range(4, -1, -1)):
            x = self._upsample(self.upconvs0[cnt](x))
            if i > 0:
                x = torch.cat([x, features[i - 1]], 1)
            x = self.upconvs1[cnt](x)
            if i < 4:
                disps.append(DISP_ALPHA * torch.sigmoid(self.dispconvs[i](x)) + DISP_BETA)
        return disps[::-1]


class DispResNet(nn.Module):
    """Image -> disparity (1/depth in model units, range [0.01, 10.01]).

    Input: [B,3,H,W] normalised with (x/255 - 0.45)/0.225, H and W multiples of 32.
    """

    def __init__(self, num_layers: int = 18, upsample_mode: str = 'bilinear'):
        super().__init__()
        self.num_layers = num_layers
        self.encoder = ResnetEncoder(num_layers, num_input_images=1)
        self.decoder = DepthDecoder(self.encoder.num_ch_enc, upsample_mode)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Full-resolution disparity [B,1,H,W]."""
        return self.decoder(self.encoder(image))[0]

    def forward_multiscale(self, image: torch.Tensor) -> list[torch.Tensor]:
        return self.decoder(self.encoder(image))

    def depth(self, image: torch.Tensor) -> torch.Tensor:
        """Full-resolution depth [B,1,H,W] in model units, as sc_depth_pl's DepthNet returns."""
        return 1.0 / self.forward(image)
