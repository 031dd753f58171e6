"""Smooth, non-negative response functions Δw(w) sampled into lookup tables."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

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


FIT_CHAIN = ("spline-gcv", "polynomial", "constant")
"""Response fits tried in turn (see :func:`fit_response`)."""


@dataclass(frozen=True)
class ResponseFit:
    """A step-size curve sampled on the lookup-table grid, and the fit that made it."""

    values: NDArray[np.float64]
    method: str
    """``spline-gcv`` (or ``spline-lam`` with a given penalty), ``polynomial`` or
    ``constant``."""
    note: str = ""
    """Why an earlier fit of the chain was not used (empty when the first one was)."""


def _spline(x: NDArray[np.float64], y: NDArray[np.float64], at: NDArray[np.float64],
            lam: float | None) -> NDArray[np.float64]:
    with np.errstate(all="ignore"):
        values = np.asarray(make_smoothing_spline(x, y, lam=lam)(at), dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("the spline is not finite")
    return values


def _polynomial(x: NDArray[np.float64], y: NDArray[np.float64],
                at: NDArray[np.float64]) -> NDArray[np.float64]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coef = np.polyfit(x, y, min(2, x.size - 1))
    values = np.asarray(np.polyval(coef, at), dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("the polynomial is not finite")
    return values


def fit_response(state: NDArray[np.float64], step: NDArray[np.float64],
                 grid: NDArray[np.float64], direction: int,
                 lam: float | None = None) -> ResponseFit:
    """Fit a smooth step-size curve and sample it on ``grid``.

    The fits are tried in the order of :data:`FIT_CHAIN`: a cubic smoothing
    spline of the steps against the state before the pulse (penalty ``lam``;
    ``None`` chooses it by generalised cross-validation; needs 5 distinct
    states), else a least-squares polynomial of degree ≤ 2, else the median
    step.  Outside the measured states the end values are held.  The result is
    clipped to be non-negative and forced to zero at the bound the direction
    moves towards (``grid[-1]`` for up, ``grid[0]`` for down), so a device
    never steps past its bound.

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

    Raises
    ------
    ValueError
        If there is no finite step to fit.
    """
    ok = np.isfinite(state) & np.isfinite(step)
    if not ok.any():
        raise ValueError("no finite steps to fit")
    x, y = _merge_duplicates(np.asarray(state, float)[ok], np.asarray(step, float)[ok])
    inside = np.clip(grid, x[0], x[-1])
    notes = []
    values = None
    method = "constant"
    if x.size >= 5:
        try:
            values = _spline(x, y, inside, lam)
            method = "spline-gcv" if lam is None else "spline-lam"
        except (ValueError, np.linalg.LinAlgError) as exc:
            notes.append(f"spline failed ({str(exc).splitlines()[0][:80]})")
    else:
        notes.append(f"only {x.size} distinct states for a spline")
    if values is None and x.size >= 2:
        try:
            values = _polynomial(x, y, inside)
            method = "polynomial"
        except (ValueError, np.linalg.LinAlgError) as exc:
            notes.append(f"polynomial failed ({str(exc).splitlines()[0][:80]})")
    if values is None:
        values = np.full(grid.shape, float(np.median(y)))
        method = "constant"
    values = np.asarray(np.clip(values, 0.0, None), dtype=float)
    if direction == UP:
        values[-1] = 0.0
    else:
        values[0] = 0.0
    return ResponseFit(values, method, "; ".join(notes) if method != "spline-gcv" else "")


def smooth_response(state: NDArray[np.float64], step: NDArray[np.float64],
                    grid: NDArray[np.float64], direction: int,
                    lam: float | None = None) -> NDArray[np.float64]:
    """The values of :func:`fit_response` (the lookup table of one direction)."""
    return fit_response(state, step, grid, direction, lam).values


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
