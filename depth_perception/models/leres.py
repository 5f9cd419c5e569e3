"""LeReS `RelDepthModel('resnext101')` (Yin et al., CVPR 2021): ResNeXt-101 + FTB/FFM decoder.

Outputs relative depth (affine-invariant: unknown scale and shift). Parameter names follow
`res101.pth` after its `module.` prefix is stripped: `depth_model.encoder_modules.encoder.*`
(ResNeXt, no fc) and `depth_model.decoder_modules.{conv,conv1,ffm2,ffm1,ffm0,outconv}.*`.

Reference behaviour reproduced: the feature-transfer block's branch starts with an in-place
ReLU applied to the tensor that is then added back, so the block computes
relu(relu(c) + branch(relu(c))) with c = conv1(x). All upsampling is bilinear x2 with
align_corners=True.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .resnext import ResNeXt


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)


class FTB(nn.Module):
    def __init__(self, c_in: int, c_mid: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_mid, 3, 1, 1, bias=True)
        self.conv_branch = nn.Sequential(nn.ReLU(), nn.Conv2d(c_mid, c_mid, 3, 1, 1, bias=True),
                                         nn.BatchNorm2d(c_mid), nn.ReLU(),
                                         nn.Conv2d(c_mid, c_mid, 3, 1, 1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))   # the branch's in-place ReLU also rewrites the skip
        return F.relu(x + self.conv_branch(x))


class FFM(nn.Module):
    def __init__(self, c_in: int, c_mid: int, c_out: int):
        super().__init__()
        self.ftb1 = FTB(c_in, c_mid)
        self.ftb2 = FTB(c_mid, c_out)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return _up2(self.ftb2(self.ftb1(low) + high))


class AO(nn.Module):
    def __init__(self, c_in: int, c_out: int = 1):
        super().__init__()
        self.adapt_conv = nn.Sequential(nn.Conv2d(c_in, c_in // 2, 3, 1, 1, bias=True),
                                        nn.BatchNorm2d(c_in // 2), nn.ReLU(),
                                        nn.Conv2d(c_in // 2, c_out, 3, 1, 1, bias=True),
                                        nn.Upsample(scale_factor=2, mode='bilinear',
                                                    align_corners=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapt_conv(x)


class Decoder(nn.Module):
    def __init__(self, in_channels=(256, 512, 1024, 2048), mid_channels=(256, 256, 256, 512)):
        super().__init__()
        i, m = in_channels, mid_channels
        self.conv = FTB(i[3], m[3])
        self.conv1 = nn.Conv2d(m[3], m[2], 3, 1, 1, bias=True)
        self.ffm2 = FFM(i[2], m[2], m[2])
        self.ffm1 = FFM(i[1], m[1], m[1])
        self.ffm0 = FFM(i[0], m[0], m[0])
        self.outconv = AO(m[0], 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = _up2(self.conv1(self.conv(feats[3])))
        x = self.ffm2(feats[2], x)
        x = self.ffm1(feats[1], x)
        x = self.ffm0(feats[0], x)
        return self.outconv(x)


class _Encoder(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.encoder = ResNeXt(**kwargs)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.encoder(x)


class DepthModel(nn.Module):
    def __init__(self, mid_channels=(256, 256, 256, 512), **encoder_kwargs):
        super().__init__()
        self.encoder_modules = _Encoder(**encoder_kwargs)
        self.decoder_modules = Decoder(self.encoder_modules.encoder.out_channels, mid_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_modules(self.encoder_modules(x))


class RelDepthModel(nn.Module):
    """[B,3,H,W] ImageNet-normalised input -> [B,1,H,W] relative depth (network output)."""

    def __init__(self, mid_channels=(256, 256, 256, 512), **encoder_kwargs):
        super().__init__()
        self.depth_model = DepthModel(mid_channels, **encoder_kwargs)
        enc = self.depth_model.encoder_modules.encoder
        self.encoder_config = dict(layers=enc.layers, groups=enc.groups,
                                   width_per_group=enc.width_per_group, base_planes=enc.base_planes)
        self.mid_channels = tuple(mid_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.depth_model(x)

    @torch.inference_mode()
    def inference(self, x: torch.Tensor) -> torch.Tensor:
        """The reference's `inference`: depth shifted so that its minimum is 0.01 (whole batch)."""
        depth = self.depth_model(x)
        return depth - depth.min() + 0.01
