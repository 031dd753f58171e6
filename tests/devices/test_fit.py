"""Fitting: synthetic runs with a known answer, and the measured HZO device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetrain.devices import fit_device, symmetry_point_analytic
from pulsetrain.devices.reference import PUBLISHED_GMAX_GMIN
from pulsetrain.measurements import scan_folder
from pulsetrain.workflows import fit_device_folder
from tests.conftest import DEVICE, soft_bounds_trace


def _tidy_run(tmp_path: Path, a: float, b: float, noise: float = 0.0) -> Path:
    amps, w = soft_bounds_trace(80, a, b)
    rng = np.random.default_rng(1)
    g = 1e-7 * (1.2 + w) * (1 + noise * rng.standard_normal(w.size))
    pd.DataFrame({"pulse_index": np.arange(w.size), "amplitude_v": amps,
                  "pulse_width_s": 2e-8, "conductance_s": g, "device_id": "SYN",
                  "run": "r1"}).to_csv(tmp_path / "syn.csv", index=False)
    pd.DataFrame({"device_id": ["SYN"], "run": ["r1"], "VStartPos": [0.0],
                  "VEndPos": [99.0], "VStartNeg": [0.0], "VEndNeg": [-99.0]}).to_csv(
        tmp_path / "cutoffs.csv", index=False)
    return tmp_path


def test_fit_recovers_a_known_soft_bounds_device(tmp_path: Path) -> None:
    a, b = 0.06, 0.03
    (run,) = scan_folder(_tidy_run(tmp_path, a, b)).runs
    fit = fit_device(run)
    # the run spans [w_lo, w_hi] of the true device; map the truth into the fitted units
    m = fit.clean.mapping
    # true weights: x = 1.2 + w_true scaled by 1e-7 → fitted w is affine in w_true
    g = m.to_conductance(np.array([-1.0, 1.0]))
    w_true = g / 1e-7 - 1.2
    scale = (w_true[1] - w_true[0]) / 2
    sp_true = (a - b) / (a + b)
    sp_fit_in_true_units = w_true[0] + (fit.metrics.symmetry_point + 1) * scale
    assert sp_fit_in_true_units == pytest.approx(sp_true, abs=0.03)
    # step at the centre (fitted units) vs truth: up step a(1 - w) in true units / scale
    w0_true = w_true[0] + scale
    assert fit.device.step_up(0.0) == pytest.approx(a * (1 - w0_true) / scale, rel=0.05)
    assert fit.device.step_down(0.0) == pytest.approx(b * (1 + w0_true) / scale, rel=0.05)
    # noise-free data: what remains is model error (steps forced to zero at the measured
    # extremes, which for a soft-bounds device are not its true bounds) — a few percent
    assert fit.metrics.c2c_noise < 0.05
    assert fit.metrics.symmetry_point_sim == pytest.approx(fit.metrics.symmetry_point,
                                                           abs=0.02)


def test_c2c_noise_estimate_tracks_injected_noise(tmp_path: Path) -> None:
    clean_dir, noisy_dir = tmp_path / "clean", tmp_path / "noisy"
    clean_dir.mkdir()
    noisy_dir.mkdir()
    (run,) = scan_folder(_tidy_run(clean_dir, 0.06, 0.03)).runs
    (noisy_run,) = scan_folder(_tidy_run(noisy_dir, 0.06, 0.03, noise=0.002)).runs
    clean = fit_device(run).metrics.c2c_noise
    noisy = fit_device(noisy_run).metrics.c2c_noise
    # read noise sigma = 0.2 % of G ≈ 2.4e-10 S; a mean step ≈ 0.023 weight units ≈ 2.1e-9 S,
    # so a step difference carries ≈ sqrt(2)·2.4e-10/2.1e-9 ≈ 0.16 relative noise
    assert 0.08 < noisy < 0.3
    assert noisy > 3 * clean


@pytest.fixture(scope="module")
def hzo_fit(hzo_dir: Path):  # type: ignore[no-untyped-def]
    """The published runs: cutoffs windows, >= 40 pulses per branch (the built-ins' recipe)."""
    return fit_device_folder(hzo_dir, DEVICE, min_pulses=40, window="cutoffs")


def test_hzo_gmax_gmin_matches_published(hzo_fit) -> None:  # type: ignore[no-untyped-def]
    for fit in hzo_fit.fits:
        m = fit.metrics
        for pw, published in PUBLISHED_GMAX_GMIN.items():
            if abs(m.pulse_width_s - pw) / pw < 1e-6:
                assert m.gmax_gmin == pytest.approx(published, rel=0.20), m.run


def test_hzo_usable_runs_and_counts(hzo_fit) -> None:  # type: ignore[no-untyped-def]
    assert len(hzo_fit.fits) == 7  # 2 × 20 ns, 200 ns, 2 µs, 20 µs, 200 µs, 2 ms
    assert [r for r, _ in hzo_fit.skipped if "29 potentiation" in _] == ["20241024105622"]
    for fit in hzo_fit.fits:
        assert 60 <= fit.metrics.n_up <= 110 and 60 <= fit.metrics.n_down <= 110
        assert 1.1 <= fit.metrics.asymmetry <= 3.5  # potentiation steps larger


def test_hzo_defaults_fit_the_short_run_and_flag_it(hzo_dir: Path) -> None:
    """Default floor 10 pulses: the 20 ns run with 29 potentiation pulses now fits, flagged;
    the seven published runs fit exactly as with the built-ins' recipe."""
    fits = {f.device.run: f for f in fit_device_folder(hzo_dir, DEVICE).fits}
    assert len(fits) == 8
    short = fits["20241024105622"]
    assert short.metrics.n_up == 29
    assert any(q.startswith("few pulses") for q in short.quality)
    assert any(q.startswith("SP at a bound") for q in short.quality)
    published = fit_device_folder(hzo_dir, DEVICE, min_pulses=40, window="cutoffs").fits
    for fit in published:
        again = fits[fit.device.run]
        np.testing.assert_array_equal(again.device.lut_up, fit.device.lut_up)
        assert fit.quality == () and fit.metrics.quality == "ok"


def test_hzo_symmetry_points(hzo_fit) -> None:  # type: ignore[no-untyped-def]
    sp = {}
    for fit in hzo_fit.fits:
        m = fit.metrics
        assert m.symmetry_point == pytest.approx(m.symmetry_point_sim, abs=0.02), m.run
        # one stable crossing where the weights settle: the SP from the centre is the same
        assert symmetry_point_analytic(fit.device) == pytest.approx(m.symmetry_point,
                                                                    abs=1e-12)
        sp.setdefault(m.pulse_width_s, []).append(m.symmetry_point)
    # decreasing from the 20 ns runs through 200 ns and 2 µs to 20 µs
    assert min(sp[2e-8]) > sp[2e-7][0] > sp[2e-6][0] > sp[2e-5][0]
    assert sp[2e-5][0] == pytest.approx(0.17, abs=0.15)
    # 20–200 µs below both 20 ns runs
    assert max(sp[2e-5][0], sp[2e-4][0]) < min(sp[2e-8])
