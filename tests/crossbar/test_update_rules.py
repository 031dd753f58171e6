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
    up, down = tile.pulsed_update(x.repeat(n, 1), d.repeat(n, 1), lr, seed=1)
    expected_dw = -n * lr * torch.outer(d, x)
    np.testing.assert_allclose((tile.w - w0).numpy(), expected_dw.numpy(), rtol=0.02)
    expected_pulses = n * lr * torch.outer(d, x).abs() / dw
    assert up + down == pytest.approx(float(expected_pulses.sum()), rel=0.02)
    # BL management: lr·max|x|·max|δ|/dw_min = 0.8 → BL = 1 here; with 9.5× lr, 7.6 → 8
    trains = make_trains(x[None], d[None], lr * 9.5, dw)
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
    x = torch.rand(12, 50, generator=torch.Generator().manual_seed(3))
    x[x < 0.3] = 0  # inputs that never fire, as MNIST's background pixels
    d = torch.randn(12, 32, generator=torch.Generator().manual_seed(4)) * 0.2
    for backend in ("numba", "torch"):
        tile = _tile(dev, 32, 50, backend)
        tile.set_weight(torch.rand(32, 50, generator=torch.Generator().manual_seed(2)) - 0.5)
        trains = make_trains(x, d, 0.3, tile.dt.dw_min, seed=5, backend=backend)
        sgd = tile.pulsed_update(x, d, 0.3, seed=11)
        counts = tile.apply_pulse_counts(
            torch.randint(-3, 4, (32, 50), generator=torch.Generator().manual_seed(6)), 12)
        chi = torch.randn(32, 50, generator=torch.Generator().manual_seed(7)) * 0.2
        mp = tile.transfer_accumulator(chi, 0.03, 0.05, 13)
        results[backend] = (trains, sgd, counts, mp, chi, tile.w.clone())
    t_nb, t_th = results["numba"][0], results["torch"][0]
    assert bool(t_nb.x_bits.any()) and bool(t_nb.d_bits.any())
    assert torch.equal(t_nb.x_bits, t_th.x_bits)  # same counter-based slot draws
    assert torch.equal(t_nb.d_bits, t_th.d_bits)
    for k in (1, 2, 3):  # exact pulse counts: trains, counts, accumulator transfer
        assert results["numba"][k] == results["torch"][k]
    assert results["numba"][3][0] > 0 and results["numba"][3][1] > 0
    torch.testing.assert_close(results["numba"][4], results["torch"][4], atol=1e-7, rtol=0)
    # same pulses, same noise; float32 vs float64 arithmetic differs in the last bits
    torch.testing.assert_close(results["numba"][5], results["torch"][5], atol=2e-6, rtol=0)


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")
def test_fused_sgd_kernel_equals_trains_then_apply() -> None:
    """The one-call numba SGD step (management + draws + pulses) is bit-identical to
    make_trains followed by apply_trains, with and without management."""
    from pulsetrain.crossbar.kernels import apply_trains
    from pulsetrain.crossbar.pulse_trains import pulsed_sgd_update

    dev = builtin_device("ID161ZR15000-2us").with_options(c2c_noise=0.2)
    x = torch.rand(16, 40, generator=torch.Generator().manual_seed(1))
    x[x < 0.4] = 0
    d = torch.randn(16, 24, generator=torch.Generator().manual_seed(2)) * 0.1
    for um, blm in ((True, True), (False, False), (True, False)):
        a, b = _tile(dev, 24, 40, "numba"), _tile(dev, 24, 40, "numba")
        fused = pulsed_sgd_update(a.w, x, d, 0.2, a.dt, 31, um, blm, 7, "numba")
        t = make_trains(x, d, 0.2, b.dt.dw_min, 31, um, blm, 7, "numba")
        split = apply_trains(b.w, t.x_bits, t.x_sign, t.d_bits, t.d_sign, b.dt, 7, "numba")
        assert fused == split and sum(fused) > 0
        assert torch.equal(a.w, b.w)


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")
def test_long_walks_agree_with_torch() -> None:
    """Hundreds of pulses per weight in one call (mixed precision at a high learning rate;
    the numba kernel sorts walks by length into more bins than its preallocated 66 — this
    once corrupted the heap) and a wide spread of walk lengths per row: the numba
    lockstep walk equals the torch reference's pulse counts exactly and its weights to
    float32 rounding: the torch walk rounds to float32 after every pulse (≤ 1.2e-7 per
    pulse for |w| ≤ 1), up to ~700 pulses per weight here, so 1e-4; the float64 check
    below pins the walk itself to 1e-12.  Device with d2d variation."""
    dev = builtin_device("ID161ZR15000-200ns").with_options(
        variation=Variation(step_gain_std=0.2, bound_std=0.1, up_down_std=0.1))
    out = {}
    for backend in ("numba", "torch"):
        tile = _tile(dev, 16, 70, backend)
        tile.set_weight(torch.rand(16, 70, generator=torch.Generator().manual_seed(2)) - 0.5)
        g = torch.Generator().manual_seed(3)
        totals = []
        for scale in (0.5, 5.0, 30.0):
            chi = torch.randn(16, 70, generator=g) * scale
            totals.append(tile.transfer_accumulator(chi, 0.05, 0.07, 1))
        totals.append(tile.apply_pulse_counts(
            torch.randint(-400, 401, (16, 70), generator=g), 2))
        out[backend] = (totals, tile.w.clone())
    assert out["numba"][0] == out["torch"][0]
    assert max(u + d for u, d in out["numba"][0]) > 16 * 70 * 100  # long walks happened
    torch.testing.assert_close(out["numba"][1], out["torch"][1], atol=1e-4, rtol=0)


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")
def test_lockstep_walk_equals_pulse_by_pulse_walk_in_float64() -> None:
    """The numba kernel walks long pulse runs in table coordinates (one multiply-add per
    pulse, many weights in lockstep); in float64 it equals the plain per-pulse LUT walk in
    weight coordinates to 1e-12 for walks of 1–400 pulses, up and down, with d2d gains and
    bounds."""
    import numpy as np

    from pulsetrain.crossbar import _numba_kernels as nk

    dev = builtin_device("ID161ZR15000-2us").with_options(
        variation=Variation(step_gain_std=0.2, bound_std=0.1, up_down_std=0.1))
    tile = _tile(dev, 8, 50, "numba")
    rng = np.random.default_rng(0)
    lo, hi = tile.dt.w_min.double().numpy(), tile.dt.w_max.double().numpy()
    gu, gd = tile.dt.gain_up.double().numpy(), tile.dt.gain_down.double().numpy()
    lut_up, lut_down = tile.dt.lut_up.double().numpy(), tile.dt.lut_down.double().numpy()
    w = lo + (hi - lo) * rng.random((8, 50))
    counts = rng.integers(-400, 401, (8, 50))
    expected = w.copy()
    for i in range(8):
        for j in range(50):
            n = int(counts[i, j])
            if n:
                expected[i, j], _ = nk.pulses(w[i, j], abs(n), 1 if n > 0 else -1, lut_up,
                                              lut_down, gu[i, j], gd[i, j], lo[i, j],
                                              hi[i, j], 0.0, 0, 0, 0)
    got = w.copy()
    n_up, n_down = np.zeros(8, np.int64), np.zeros(8, np.int64)
    nk.counts(got, counts, lut_up, lut_down, gu, gd, lo, hi, 0.0, 0, n_up, n_down)
    assert n_up.sum() == counts.clip(min=0).sum() and n_down.sum() == (-counts).clip(min=0).sum()
    assert np.abs(got - expected).max() < 1e-12
    assert np.abs(got - w).max() > 0.1  # the walks moved the weights


