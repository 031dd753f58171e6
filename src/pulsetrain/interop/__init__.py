"""Interoperability: AIHWKit and NeuroSim parameter export/import.

The AIHWKit cross-check harness (running AIHWKit in its own venv) is test tooling and
lives outside the package, in the checkout's ``validation/`` folder.
"""

from pulsetrain.interop.aihwkit_params import (
    aihwkit_granularity,
    from_piecewise_step,
    to_piecewise_step,
)
from pulsetrain.interop.neurosim import to_neurosim

__all__ = [
    "aihwkit_granularity",
    "from_piecewise_step",
    "to_neurosim",
    "to_piecewise_step",
]
