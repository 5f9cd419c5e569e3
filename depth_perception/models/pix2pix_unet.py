"""pix2pix `UnetGenerator` as Boosting's merge network uses it ('unet_1024').

10 down-samplings, 2 -> 1 channels, ngf 64, norm 'none': the norm layers are identities and
pix2pix then builds every convolution without bias except the outermost up-convolution.
No dropout; Tanh output. The nesting reproduces the checkpoint's key paths:
outermost `model.model.{0 down, 1 sub, 2 ReLU, 3 ConvT(+bias), 4 Tanh}`, middle blocks
`[0 LeakyReLU, 1 down, 2 norm, 3 sub, 4 ReLU, 5 ConvT, 6 norm]`, innermost
`[0 LeakyReLU, 1 down, 2 ReLU, 3 ConvT, 4 norm]`.

The reference's LeakyReLU is in-place and so also rewrites the skip tensor; every skip is
followed by the parent's ReLU and relu(leaky_relu(x)) == relu(x), so it has no effect.
"""
from __future__ import annotations

import torch
from torch import nn


class UnetBlock(nn.Module):
    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False):
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)
            layers = [down, submodule, nn.ReLU(), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2), down, nn.ReLU(), up, nn.Identity()]
        else:
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2), down, nn.Identity(), submodule, nn.ReLU(), up,
                      nn.Identity()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """[B,input_nc,S,S] in [-1,1] (S divisible by 2**num_downs) -> [B,output_nc,S,S] in (-1,1)."""

    def __init__(self, input_nc: int = 2, output_nc: int = 1, num_downs: int = 10, ngf: int = 64):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f'num_downs must be >= 5, got {num_downs}')
        self.input_nc, self.output_nc, self.num_downs, self.ngf = input_nc, output_nc, num_downs, ngf
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def unet_config_from_state(state: dict) -> dict:
    """Constructor arguments of the generator whose weights are `state` (model.model.* keys)."""
    w0 = state['model.model.0.weight']
    depth, key = 1, 'model.model.1.model.3'
    while any(k.startswith(key + '.model.') for k in state):
        depth += 1
        key += '.model.3'
    return {'input_nc': int(w0.shape[1]), 'output_nc': int(state['model.model.3.weight'].shape[1]),
            'num_downs': depth + 1, 'ngf': int(w0.shape[0])}
