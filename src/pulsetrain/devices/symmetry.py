"""Symmetry point of a device: where an up step equals a down step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulsetrain.devices.lut import LutDevice


def symmetry_point_analytic(device: LutDevice) -> float:
    """The SP a weight starting at the centre of the range drifts to.

    ``Δ(w) = Δw_up(w) − Δw_down(w)`` is piecewise linear on the LUT grid.  Where
    ``Δ > 0`` up pulses win and the weight drifts up, where ``Δ < 0`` down.  From the
    centre, follow the sign of ``Δ`` to the first root where ``Δ`` changes from
    positive (below) to negative (above) — a stable fixed point — and return it,
    interpolated exactly within its segment.  If ``Δ`` keeps its sign to the bound,
    the SP is that bound; for a symmetric device (``Δ ≡ 0``) it is the centre.
    """
    grid = device.grid
    diff = device.lut_up - device.lut_down
    # symmetric device (every state is an SP): take the centre.  Measured tables end in
    # zero steps at the bounds, so only interior nodes count — unless there are none.
    inner = diff[1:-1] if diff.size > 2 else diff
    scale = max(float(np.abs(device.lut_up).max()), float(np.abs(device.lut_down).max()))
    if scale == 0 or np.all(np.abs(inner) <= 1e-9 * scale):
        return float(0.5 * (device.w_min + device.w_max))
    centre = 0.5 * (device.w_min + device.w_max)
    d_centre = float(np.interp(centre, grid, diff))
    k0 = int(np.searchsorted(grid, centre, side="right")) - 1  # segment holding the centre
    if d_centre >= 0:  # drift up: first + → − change at or above the centre
        for k in range(k0, len(grid) - 1):
            a, b = diff[k], diff[k + 1]
            if a > 0 >= b or (k == k0 and d_centre == 0 and b <= 0):
                lo = max(grid[k], centre) if k == k0 else grid[k]
                a = d_centre if k == k0 else a
                t = a / (a - b) if a != b else 0.0
                return float(lo + t * (grid[k + 1] - lo))
        return float(device.w_max)
    for k in range(k0, -1, -1):  # drift down: first + → − change at or below the centre
        a, b = diff[k], diff[k + 1]
        hi_w = min(grid[k + 1], centre) if k == k0 else grid[k + 1]
        b = d_centre if k == k0 else b
        if a > 0 >= b:
            t = a / (a - b)
            return float(grid[k] + t * (hi_w - grid[k]))
    return float(device.w_min)


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



@dataclass(frozen=True)
class Crossing:
    """A state where the up and down responses cross (``Δw_up = Δw_down``)."""

    w: float
    """Weight of the crossing."""
    stable: bool
    """Whether alternating pulses settle there (up wins below, down wins above)."""


def sp_crossings(device: LutDevice) -> list[Crossing]:
    """Every crossing of the up and down responses, in increasing ``w``.

    ``Δ = Δw_up − Δw_down`` is piecewise linear on the lookup-table grid; each
    sign change is a crossing, interpolated within its segment (a run of nodes
    with ``Δ = 0`` counts once, at its middle).  A crossing is stable when ``Δ``
    goes from positive below to negative above.
    """
    grid = device.grid
    diff = device.lut_up - device.lut_down
    scale = max(float(np.abs(device.lut_up).max()), float(np.abs(device.lut_down).max()), 1e-300)
    sign = np.where(np.abs(diff) <= 1e-12 * scale, 0, np.sign(diff)).astype(int)
    out: list[Crossing] = []
    k = 0
    last_sign, last_k = 0, -1
    while k < len(grid):
        if sign[k] == 0:
            j = k
            while j + 1 < len(grid) and sign[j + 1] == 0:
                j += 1
            nxt = sign[j + 1] if j + 1 < len(grid) else 0
            if last_sign != 0 and nxt != 0 and last_sign != nxt:
                out.append(Crossing(float(0.5 * (grid[k] + grid[j])), last_sign > 0))
            k = j + 1
            continue
        if last_sign != 0 and sign[k] != last_sign and last_k == k - 1:
            a, b = diff[k - 1], diff[k]
            t = a / (a - b)
            out.append(Crossing(float(grid[k - 1] + t * (grid[k] - grid[k - 1])), a > 0))
        last_sign, last_k = sign[k], k
        k += 1
    return out


@dataclass(frozen=True)
class SymmetryPoint:
    """The symmetry point pulsetrain uses, and how it was found."""

    value: float
    """The stable fixed point that alternating pulses from ``w0`` reach, weight units."""
    analytic: float
    """:func:`symmetry_point_analytic` (drift from the centre of the range)."""
    by_pulses: SymmetryEstimate
    """The alternating-pulse estimate (orbit and probe refinement)."""
    crossings: tuple[Crossing, ...]
    """Every crossing of the up and down responses."""
    at_bound: bool
    """Whether ``value`` lies within 1 % of the weight range of a bound."""

    @property
    def mismatch(self) -> float:
        """``|analytic − by_pulses.value|``: large when the responses cross more than once
        or steps are coarse."""
        return abs(self.analytic - self.by_pulses.value)

    def describe_crossings(self) -> str:
        """``"0.31 (stable)"``, ``"-0.30 (stable), -0.10 (unstable), 0.90 (stable)"`` or
        ``"none"``."""
        return ", ".join(f"{c.w:.3f} ({'stable' if c.stable else 'unstable'})"
                         for c in self.crossings) or "none"


def symmetry_point(device: LutDevice, w0: float = 0.0) -> SymmetryPoint:
    """The SP used everywhere in pulsetrain: where alternating pulses from ``w0`` settle.

    Alternate up/down pulses from ``w0`` until the orbit ``low ↔ high`` is
    stable (:func:`symmetry_point_by_pulses`).  The SP is the stable crossing
    of the responses (:func:`sp_crossings`) nearest to that orbit, provided it
    lies within one orbit width of it; otherwise (no crossing there, e.g. a
    device whose up steps win everywhere) the probe-refined pulse estimate.
    """
    est = symmetry_point_by_pulses(device, w0=w0)
    crossings = tuple(sp_crossings(device))
    lo, hi = min(est.low, est.high), max(est.low, est.high)
    width = max(hi - lo, 1e-9 * (device.w_max - device.w_min))
    mid = 0.5 * (lo + hi)
    near = [c for c in crossings if c.stable and lo - width <= c.w <= hi + width]
    value = min(near, key=lambda c: abs(c.w - mid)).w if near else est.value
    tol = 0.01 * (device.w_max - device.w_min)
    at_bound = value <= device.w_min + tol or value >= device.w_max - tol
    return SymmetryPoint(float(value), symmetry_point_analytic(device), est, crossings,
                         bool(at_bound))
