"""Pair each image with the latest camera intrinsics of the same size (no message_filters).

Camera drivers publish image and camera_info with equal stamps, but message_filters is not
available everywhere and exact-time pairing drops frames when one message is lost. The
intrinsics of a fixed camera change rarely, so the latest valid K per image size is what a
frame needs; an image whose size no camera_info has announced is rejected.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np


class IntrinsicsBySize:
    """Latest K for each (width, height); keeps at most `max_sizes` sizes (bounded memory)."""

    def __init__(self, max_sizes: int = 4):
        self._by_size: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._max_sizes = max_sizes

    def update(self, width: int, height: int, K: np.ndarray) -> None:
        key = (int(width), int(height))
        self._by_size[key] = np.asarray(K, dtype=np.float64).reshape(3, 3)
        self._by_size.move_to_end(key)
        while len(self._by_size) > self._max_sizes:
            self._by_size.popitem(last=False)

    def lookup(self, width: int, height: int) -> np.ndarray | None:
        return self._by_size.get((int(width), int(height)))

    def sizes(self) -> list[tuple[int, int]]:
        return list(self._by_size)
