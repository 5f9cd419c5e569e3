"""Merge-network training configuration: YAML with `method: boost_merge`, then key=value overrides.

Defaults are the reference recipe (reference-systems.md §4.2): the full 'unet_1024' generator
(10 down-samplings, ngf 64, no normalisation) at 1024 px, L1 weight 1000 plus a vanilla GAN
loss, generator lr 1e-4, discriminator lr 2e-6. The facts do not name the discriminator or the
Adam betas; pix2pix's defaults are used (a 3-layer PatchGAN seeing input and output together,
betas (0.5, 0.999)), both configurable. `ngf`, `num_downs` and `input_size_px` shrink the
network so it trains on a CPU. Unknown keys are errors.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..method_config import load_method_config, names_method

METHOD = 'boost_merge'


@dataclass
class MergeTrainConfig:
    method: str = METHOD
    # --- data (a folder written by `python -m depth_perception_training.boost.pairs`)
    dataset_dir: str = ''
    val_fraction: float = 0.1           # the last pairs (by file name) are held out
    flip: bool = True                   # random horizontal flips of the whole triple
    # --- generator: pix2pix UnetGenerator, 2 -> 1 channels
    input_size_px: int = 1024           # square; must be divisible by 2**num_downs
    num_downs: int = 10
    ngf: int = 64
    # --- discriminator: PatchGAN over (input, output) = 3 channels
    ndf: int = 64
    d_layers: int = 3
    # --- losses and optimisers
    lambda_l1: float = 1000.0
    lr_g: float = 1e-4
    lr_d: float = 2e-6
    betas: list = field(default_factory=lambda: [0.5, 0.999])
    batch_size: int = 1
    epochs: int = 100
    max_steps: int = 0                  # > 0: stop after this many generator steps
    max_minutes: float = 0.0            # > 0: stop (after a saved step) once this much time has run
    # --- run
    exp_name: str = 'boost_merge'
    output_dir: str = 'runs'
    seed: int = 0
    threads: int = 0                    # > 0: torch.set_num_threads
    device: str = 'auto'
    save_every_n_steps: int = 200
    max_nonfinite_steps: int = 10       # abort after this many consecutive NaN/Inf losses
    notes: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.exp_name

    def validate(self) -> 'MergeTrainConfig':
        if self.method != METHOD:
            raise ValueError(f'method must be {METHOD!r}, got {self.method!r}')
        if self.num_downs < 5:
            raise ValueError(f'num_downs must be >= 5, got {self.num_downs}')
        if self.input_size_px < 2 ** self.num_downs or self.input_size_px % 2 ** self.num_downs:
            raise ValueError(f'input_size_px ({self.input_size_px}) must be a multiple of '
                             f'2**num_downs = {2 ** self.num_downs}')
        for name in ('ngf', 'ndf', 'd_layers', 'batch_size', 'epochs', 'save_every_n_steps'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        if not (self.lr_g > 0 and self.lr_d >= 0 and self.lambda_l1 >= 0):
            raise ValueError('lr_g must be positive, lr_d and lambda_l1 non-negative')
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f'betas must be two numbers in [0, 1), got {self.betas}')
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f'val_fraction must be in [0, 1), got {self.val_fraction}')
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def is_merge_config(path: str | Path) -> bool:
    return names_method(path, METHOD)


def load_config(path: str | Path | None = None, overrides=(), **values) -> MergeTrainConfig:
    return load_method_config(MergeTrainConfig, path, overrides, values, 'merge-training')
