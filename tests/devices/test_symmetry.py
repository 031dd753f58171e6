"""Symmetry point against closed forms on a soft-bounds device."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetrain.devices import (
    LutDevice,
    symmetry_point_analytic,
    symmetry_point_by_pulses,
    symmetry_point_recipe,
)


def soft_bounds(a: float, b: float, n: int = 201) -> LutDevice:
    """Δw_up = a (1 − w), Δw_down = b (1 + w): SP = (a − b) / (a + b)."""
    grid = np.linspace(-1, 1, n)
    return LutDevice("soft", a * (1 - grid), b * (1 + grid))


@pytest.mark.parametrize(("a", "b"), [(0.02, 0.01), (0.01, 0.03), (0.05, 0.05), (0.2, 0.07)])
def test_analytic_sp_of_soft_bounds(a: float, b: float) -> None:
    dev = soft_bounds(a, b)
    assert symmetry_point_analytic(dev) == pytest.approx((a - b) / (a + b), abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [(0.02, 0.01), (0.01, 0.03), (0.2, 0.07)])
def test_alternating_pulses_agree_with_analytic(a: float, b: float) -> None:
    dev = soft_bounds(a, b)
    est = symmetry_point_by_pulses(dev)
    assert est.converged
    assert est.low <= (a - b) / (a + b) <= est.high
    # linear tables: the probe-pulse interpolation is exact up to float error
    assert est.value == pytest.approx((a - b) / (a + b), abs=1e-6)


def test_pulse_cost_grows_as_steps_shrink() -> None:
    big = symmetry_point_by_pulses(soft_bounds(0.04, 0.02))
    small = symmetry_point_by_pulses(soft_bounds(0.004, 0.002))
    assert small.n_pulses > 5 * big.n_pulses


def test_thesis_recipe_does_not_converge_for_small_steps() -> None:
    dev = soft_bounds(0.004, 0.002)  # SP = 1/3
    assert symmetry_point_recipe(dev) < 0.2  # 50 pulses move it only part of the way
    assert symmetry_point_recipe(soft_bounds(0.2, 0.1)) == pytest.approx(1 / 3, abs=0.03)


def test_one_sided_device_sp_at_bound() -> None:
    grid = np.linspace(-1, 1, 11)
    dev = LutDevice("up-wins", 0.05 * np.ones(11), 0.01 * np.ones(11))
    assert symmetry_point_analytic(dev) == 1.0
    assert grid.size == dev.n_points


def test_analytic_sp_is_where_a_centred_weight_drifts() -> None:
    """Δ = up − down with a stable root at −0.3, an unstable one at −0.1 and a stable one
    at 0.9: from the centre (Δ(0) > 0) the weight drifts up to 0.9, not to the nearer −0.3."""
    g = np.linspace(-1, 1, 201)
    diff = -(g + 0.3) * (g + 0.1) * (g - 0.9) * 0.05
    dev = LutDevice("multi", np.clip(diff, 0, None) + 0.01, np.clip(-diff, 0, None) + 0.01)
    assert symmetry_point_analytic(dev) == pytest.approx(0.9, abs=1e-9)
    assert symmetry_point_by_pulses(dev).value == pytest.approx(0.9, abs=1e-3)
    flipped = LutDevice("flip", dev.lut_down[::-1].copy(), dev.lut_up[::-1].copy())
    assert symmetry_point_analytic(flipped) == pytest.approx(-0.9, abs=1e-9)
