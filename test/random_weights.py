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
