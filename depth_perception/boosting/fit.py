"""Degree-1 fit (np.polyfit, float64) used to put merged patches onto the base's values."""
from __future__ import annotations

import warnings

import numpy as np


def fit_degree1(source: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(scale, shift) minimising ||scale * source + shift - target||^2 (np.polyfit deg=1)."""
    with warnings.catch_warnings():   # the reference silences RankWarning (flat patches) too
        warnings.simplefilter('ignore', np.exceptions.RankWarning)
        scale, shift = np.polyfit(np.asarray(source).reshape(-1), np.asarray(target).reshape(-1),
                                  deg=1)
    return float(scale), float(shift)


def apply_degree1(source: np.ndarray, coef: tuple[float, float]) -> np.ndarray:
    """np.polyval with (scale, shift): float64 result, as the reference computes it."""
    return np.polyval(np.array(coef, dtype=np.float64), np.asarray(source).reshape(-1)).reshape(
        np.shape(source))
