"""Every cost of a run (pulsetrain.energy.costs), against hand computations."""

from __future__ import annotations

import pytest

from pulsetrain.devices import builtin_device
from pulsetrain.energy.accounting import pulse_energies_j
from pulsetrain.energy.costs import COST_PARTS, DigitalEnergyModel, run_costs
from pulsetrain.energy.models import energy_model_for
from pulsetrain.energy.read import ReadEnergyModel


def _epoch(epoch: int, up: int, down: int, **extra: object) -> dict[str, object]:
    return {"epoch": epoch, "pulses_total": up + down,
            "layers": [{"up": up, "down": down, "up_total": up, "down_total": down}], **extra}


def test_parts_add_up_and_match_hand_computation() -> None:
    dev = builtin_device("ID161ZR15000-200us")
    model = energy_model_for(dev)
    e_up, e_down = pulse_energies_j(dev, model)
    reads = ReadEnergyModel(read_voltage_v=0.2, read_time_s=1e-8, dac_energy_j=1e-14,
                            adc_energy_j=1e-12)
    epochs = [
        _epoch(1, 100, 50, digital_updates_total=1000, sp_estimation_pulses=4000,
               reads={"dac_total": 10, "adc_total": 20, "array_sum_total": 1e-3}),
        # cumulative counters; epoch 2 adds 30 up, 70 down pulses
        {**_epoch(2, 0, 0, digital_updates_total=3000, sp_estimation_pulses=4000,
                  reads={"dac_total": 30, "adc_total": 60, "array_sum_total": 3e-3}),
         "layers": [{"up": 30, "down": 70, "up_total": 130, "down_total": 120}]},
    ]
    costs = run_costs(epochs, dev, model, reads, DigitalEnergyModel(2e-12))
    first, second = costs
    assert first["programming_energy_j"] == pytest.approx(100 * e_up + 50 * e_down)
    assert second["programming_energy_j"] == pytest.approx(30 * e_up + 70 * e_down)
    assert second["programming_energy_total_j"] == pytest.approx(130 * e_up + 120 * e_down)
    # the SP estimation is paid once, before training: all of it in epoch 1
    assert first["sp_estimation_energy_j"] == pytest.approx(2000 * (e_up + e_down))
    assert second["sp_estimation_energy_j"] == 0
    assert second["digital_energy_j"] == pytest.approx(2000 * 2e-12)
    read1 = 0.2 ** 2 * 1e-8 * 1e-3 + 10 * 1e-14 + 20 * 1e-12
    assert first["read_energy_j"] == pytest.approx(read1)
    assert second["read_energy_total_j"] == pytest.approx(3 * read1)
    for row in costs:
        assert row["energy_j"] == pytest.approx(sum(row[f"{p}_energy_j"] for p in COST_PARTS))
    assert second["energy_total_j"] == pytest.approx(first["energy_j"] + second["energy_j"])


def test_missing_counters_cost_nothing_and_zero_is_allowed() -> None:
    dev = builtin_device("ID161ZR15000-2us")
    model = energy_model_for(dev)
    costs = run_costs([_epoch(1, 10, 10)], dev, model, digital_model=DigitalEnergyModel(0.0))
    row = costs[0]
    assert row["sp_estimation_energy_j"] == row["digital_energy_j"] == row["read_energy_j"] == 0
    assert row["programming_energy_j"] > 0
    assert row["energy_total_j"] == pytest.approx(row["programming_energy_j"])
    with pytest.raises(ValueError, match="energy_per_op_j"):
        DigitalEnergyModel(-1e-12)
