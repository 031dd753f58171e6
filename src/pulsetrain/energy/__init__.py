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

__all__ = [
    "CapacitiveSwitching",
    "EnergyModel",
    "EnergyTable",
    "ExtrapolationWarning",
    "IVModel",
    "SchottkyUpperBound",
    "energy_model_for",
    "training_energy",
]
