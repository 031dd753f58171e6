"""Energy per programming pulse, and every cost of a training run (pulses, SP
estimation, digital operations, reads)."""

from pulsetrain.energy.accounting import training_energy
from pulsetrain.energy.costs import (
    COST_PARTS,
    DigitalEnergyModel,
    RunCostMeter,
    format_joules,
    run_costs,
)
from pulsetrain.energy.models import (
    CapacitiveSwitching,
    EnergyModel,
    EnergyTable,
    ExtrapolationWarning,
    IVModel,
    SchottkyUpperBound,
    energy_model_for,
)
from pulsetrain.energy.read import ReadEnergyModel, read_energy

__all__ = [
    "COST_PARTS",
    "CapacitiveSwitching",
    "DigitalEnergyModel",
    "EnergyModel",
    "EnergyTable",
    "ExtrapolationWarning",
    "IVModel",
    "ReadEnergyModel",
    "RunCostMeter",
    "SchottkyUpperBound",
    "energy_model_for",
    "format_joules",
    "read_energy",
    "run_costs",
    "training_energy",
]
