"""A batch sampler whose output is a pure function of (seed, global step): exact mid-epoch resume.

Lightning restores the loop position (global step) from a checkpoint but not the position
inside a plain DataLoader. This sampler reads the trainer's global step when an epoch's
iterator is created and yields only the batches that are still due, each one identical to
the one an uninterrupted run would have produced:
- sample order: an endless chain of permutations of the dataset, seeded by (seed, epoch, k);
- per-sample augmentation seed: (seed, global_batch, slot), handed to the dataset in the key.
Under DDP every rank takes its own `batch_size` slice of the global batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from torch.utils.data import Sampler


class StepBatchSampler(Sampler):
    def __init__(self, num_samples: int, batch_size: int, epoch_size: int, seed: int,
                 global_step_fn: Callable[[], int], rank: int = 0, world_size: int = 1):
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.epoch_size = epoch_size
        self.seed = seed
        self.global_step_fn = global_step_fn
        self.rank = rank
        self.world_size = world_size
        self._perm_cache: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return self.epoch_size

    def _sample_at(self, epoch: int, position: int) -> int:
        chunk, offset = divmod(position, self.num_samples)
        key = (epoch, chunk)
        if key not in self._perm_cache:
            if len(self._perm_cache) > 8:
                self._perm_cache.clear()
            self._perm_cache[key] = np.random.default_rng([self.seed, epoch, chunk]).permutation(self.num_samples)
        return int(self._perm_cache[key][offset])

    def batch(self, global_batch: int) -> list[tuple[int, tuple[int, int, int]]]:
        """Keys (sample_index, augmentation_seed) of this rank's share of global batch `global_batch`."""
        epoch, in_epoch = divmod(global_batch, self.epoch_size)
        per_step = self.batch_size * self.world_size
        first = in_epoch * per_step + self.rank * self.batch_size
        return [(self._sample_at(epoch, first + j), (self.seed, global_batch, self.rank * self.batch_size + j))
                for j in range(self.batch_size)]

    def __iter__(self) -> Iterator[list]:
        start = int(self.global_step_fn())
        epoch, done = divmod(start, self.epoch_size)
        for i in range(done, self.epoch_size):
            yield self.batch(epoch * self.epoch_size + i)
