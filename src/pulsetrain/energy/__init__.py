"""Energy per programming pulse, and the energy of a training run."""

from pulsetrain.energy.accounting import training_energy
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
    "CapacitiveSwitching",
    "EnergyModel",
    "EnergyTable",
    "ExtrapolationWarning",
    "IVModel",
    "ReadEnergyModel",
    "SchottkyUpperBound",
    "energy_model_for",
    "read_energy",
    "training_energy",
]
