"""LightningDataModule over the SC-Depth layout, with the step-indexed sampler for exact resume."""
from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
from torch.utils.data import DataLoader, Subset

from .config import TrainConfig
from .data import layout
from .data.sampler import StepBatchSampler
from .data.sequences import DepthValidationDataset, SequenceDataset


class ResumableDataLoader(DataLoader):
    """A DataLoader Lightning treats as stateful. Its position needs no saving: the batch sampler
    derives it from the restored global step, so the state is only a marker."""

    def state_dict(self) -> dict:
        return {'position': 'derived from global_step'}

    def load_state_dict(self, state: dict) -> None:
        pass


class SCDepthDataModule(pl.LightningDataModule):
    def __init__(self, cfg: TrainConfig):
        super().__init__()
        self.cfg = cfg
        self.train_set = None
        self.val_set = None

    def setup(self, stage: str | None = None) -> None:
        cfg = self.cfg
        root = layout.training_root(cfg.dataset_dir)
        if self.train_set is None:
            self.train_set = SequenceDataset(layout.read_scene_list(root, 'train'), cfg.sequence_length,
                                             cfg.skip_frames, cfg.training_size_hw, cfg.use_frame_index,
                                             augment=True, with_pseudo_depth=cfg.model_version == 'v3',
                                             with_supervision=cfg.supervised, png_depth_scale=cfg.png_depth_scale)
        if self.val_set is None and (root / 'val.txt').is_file():
            scenes = layout.read_scene_list(root, 'val')
            if cfg.val_mode == 'depth':
                self.val_set = DepthValidationDataset(scenes, cfg.training_size_hw, cfg.png_depth_scale)
            else:
                self.val_set = SequenceDataset(scenes, cfg.sequence_length, cfg.skip_frames,
                                               cfg.training_size_hw, cfg.use_frame_index, augment=False)
            n = cfg.val_max_batches
            if n and len(self.val_set) > n:
                # Spread over every validation sequence: the first n frames are often one view.
                self.val_set = Subset(self.val_set, np.linspace(0, len(self.val_set) - 1, n).round().astype(int).tolist())

    def _global_step(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        sampler = StepBatchSampler(len(self.train_set), self.cfg.batch_size, self.cfg.epoch_size, self.cfg.seed,
                                   self._global_step,
                                   rank=trainer.global_rank if trainer else 0,
                                   world_size=trainer.world_size if trainer else 1)
        return ResumableDataLoader(self.train_set, batch_sampler=sampler, num_workers=self.cfg.num_workers,
                                   persistent_workers=False)

    def val_dataloader(self):
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=1, shuffle=False, num_workers=min(self.cfg.num_workers, 1))
