"""Smooth, non-negative response functions Δw(w) sampled into lookup tables."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import make_smoothing_spline

from pulsetrain.measurements.sweep import UP


def _merge_duplicates(x: NDArray[np.float64], y: NDArray[np.float64]
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    ux, inverse = np.unique(x, return_inverse=True)
    uy = np.bincount(inverse, weights=y) / np.bincount(inverse)
    return ux, uy


def smooth_response(state: NDArray[np.float64], step: NDArray[np.float64],
                    grid: NDArray[np.float64], direction: int,
                    lam: float | None = None) -> NDArray[np.float64]:
    """Fit a smooth step-size curve and sample it on ``grid``.

    A cubic smoothing spline (penalty ``lam``; ``None`` chooses it by
    generalised cross-validation) is fitted to the measured steps as a function
    of the state before the pulse.  Outside the measured states the end values
    are held.  The result is clipped to be non-negative and forced to zero at
    the bound the direction moves towards (``grid[-1]`` for up, ``grid[0]`` for
    down), so a device never steps past its bound.

    Parameters
    ----------
    state, step
        Weight before each pulse and the step it caused (positive in the direction).
    grid
        Increasing weights at which to sample, first = ``w_min``, last = ``w_max``.
    direction
        ``+1`` (up) or ``-1`` (down).
    lam
        Smoothing penalty; ``None`` = GCV.
    """
    x, y = _merge_duplicates(np.asarray(state, float), np.asarray(step, float))
    inside = np.clip(grid, x[0], x[-1])
    if x.size >= 5:
        spline = make_smoothing_spline(x, y, lam=lam)
        values = np.asarray(spline(inside), dtype=float)
    else:
        coef = np.polyfit(x, y, min(2, x.size - 1))
        values = np.polyval(coef, inside)
    values = np.asarray(np.clip(values, 0.0, None), dtype=float)
    if direction == UP:
        values[-1] = 0.0
    else:
        values[0] = 0.0
    return values


def robust_inliers(step: NDArray[np.float64], window: int = 7,
                   threshold: float = 6.0) -> NDArray[np.bool_]:
    """Mask of steps that are not isolated read glitches.

    Each step is compared with the running median of its ``window`` neighbours
    in pulse order; steps further than ``threshold`` robust standard deviations
    (1.4826 × median absolute deviation of those residuals) are outliers.
    """
    step = np.asarray(step, float)
    n = step.size
    if n < window:
        return np.ones(n, dtype=bool)
    half = window // 2
    padded = np.pad(step, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    resid = step - np.median(windows, axis=1)
    scale = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    if scale <= 0:
        return np.ones(n, dtype=bool)
    mask: NDArray[np.bool_] = np.abs(resid) <= threshold * scale
    return mask
