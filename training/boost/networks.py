"""The discriminator of merge-net training: pix2pix's 'basic' PatchGAN (70x70 at n_layers 3).

Conditional: it sees the generator's 2-channel input and a 1-channel depth (real or fake)
stacked, 3 channels. Layout: Conv4 s2 (in -> ndf, bias) + LeakyReLU 0.2; n_layers - 1
further Conv4 s2 doubling the width (capped at 8 ndf); one Conv4 s1; Conv4 s1 -> 1 logit map.
Normalisation 'none' as the merge generator uses, so the inner convolutions carry no bias
(pix2pix keeps a bias only where no norm layer could follow).
"""
from __future__ import annotations

from torch import nn


class PatchDiscriminator(nn.Module):
    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        width = ndf
        for n in range(1, n_layers + 1):
            nxt = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width, nxt, 4, stride, 1, bias=False), nn.LeakyReLU(0.2)]
            width = nxt
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
