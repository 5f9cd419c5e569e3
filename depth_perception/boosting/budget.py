"""A per-image work budget for local boosting (`--Final`): at most N patches and/or T seconds.

Boosting is slow; a robot wants a bounded latency more than every patch. Patches are taken
in the reference's processing order (largest first) and each is merged against the
whole-image estimate as it was before any patch (see local.py), so stopping after k patches
gives exactly the full result's first k blends: a budgeted result is a prefix of the exact
one, never something else. The time limit is checked before each network batch, so a frame
may overrun it by the duration of one batch (`batch_size` patches).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class PatchBudget:
    max_patches: int = 0        # 0 = no limit
    budget_s: float = 0.0       # seconds since `started` (perf_counter); 0 = no limit
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self):
        if self.max_patches < 0 or not (math.isfinite(self.budget_s) and self.budget_s >= 0):
            raise ValueError(f'patch budget must be >= 0 (got max_patches={self.max_patches}, '
                             f'budget_s={self.budget_s})')

    def room(self, done: int) -> int:
        """How many more patches may start now, after `done` (<= 0: stop)."""
        if self.budget_s and time.perf_counter() - self.started >= self.budget_s:
            return 0
        return self.max_patches - done if self.max_patches else 1 << 62
