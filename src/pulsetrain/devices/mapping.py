"""Linear map between conductance (siemens) and normalised weight units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class WeightMapping:
    """``w = w_min + (w_max - w_min) (G - g_min_s) / (g_max_s - g_min_s)``.

    With the defaults ``w_min = -1``, ``w_max = 1`` this is
    ``w = 2 (G - Ḡ) / (Gmax - Gmin)`` with ``Ḡ = (Gmax + Gmin) / 2``.
    """

    g_min_s: float
    g_max_s: float
    w_min: float = -1.0
    w_max: float = 1.0

    def __post_init__(self) -> None:
        if not (0 < self.g_min_s < self.g_max_s):
            raise ValueError(f"need 0 < g_min_s < g_max_s, got {self.g_min_s}, {self.g_max_s}")
        if not self.w_min < self.w_max:
            raise ValueError(f"need w_min < w_max, got {self.w_min}, {self.w_max}")

    @property
    def siemens_per_weight(self) -> float:
        """Conductance change per unit weight, S."""
        return (self.g_max_s - self.g_min_s) / (self.w_max - self.w_min)

    def to_weight(self, conductance_s: ArrayLike) -> NDArray[np.float64]:
        """Conductance (S) → weight units."""
        g = np.asarray(conductance_s, dtype=float)
        return self.w_min + (g - self.g_min_s) / self.siemens_per_weight

    def to_conductance(self, weight: ArrayLike) -> NDArray[np.float64]:
        """Weight units → conductance (S)."""
        w = np.asarray(weight, dtype=float)
        return self.g_min_s + (w - self.w_min) * self.siemens_per_weight
