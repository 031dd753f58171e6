"""How much to trust a fitted device: quality flags, and warnings before training.

A fit is never refused for being weak (only for being impossible); instead
:func:`assess` lists what makes it weak.  Flags (``quality`` column, ``ok``
when there are none):

* ``few pulses`` — fewer than :data:`FEW_PULSES` pulses in a direction;
* ``low R²`` — the conductance-vs-pulse fit of a branch explains less than
  :data:`LOW_R2` of its variance;
* ``non-monotone trace`` — a branch moves back against its direction by more
  than :data:`NON_MONOTONE` of its range;
* ``fallback fit`` — the smoothing spline failed and a simpler fit was used;
* ``SP at a bound`` and ``SP mismatch`` — see :func:`sp_warnings`; these two
  also make ``train`` and ``study`` warn before training;
* notes from cleaning (unusable repetitions skipped, a breakdown, unreadable files).
"""

from __future__ import annotations

import numpy as np

from pulsetrain.devices.extract import Branch, CleanRun
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.metrics import RunMetrics
from pulsetrain.devices.symmetry import SymmetryPoint, symmetry_point

FEW_PULSES = 40
"""Pulses per direction below which a fit is flagged (the hard floor is ``min_pulses``)."""
LOW_R2 = 0.8
"""R² of the branch's conductance-vs-pulse fit below which a fit is flagged."""
NON_MONOTONE = 0.10
"""Largest backward excursion of a branch, as a share of its range, before a flag."""
SP_MISMATCH = 0.02
"""Weight units by which the analytic and the alternating-pulse SP may differ."""


def backward_share(branch: Branch) -> float:
    """Largest move against the branch's direction, as a share of the branch's range."""
    w = branch.w * branch.direction
    span = float(w.max() - w.min())
    if span <= 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(w) - w) / span)


def sp_warnings(sp: SymmetryPoint, device_name: str) -> list[str]:
    """Why SP shifting and plain SGD may mislead on this device (empty when fine).

    * the SP lies at a bound (within 1 % of the range, :attr:`SymmetryPoint.at_bound`):
      the device drifts there under alternating pulses, and plain SGD stalls;
    * the analytic SP (drift from the centre) and the alternating-pulse SP
      differ by more than :data:`SP_MISMATCH`: the responses cross more than
      once or the steps are coarse, so "the" SP depends on where one starts.
    """
    out = []
    if sp.at_bound:
        out.append(f"{device_name}: SP at a bound ({sp.value:.3f}): alternating pulses drive "
                   "the weights to the edge of the range; expect plain SGD and SP shifting "
                   "to stall")
    if sp.mismatch > SP_MISMATCH:
        out.append(f"{device_name}: SP mismatch: analytic {sp.analytic:.3f} vs by pulses "
                   f"{sp.by_pulses.value:.3f} (crossings: {sp.describe_crossings()}); "
                   f"pulsetrain uses {sp.value:.3f}")
    return out


def training_warnings(device: LutDevice) -> list[str]:
    """The warnings ``train`` and ``study`` print before training on ``device``."""
    return sp_warnings(symmetry_point(device), device.name)


def assess(clean: CleanRun, device: LutDevice, metrics: RunMetrics) -> list[str]:
    """Quality flags of a fit (empty list = ``ok``); see the module docs."""
    flags: list[str] = []
    if min(metrics.n_up, metrics.n_down) < FEW_PULSES:
        flags.append(f"few pulses (up {metrics.n_up}, down {metrics.n_down}; < {FEW_PULSES})")
    for name, r2 in (("LTP", metrics.r2_ltp), ("LTD", metrics.r2_ltd)):
        if not r2 >= LOW_R2:
            flags.append(f"low R² ({name} {r2:.2f})")
    for name, branch in (("up", clean.up), ("down", clean.down)):
        share = backward_share(branch)
        if share > NON_MONOTONE:
            flags.append(f"non-monotone trace ({name}: {100 * share:.0f} % of range moved "
                         "back)")
    for name, method in (("up", metrics.fit_up), ("down", metrics.fit_down)):
        if method and not method.startswith("spline"):
            flags.append(f"fallback fit ({name}: {method})")
    # the SP flags from the metrics, which hold the SP's three estimates already
    tol = 0.01 * (device.w_max - device.w_min)
    value = metrics.symmetry_point
    if value <= device.w_min + tol or value >= device.w_max - tol:
        flags.append(f"SP at a bound ({value:.3f})")
    if abs(metrics.symmetry_point_analytic - metrics.symmetry_point_sim) > SP_MISMATCH:
        flags.append(f"SP mismatch (analytic {metrics.symmetry_point_analytic:.3f} vs by "
                     f"pulses {metrics.symmetry_point_sim:.3f})")
    flags += list(clean.notes)
    return flags
