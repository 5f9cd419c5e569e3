"""Callbacks: write this project's checkpoint (what the nodes and `infer` load) during training."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytorch_lightning as pl

from depth_perception.checkpoints import save_own_checkpoint

LAST_NAME = 'scdepth_last.pt'
BEST_NAME = 'scdepth_best.pt'


class ExportOwnCheckpoint(pl.Callback):
    """After each validation (and at the end) save `scdepth_last.pt`; keep `scdepth_best.pt` at the
    lowest val_loss. Both load with `create_estimator('scdepth', checkpoint=PATH)`."""

    def __init__(self, run_dir: Path, half: bool = False):
        self.run_dir = Path(run_dir)
        self.half = half
        self.best = math.inf

    def _save(self, trainer: pl.Trainer, module, name: str, metrics: dict) -> Path:
        cfg = module.cfg
        provenance = {'global_step': int(trainer.global_step), 'epoch': int(trainer.current_epoch),
                      'val_metrics': metrics, 'saved_unix_s': time.time(),
                      'command': cfg.notes.get('command', ''), 'seed': cfg.seed,
                      'dataset_dir': cfg.dataset_dir}
        return save_own_checkpoint(self.run_dir / name, module.depth_net, module.pose_net, module.rectify_net,
                                   model_version=cfg.model_version, hparams=cfg.to_dict(), provenance=provenance,
                                   training_resolution_hw=cfg.training_size_hw, half=self.half)

    def on_validation_end(self, trainer, module):
        if trainer.sanity_checking or trainer.global_rank != 0:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith('val')}
        self._save(trainer, module, LAST_NAME, metrics)
        val = metrics.get('val_loss')
        if val is not None and val < self.best:
            self.best = val
            self._save(trainer, module, BEST_NAME, metrics)

    def on_train_end(self, trainer, module):
        if trainer.global_rank == 0:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith('val')}
            self._save(trainer, module, LAST_NAME, metrics)

    def state_dict(self) -> dict:
        return {'best': self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state.get('best', math.inf))
