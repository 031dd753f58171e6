"""Symmetry point of a device: where an up step equals a down step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulsetrain.devices.lut import LutDevice


def symmetry_point_analytic(device: LutDevice) -> float:
    """Root of ``Δw_up(w) − Δw_down(w)`` for the piecewise-linear tables.

    The difference is piecewise linear, so its roots are found exactly per
    segment.  Where several roots exist the stable one is returned (the
    difference crosses from positive to negative: below it up wins and pushes
    the weight up, above it down wins); where up wins everywhere the SP is
    ``w_max``, where down wins everywhere ``w_min``; for a symmetric device (equal
    tables) the centre of the range.
    """
    grid = device.grid
    diff = device.lut_up - device.lut_down
    stable = []
    for k in range(len(grid) - 1):
        a, b = diff[k], diff[k + 1]
        if a > 0 >= b or (a >= 0 > b):
            t = a / (a - b)
            stable.append(grid[k] + t * (grid[k + 1] - grid[k]))
    if stable:
        # the stable root nearest to the middle of the range (the one a weight started
        # at the centre drifts to)
        centre = 0.5 * (device.w_min + device.w_max)
        return float(min(stable, key=lambda r: abs(r - centre)))
    interior = diff[1:-1]
    if np.allclose(interior, 0.0):  # symmetric device: every state is an SP; take the centre
        return float(0.5 * (device.w_min + device.w_max))
    return float(device.w_max if np.mean(interior) > 0 else device.w_min)


@dataclass(frozen=True)
class SymmetryEstimate:
    """Result of estimating the SP with pulses."""

    value: float
    """Estimated SP, weight units."""
    n_pulses: int
    """Pulses applied to obtain it (alternation + the two probe pulses)."""
    converged: bool
    """Whether the alternation settled within ``tol``."""
    low: float
    """Lower point of the final two-point orbit (after a down pulse)."""
    high: float
    """Upper point of the final two-point orbit (after an up pulse)."""


def symmetry_point_by_pulses(device: LutDevice, w0: float = 0.0, tol: float = 1e-9,
                             max_pulses: int = 200_000) -> SymmetryEstimate:
    """Estimate the SP as a chip would: alternate up and down pulses from ``w0``.

    Pulses are applied in pairs (up, then down) until the orbit ``low → high →
    low`` repeats within ``tol``.  On that orbit the up step from ``low`` equals
    the down step from ``high``, so the SP lies between them but not at their
    midpoint when the tables' slopes differ (the bias is up to half a step).
    Two probe pulses remove it: one down pulse from ``low`` and one up pulse
    from ``high`` give ``Δw_up − Δw_down`` at both orbit points, and the root
    is interpolated (or, where the tables are not monotone there, extrapolated)
    linearly from them.
    """
    w = float(w0)
    low_prev = np.inf
    n = 0
    converged = False
    low = high = w
    while n < max_pulses:
        high = float(device.pulse(w, 1))
        low = float(device.pulse(high, -1))
        n += 2
        if abs(low - low_prev) < tol:
            converged = True
            break
        low_prev = low
        w = low
    diff_low = (high - low) - (low - float(device.pulse(low, -1)))
    diff_high = (float(device.pulse(high, 1)) - high) - (high - low)
    n += 2
    if diff_low != diff_high:
        value = low + (high - low) * diff_low / (diff_low - diff_high)
        value = min(max(value, device.w_min), device.w_max)
    else:
        value = 0.5 * (low + high)
    return SymmetryEstimate(float(value), n, converged, low, high)


def symmetry_point_recipe(device: LutDevice, n_pulses: int = 50, n_mean: int = 5) -> float:
    """The thesis recipe: ``n_pulses`` alternating pulses (up first) from ``w = 0``,
    mean of the last ``n_mean`` weights.  Does not converge where steps are small."""
    w = 0.0
    trace = []
    for k in range(n_pulses):
        w = float(device.pulse(w, 1 if k % 2 == 0 else -1))
        trace.append(w)
    return float(np.mean(trace[-n_mean:]))

