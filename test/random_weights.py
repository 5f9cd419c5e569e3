"""Networks with random weights AND random BatchNorm statistics, so that eval-mode BatchNorm
(and folding it into convolutions) really changes the output in parity tests."""
from __future__ import annotations

import torch


def randomized(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g) * (0.05 if 'conv' in name else 0.2))
    return module.eval()


def randomized_state(net, seed: int) -> dict:
    """A copy of `net`'s state with He-scaled random weights, small biases and BatchNorm
    statistics away from identity: reduced-width networks then give non-trivial outputs."""
    g = torch.Generator().manual_seed(seed)
    sd = net.state_dict()
    for k, v in sd.items():
        if k.endswith('running_var'):
            v.copy_(0.5 + torch.rand(v.shape, generator=g))
        elif k.endswith('running_mean') or k.endswith('.bias'):
            v.copy_(0.1 * torch.randn(v.shape, generator=g))
        elif k.endswith('weight') and v.ndim == 1:
            v.copy_(1 + 0.2 * torch.randn(v.shape, generator=g))
        elif v.is_floating_point():
            fan_in = v[0].numel() if v.ndim > 1 else 1
            v.copy_(torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    return {k: v.clone() for k, v in sd.items()}
