"""Published numbers for device ID161ZR15000 (DOMAIN.md §2, thesis behind arXiv 2509.18121)."""

from __future__ import annotations

PUBLISHED_GMAX_GMIN: dict[float, float] = {
    20e-9: 1.9, 200e-9: 4.5, 2e-6: 7.1, 20e-6: 9.5, 200e-6: 10.2,
}
"""Gmax/Gmin per pulse width (s)."""

PUBLISHED_SYMMETRY_POINT: dict[float, tuple[float, ...]] = {
    20e-9: (0.72, 0.36), 200e-9: (0.56,), 2e-6: (0.44,), 20e-6: (0.17,), 200e-6: (0.15,),
}
"""Symmetry point (normalised weight) per pulse width (s); two runs at 20 ns."""
