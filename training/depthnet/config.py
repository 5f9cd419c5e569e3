"""DepthNet training configuration: YAML with `method: depthnet`, then `key=value` overrides.

Defaults follow the reference recipe (reference-systems.md §2): SGD momentum 0.9, weight
decay 4e-4, lr 0.01, MultiStepLR [19, 30, 44, 53] x 0.3, 55 epochs, multi-scale L1 weights
(0.32, 0.08, 0.02, 0.01, 0.005), frame shift 3, 90 % of the scenes for training. Unknown keys
are errors, so a typo never silently keeps a default.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..method_config import load_method_config, names_method

METHOD = 'depthnet'
OPTIMIZERS = ('sgd', 'adam')


@dataclass
class DepthNetTrainConfig:
    method: str = METHOD
    # --- data
    dataset_dir: str = ''
    img_size: int = 64                  # square network input (Still Box: 64/128/256/512)
    shift: int = 3                      # nominal frame shift; pairs use a random gap in [0, 2*shift]
    split: float = 0.9                  # fraction of scenes for training (by scene)
    max_depth_m: float = 100.0          # targets are clipped to [0, max_depth_m]
    nominal_displacement_m: float = 0.3  # the output is depth at this displacement (Still Box: 3 x 0.1 m)
    # --- model
    bn: bool = True
    activation_function: str = 'elu'
    clamp: bool = False
    pretrained: str = ''                # DepthNet checkpoint to start from (curriculum 64->128->...)
    # --- optimisation
    batch_size: int = 256
    epochs: int = 55
    epoch_size: int = 0                 # iterations per epoch, 0 = one pass over the training set
    lr: float = 0.01
    momentum: float = 0.9
    # The reference's train.py passes dampening=momentum to SGD (so momentum does not amplify
    # the step size); kept as its default, 0 gives textbook SGD with momentum.
    dampening: float = 0.9
    weight_decay: float = 4e-4
    # 'sgd' is the reference; 'adam' (weight_decay as L2, as torch.optim.Adam) learns far
    # faster from random init on CPU-sized budgets (training/configs/depthnet/64_cpu.yaml).
    optimizer: str = 'sgd'
    warmup_steps: int = 0               # linear lr ramp over the first optimiser steps, 0 = none
    # > 0: the prediction heads start as the constant depth init_depth_m (zero weights, bias
    # set through the activation), so training starts at the constant baseline instead of ~1 m.
    init_depth_m: float = 0.0
    milestones: list = field(default_factory=lambda: [19, 30, 44, 53])
    gamma: float = 0.3
    loss_weights: list = field(default_factory=lambda: [0.32, 0.08, 0.02, 0.01, 0.005])
    # --- run
    exp_name: str = 'depthnet'
    output_dir: str = 'runs'
    seed: int = 0
    num_workers: int = 2
    threads: int = 0                    # torch CPU threads, 0 = torch's default
    device: str = 'auto'
    val_max_batches: int = 0            # 0 = the whole validation set
    max_nonfinite_steps: int = 10       # abort after this many consecutive NaN/Inf losses
    export_half: bool = False
    notes: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.exp_name

    def validate(self) -> 'DepthNetTrainConfig':
        if self.method != METHOD:
            raise ValueError(f'method must be {METHOD!r}, got {self.method!r}')
        if self.img_size < 64:
            raise ValueError(f'img_size must be >= 64 px, got {self.img_size}')
        if self.shift < 1 or not 0 < self.split < 1:
            raise ValueError('shift must be >= 1 and 0 < split < 1')
        if len(self.loss_weights) != 5:
            raise ValueError(f'loss_weights needs 5 values (d2..d6), got {self.loss_weights}')
        if self.activation_function not in ('elu', None, ''):
            raise ValueError(f'activation_function must be elu or null, got {self.activation_function!r}')
        for name in ('batch_size', 'epochs'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1')
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f'optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}')
        if self.warmup_steps < 0 or self.threads < 0 or not 0 <= self.init_depth_m <= self.max_depth_m:
            raise ValueError('warmup_steps and threads must be >= 0, init_depth_m in [0, max_depth_m]')
        if self.lr <= 0 or self.max_depth_m <= 0:
            raise ValueError('lr and max_depth_m must be positive')
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def is_depthnet_config(path: str | Path) -> bool:
    return names_method(path, METHOD)


def load_config(path: str | Path | None = None, overrides=(), **values) -> DepthNetTrainConfig:
    return load_method_config(DepthNetTrainConfig, path, overrides, values, 'DepthNet')