@pytest.mark.parametrize("backend", BACKENDS)
def test_accumulator_transfer_fires_trunc_and_keeps_remainder(backend: str) -> None:
    """Constant-step device, ε_up = 0.01, ε_down = 0.02: χ = 0.035 → 3 up pulses, remainder
    0.005; χ = −0.05 → 2 down pulses, remainder −0.01; |χ| < ε → nothing."""
    tile = _tile(constant_step(0.01, bound=1.0), 1, 4, backend)
    chi = torch.tensor([[0.035, -0.05, 0.009, -0.019]])
    up, down = tile.transfer_accumulator(chi, 0.01, 0.02)
    assert (up, down) == (3, 2)
    torch.testing.assert_close(chi, torch.tensor([[0.005, -0.01, 0.009, -0.019]]),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(tile.w, torch.tensor([[0.03, -0.02, 0.0, 0.0]]),
                               atol=1e-6, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_slot_draws_fire_with_the_requested_probability(backend: str) -> None:
    """4000 × 3 trains of BL = 20 slots at p = 0.1/0.5/0.9: the fraction of set bits is a
    mean of 80k Bernoulli draws (std ≤ 0.0018), checked to ±0.01 (> 5σ); bits above BL
    stay clear; successive slots are uncorrelated (lag-1 correlation within ±0.02)."""
    from pulsetrain.crossbar.kernels import draw_train_bits

    prob = torch.tensor([0.1, -0.5, 0.9]).repeat(4000, 1)  # |value|·scale, sign ignored
    bits = draw_train_bits(prob, torch.ones(4000, dtype=torch.float64),
                           torch.full((4000,), 20), seed=9, backend=backend)
    assert int((bits >> 20).sum()) == 0
    slots = ((bits[..., None] >> torch.arange(20)) & 1).double()  # (4000, 3, 20)
    frac = slots.mean(dim=(0, 2))
    torch.testing.assert_close(frac, torch.tensor([0.1, 0.5, 0.9], dtype=torch.double),
                               atol=0.01, rtol=0)
    a, b = slots[..., :-1].flatten(), slots[..., 1:].flatten()
    for k in range(3):
        sa, sb = slots[:, k, :-1].flatten(), slots[:, k, 1:].flatten()
        corr = float(torch.corrcoef(torch.stack([sa, sb]))[0, 1])
        assert abs(corr) < 0.02
    assert a.numel() == b.numel()


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


@pytest.mark.parametrize("backend", BACKENDS)
def test_granularity_option_scales_the_pulse_probabilities(backend: str) -> None:
    """Constant step dw = 0.001 but management told granularity 0.002: E[pulses] =
    lr|δx|/0.002 (half) and E[Δw] = −lr·δ·x/2.  With lr = 0.08 the smallest weight gets
    ≈ 8·10³ pulses (relative std ≈ 1.1 %), so 4 % is a > 3.5σ bound per weight; the total
    (≈ 1.9·10⁵ pulses, std ≈ 0.25 %) is held to 2 %."""
    dw, lr, n = 0.001, 0.08, 40_000
    x = torch.tensor([0.9, -0.5, 0.3, -1.0])
    d = torch.tensor([0.2, -0.1, 0.05]) * 0.2
    tile = _tile(constant_step(dw), 3, 4, backend)
    up, down = tile.pulsed_update(x.repeat(n, 1), d.repeat(n, 1), lr, seed=2, dw_min=2 * dw)
    np.testing.assert_allclose(tile.w.numpy(), (-n * lr * torch.outer(d, x) / 2).numpy(),
                               rtol=0.04)
    assert up + down == pytest.approx(float(n * lr * torch.outer(d, x).abs().sum() / (2 * dw)),
                                      rel=0.02)


@pytest.mark.parametrize("backend", BACKENDS)
def test_saturated_management_caps_the_input_side(backend: str) -> None:
    """lr·max|x|·max|δ|/dw_min = 1000 ≫ BL = 31: p_j = |x_j|/max|x| exactly (no clipping
    on the input side), q_i = min(1, lr·max|x|·|δ_i|/(dw_min·BL)) — AIHWKit's rule."""
    x = torch.tensor([[1.0, 0.5, 0.1, 0.01]])
    d = torch.tensor([[1.0, -0.3, 0.01]])
    lr, dw = 1.0, 0.001
    n = 20_000
    t = make_trains(x.repeat(n, 1), d.repeat(n, 1), lr, dw, seed=3, backend=backend)
    assert int(t.bl.max()) == 31
    fires = lambda bits: ((bits[..., None] >> torch.arange(31)) & 1).double().mean(dim=(0, 2))  # noqa: E731
    torch.testing.assert_close(fires(t.x_bits), torch.tensor([1.0, 0.5, 0.1, 0.01]).double(),
                               atol=0.005, rtol=0)  # 6·10⁵ draws each: std ≤ 0.0007
    q3 = lr * 1.0 * 0.01 / (dw * 31)
    torch.testing.assert_close(fires(t.d_bits), torch.tensor([1.0, 1.0, q3]).double(),
                               atol=0.005, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_accumulated_matches_the_exact_transfer(backend: str) -> None:
    """The counts and remainders the pulse-train transfer starts from are those of the
    exact transfer, bit for bit (asymmetric thresholds, both signs, rows with nothing
    due)."""
    from pulsetrain.crossbar.kernels import split_accumulated

    g = torch.Generator().manual_seed(5)
    chi = torch.randn(40, 30, generator=g) * 0.03
    chi[7] = 0.001  # a row with nothing due
    exact = chi.clone()
    tile = _tile(constant_step(0.01), 40, 30, backend)
    tile.transfer_accumulator(exact, 0.01, 0.02)
    counts, row_max = split_accumulated(chi, 0.01, 0.02, backend)
    assert torch.equal(chi, exact)
    assert torch.equal((tile.w / 0.01).round(), counts.to(torch.float32))  # 0.01 a pulse
    assert torch.equal(row_max, counts.abs().amax(dim=1))
    assert int(row_max[7]) == 0 and int(row_max.max()) >= 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_pulse_train_transfer_fires_n_on_average_like_aihwkit(backend: str) -> None:
    """AIHWKit's mixed-precision transfer: a row's counts n go out as one pulse train of
    BL = max|n| slots; a device gets Binomial(BL, |n|/BL) pulses.  2000 rows, each with
    counts (4, 2, −1, 0, −4): the devices at ±max|n| get exactly 4 (p = 1), the others
    2 and 1 on average (binomial std of the 2000-device mean ≤ 0.023; checked to ±0.1),
    with a spread (std 1 and 0.87 expected; checked in [0.8, 1.2] and [0.7, 1.05]), and
    0 nothing.  Beyond ``bl`` (max|n| = 40 > 31) no device gets more than 31."""
    rows = 2000
    tile = _tile(constant_step(0.01), rows, 5, backend)
    chi = torch.tensor([[4.0, 2.0, -1.0, 0.0, -4.0]]).repeat(rows, 1) * 0.01 + 0.001
    chi[:, 2:] -= 0.002  # keep trunc() off the exact multiples: −1.001, −0.001, −4.001
    up, down = tile.transfer_accumulator(chi, 0.01, 0.01, seed=3, bl=31)
    pulses = (tile.w / 0.01).round()
    assert torch.equal(pulses[:, 0], torch.full((rows,), 4.0))
    assert torch.equal(pulses[:, 4], torch.full((rows,), -4.0))
    assert torch.equal(pulses[:, 3], torch.zeros(rows))
    assert abs(float(pulses[:, 1].mean()) - 2.0) < 0.1
    assert abs(float(pulses[:, 2].mean()) + 1.0) < 0.1
    assert 0.8 < float(pulses[:, 1].std()) < 1.2
    assert 0.7 < float(pulses[:, 2].std()) < 1.05
    assert up == int(pulses.clamp(min=0).sum()) and down == int((-pulses).clamp(min=0).sum())
    torch.testing.assert_close(chi[0], torch.tensor([0.001, 0.001, -0.001, -0.001, -0.001]),
                               atol=1e-6, rtol=0)
    big = _tile(constant_step(0.01), 1, 2, backend)
    big.transfer_accumulator(torch.tensor([[0.405, 0.205]]), 0.01, 0.01, seed=1, bl=31)
    assert float((big.w / 0.01).round().max()) <= 31
