"""Interoperability: AIHWKit and NeuroSim parameter export/import, AIHWKit cross-checks."""

from pulsetrain.interop.aihwkit_bridge import (
    AihwkitUnavailable,
    aihwkit_available,
    run_aihwkit,
)
from pulsetrain.interop.aihwkit_params import (
    aihwkit_granularity,
    from_piecewise_step,
    to_piecewise_step,
)
from pulsetrain.interop.neurosim import to_neurosim

__all__ = [
    "AihwkitUnavailable",
    "aihwkit_available",
    "aihwkit_granularity",
    "from_piecewise_step",
    "run_aihwkit",
    "to_neurosim",
    "to_piecewise_step",
]
