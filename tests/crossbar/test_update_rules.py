"""Update rules against closed forms, and the numba kernels against the torch reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pulsetrain.crossbar import AnalogTile, available_backends
from pulsetrain.crossbar.pulse_trains import make_trains
from pulsetrain.crossbar.symmetry import estimate_symmetry_points
from pulsetrain.devices import LutDevice, Variation, builtin_device

BACKENDS = available_backends()


def constant_step(dw: float = 0.001, bound: float = 1000.0) -> LutDevice:
    return LutDevice("const", [dw, dw], [dw, dw], w_min=-bound, w_max=bound)


def _tile(dev: LutDevice, out: int, inp: int, backend: str = "torch") -> AnalogTile:
    return AnalogTile(dev, out, inp, torch.Generator().manual_seed(0), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stochastic_update_matches_closed_form(backend: str) -> None:
    """Constant-step device, update + BL management: over N samples each weight gets
    E[pulses] = N·BL·p·q = N·lr|δ_i x_j|/dw_min and E[Δw] = −N·lr·δ_i·x_j.

    N = 40000 identical samples; the smallest expected count is ≈ 0.27·N ≈ 10^4
    pulses, whose Poisson-like relative std is ≈ 1 %, so 2 % is a ≥ 2σ bound on
    every one of the 12 weights (and 4σ+ on most)."""
    dw, lr, n = 0.001, 0.02, 40_000
    x = torch.tensor([0.9, -0.5, 0.3, -1.0])
    d = torch.tensor([0.2, -0.1, 0.05]) * 0.2
    tile = _tile(constant_step(dw), 3, 4, backend)
    w0 = tile.w.clone()
    up, down = tile.pulsed_update(x.repeat(n, 1), d.repeat(n, 1), lr,
                                  generator=torch.Generator().manual_seed(1))
    expected_dw = -n * lr * torch.outer(d, x)
    np.testing.assert_allclose((tile.w - w0).numpy(), expected_dw.numpy(), rtol=0.02)
    expected_pulses = n * lr * torch.outer(d, x).abs() / dw
    assert up + down == pytest.approx(float(expected_pulses.sum()), rel=0.02)
    # BL management: lr·max|x|·max|δ|/dw_min = 0.8 → BL = 1 here; with 10× lr, BL = 8
    trains = make_trains(x[None], d[None], lr * 10, dw)
    assert int(trains.bl[0]) == 8


def test_probabilities_clip_at_one() -> None:
    x = torch.tensor([[1.0, 0.01]])
    d = torch.tensor([[1.0]])
    # lr·x·d/dw = 1000 ≫ BL = 31: p = q = 1 for the big pair, every slot fires
    trains = make_trains(x, d, lr=1.0, dw_min=0.001, bl=31)
    assert int(trains.bl[0]) == 31
    assert int(trains.x_bits[0, 0]) == 2**31 - 1
    assert int(trains.d_bits[0, 0]) == 2**31 - 1


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")
@pytest.mark.parametrize("c2c", [0.0, 0.3])
def test_numba_and_torch_kernels_agree(c2c: float) -> None:
    dev = builtin_device("ID161ZR15000-200ns").with_options(
        c2c_noise=c2c, variation=Variation(step_gain_std=0.2, bound_std=0.1, up_down_std=0.1))
    results = {}
    for backend in ("numba", "torch"):
        tile = _tile(dev, 32, 50, backend)
        tile.set_weight(torch.rand(32, 50, generator=torch.Generator().manual_seed(2)) - 0.5)
        x = torch.rand(12, 50, generator=torch.Generator().manual_seed(3))
        d = torch.randn(12, 32, generator=torch.Generator().manual_seed(4)) * 0.2
        counts = tile.pulsed_update(x, d, 0.3, generator=torch.Generator().manual_seed(5),
                                    seed=11)
        mp = tile.apply_pulse_counts(
            torch.randint(-3, 4, (32, 50), generator=torch.Generator().manual_seed(6)), 12)
        results[backend] = (counts, mp, tile.w.clone())
    assert results["numba"][0] == results["torch"][0]  # exact pulse counts
    assert results["numba"][1] == results["torch"][1]
    # same pulses, same noise; float32 vs float64 arithmetic differs in the last bits
    torch.testing.assert_close(results["numba"][2], results["torch"][2], atol=2e-6, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_counts_apply_exact_steps_and_clip(backend: str) -> None:
    tile = _tile(constant_step(0.01, bound=0.05), 2, 3, backend)
    counts = torch.tensor([[3, -2, 0], [10, -10, 1]])
    up, down = tile.apply_pulse_counts(counts)
    assert (up, down) == (14, 12)
    expected = torch.tensor([[0.03, -0.02, 0.0], [0.05, -0.05, 0.01]])
    torch.testing.assert_close(tile.w, expected, atol=1e-6, rtol=0)


def test_c2c_noise_has_the_configured_spread() -> None:
    """2000 weights × 50 up pulses on a constant-step device with c2c σ = 0.3: the final
    weight is 50·dw·(1 + mean of 50 factors), so its relative std is 0.3/√50 ≈ 0.042."""
    dw = 0.001
    tile = _tile(constant_step(dw).with_options(c2c_noise=0.3), 40, 50)
    tile.apply_pulse_counts(torch.full((40, 50), 50), seed=3)
    rel = tile.w / (50 * dw)
    assert float(rel.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(rel.std()) == pytest.approx(0.3 / np.sqrt(50), rel=0.1)


def test_d2d_variation_draws() -> None:
    dev = constant_step().with_options(variation=Variation(step_gain_std=0.2))
    tile = _tile(dev, 100, 100)
    assert float(tile.dt.gain_up.std()) == pytest.approx(0.2, rel=0.05)
    torch.testing.assert_close(tile.dt.gain_up, tile.dt.gain_down)


def test_tile_symmetry_points_of_soft_bounds_devices() -> None:
    """Δw_up = a(1 − w), Δw_down = b(1 + w) → SP = (a − b)/(a + b); with per-device
    up/down variation each device has its own (a·(1+r) − b·(1−r))/(a·(1+r) + b·(1−r))."""
    a, b = 0.03, 0.01
    grid = np.linspace(-1, 1, 65)
    dev = LutDevice("soft", a * (1 - grid), b * (1 + grid),
                    variation=Variation(up_down_std=0.2))
    tile = _tile(dev, 20, 30)
    est = estimate_symmetry_points(tile.dt)
    ga, gb = a * tile.dt.gain_up, b * tile.dt.gain_down
    torch.testing.assert_close(est.value, (ga - gb) / (ga + gb), atol=1e-4, rtol=0)
    assert est.converged_fraction == 1.0 and est.pulses > 2 * 600
