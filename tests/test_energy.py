"""Energy models against hand calculations, and training-energy accounting."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from pulsetrain.devices import builtin_device, builtin_family
from pulsetrain.energy import (
    CapacitiveSwitching,
    EnergyTable,
    ExtrapolationWarning,
    IVModel,
    SchottkyUpperBound,
    energy_model_for,
    training_energy,
)
from pulsetrain.errors import InputError
from pulsetrain.measurements import IVSweep, read_dciv


def test_schottky_matches_hand_calculation() -> None:
    m = SchottkyUpperBound(area_m2=1e-10)
    # V = 3 V, d = 5 nm: E = 6e8 V/m; barrier lowering sqrt(q E / (4π ε0 18.2)) = 0.2179 V
    field = 3 / 5e-9
    lowering = math.sqrt(1.602176634e-19 * field / (4 * math.pi * 8.8541878128e-12 * 18.2))
    assert lowering == pytest.approx(0.2179, abs=1e-4)
    j = 3e-4 * 300**1.5 * field * 8.9e-3 * math.exp(-(0.19 - lowering) / (8.617333262e-5 * 300))
    assert m.current_density_a_m2(3.0) == pytest.approx(j, rel=1e-12)
    assert m.energy_per_pulse_j(20e-9, -3.0) == pytest.approx(3 * j * 1e-10 * 20e-9, rel=1e-12)
    # linear in pulse width
    assert m.energy_per_pulse_j(2e-7, 3) == pytest.approx(10 * m.energy_per_pulse_j(2e-8, 3))
    with pytest.raises(ValueError, match="pulse_width_s"):
        m.energy_per_pulse_j(-1, 3)


def test_iv_model_interpolates_and_warns_when_extrapolating() -> None:
    v = np.array([-1.0, -0.5, 0.5, 1.0])
    i = np.array([-4e-6, -1e-6, 1e-6, 4e-6])
    m = IVModel.fit(IVSweep("d", v, i))
    assert m.energy_per_pulse_j(1e-6, 1.0) == pytest.approx(1.0 * 4e-6 * 1e-6)
    # ln|I| interpolated linearly: at 0.75 V, |I| = exp(mean(ln 1e-6, ln 4e-6)) = 2e-6
    assert m.energy_per_pulse_j(1e-6, 0.75) == pytest.approx(0.75 * 2e-6 * 1e-6, rel=1e-9)
    with pytest.warns(ExtrapolationWarning, match="outside the measured bias"):
        e = m.energy_per_pulse_j(1e-6, 2.0)
    assert e > 2.0 * 4e-6 * 1e-6  # current keeps growing beyond the measured range


def test_iv_model_on_measured_sweep(hzo_dir: Path) -> None:
    sweep = read_dciv(next((hzo_dir / "_ID161ZR15000").glob("DCIV_*/*.csv")))
    m = IVModel.fit(sweep)
    # inside the range it returns the measured point: |I(1.6 V)| = 2934.47 nA
    assert m.current_at(1.6) == pytest.approx(2934.47e-9, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        e20ns = m.energy_per_pulse_j(20e-9, -2.2)
    assert 1e-13 < e20ns < 1e-10  # pJ scale, as the group's ≤ 3 pJ per 20 ns anchor


def test_capacitive_and_table() -> None:
    c = CapacitiveSwitching(area_m2=1e-10, thickness_m=5e-9, eps_r=20,
                            remanent_polarization_c_m2=0.1, switched_fraction=0.5)
    cap = 8.8541878128e-12 * 20 * 1e-10 / 5e-9
    assert c.energy_per_pulse_j(1e-6, 2) == pytest.approx(cap * 4 + 2 * 0.1 * 1e-10 * 2 * 0.5)
    t = EnergyTable((2e-8, 2e-8, 2e-6), (1.0, 3.0, 1.0), (1e-12, 3e-12, 1e-10))
    assert t.energy_per_pulse_j(2e-8, 2.0) == pytest.approx(2e-12)
    assert t.energy_per_pulse_j(2e-7, 1.0) == pytest.approx(0.5 * (1e-12 + 1e-10))
    with pytest.raises(InputError, match="no entry covering"):
        t.energy_per_pulse_j(1e-3, 1.0)
    with pytest.raises(InputError, match="no entry covering -1 V"):  # amplitudes are signed
        t.energy_per_pulse_j(2e-8, -1.0)
    # ns widths are told apart (no absolute tolerance), and signs are kept
    near = EnergyTable((1e-8, 2e-8, 3e-8, 2e-8), (1.0, 1.0, 1.0, -2.0), (1e-12, 5e-12, 9e-12,
                                                                          7e-12))
    assert near.energy_per_pulse_j(2e-8, 1.0) == pytest.approx(5e-12)
    assert near.energy_per_pulse_j(2e-8, -2.0) == pytest.approx(7e-12)
    t2 = EnergyTable((2e-8, 3e-8), (1.0, 1.0), (1e-12, 9e-12))
    frac = math.log(2.5 / 2) / math.log(3 / 2)
    assert t2.energy_per_pulse_j(2.5e-8, 1.0) == pytest.approx(1e-12 + frac * 8e-12)


def test_builtin_energy_per_pulse_increases_with_pulse_width() -> None:
    per_pulse = []
    for dev in builtin_family():
        m = energy_model_for(dev)
        assert dev.amplitude_up_v is not None and dev.pulse_width_s is not None
        per_pulse.append(m.energy_per_pulse_j(dev.pulse_width_s, dev.amplitude_up_v))
    assert per_pulse[2:] == sorted(per_pulse[2:])  # 200 ns … 2 ms strictly ordered
    assert max(per_pulse[:2]) < min(per_pulse[2:])  # both 20 ns runs below


def test_training_energy_sums_pulses() -> None:
    dev = builtin_device("ID161ZR15000-2us")
    m = energy_model_for(dev)
    e_up = m.energy_per_pulse_j(2e-6, dev.amplitude_up_v or 0)
    e_down = m.energy_per_pulse_j(2e-6, dev.amplitude_down_v or 0)
    epochs = [{"epoch": 1, "layers": [{"up": 10, "down": 5, "up_total": 10, "down_total": 5}],
               "digital_updates_total": 100},
              {"epoch": 2, "layers": [{"up": 1, "down": 2, "up_total": 11, "down_total": 7}],
               "digital_updates_total": 200}]
    rows = training_energy(epochs, dev, m, digital_energy_per_op_j=1e-15)
    assert rows[0]["energy_j"] == pytest.approx(10 * e_up + 5 * e_down)
    assert rows[1]["energy_total_j"] == pytest.approx(11 * e_up + 7 * e_down)
    assert rows[1]["digital_energy_total_j"] == pytest.approx(2e-13)
    assert "digital" not in str(rows[1]["layers"])  # digital work kept apart
