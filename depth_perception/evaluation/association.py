"""Match two lists of timestamps one-to-one within a tolerance.

Each stamp of `a` proposes its nearest stamp of `b`; proposals are accepted from the closest
pair up, so a stamp is used at most once and ties resolve to the earlier one (deterministic).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Association:
    pairs: list[tuple[int, int]]      # (index in a, index in b), sorted by index in a
    n_a: int
    n_b: int
    tolerance_ns: int
    max_diff_ns: int

    @property
    def unmatched_a(self) -> int:
        return self.n_a - len(self.pairs)

    @property
    def unmatched_b(self) -> int:
        return self.n_b - len(self.pairs)

    def describe(self, name_a: str, name_b: str) -> str:
        return (f'{len(self.pairs)} of {self.n_a} {name_a} matched {name_b} '
                f'({self.n_b} available) within {self.tolerance_ns / 1e6:g} ms'
                + (f', largest difference {self.max_diff_ns / 1e6:.3f} ms' if self.pairs else ''))


def associate(stamps_a_ns, stamps_b_ns, tolerance_ns: int) -> Association:
    a = np.asarray(stamps_a_ns, dtype=np.int64)
    b = np.asarray(stamps_b_ns, dtype=np.int64)
    if tolerance_ns < 0:
        raise ValueError(f'tolerance must be >= 0, got {tolerance_ns} ns')
    if a.size == 0 or b.size == 0:
        return Association([], int(a.size), int(b.size), int(tolerance_ns), 0)
    order_b = np.argsort(b, kind='stable')
    b_sorted = b[order_b]
    pos = np.searchsorted(b_sorted, a)
    candidates = []
    for i, p in enumerate(pos):
        best = None
        for j in (p - 1, p):
            if 0 <= j < b_sorted.size:
                d = abs(int(a[i]) - int(b_sorted[j]))
                if best is None or d < best[0]:
                    best = (d, j)
        if best is not None and best[0] <= tolerance_ns:
            candidates.append((best[0], i, int(order_b[best[1]])))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    max_diff = 0
    for d, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j))
        max_diff = max(max_diff, d)
    pairs.sort()
    return Association(pairs, int(a.size), int(b.size), int(tolerance_ns), int(max_diff))
