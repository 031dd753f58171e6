"""pulsetrain: accuracy, convergence and energy of on-chip training with measured synapses.

Data flow: measurements → devices (recipes, lookup-table models, metrics) → crossbar
(tiles, MVMs, pulse kernels) → training (algorithms) → run metrics (pulses, energy) →
store → study analysis → report.  The main names are importable from here (loaded on
first use)::

    import pulsetrain as pt
    run = pt.scan_folder("../shared/data/hzo-lbe247").runs_of("ID161ZR15000")[-2]
    device = pt.fit_device(run).device
    result = pt.train(pt.TrainConfig(device="ID161ZR15000-200us", algorithm="sgd"))
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "scan_folder": "pulsetrain.measurements",
    "read_wgfmu_sweep": "pulsetrain.measurements",
    "read_tidy_csv": "pulsetrain.measurements",
    "fit_device": "pulsetrain.devices",
    "get_recipe": "pulsetrain.devices",
    "LutDevice": "pulsetrain.devices",
    "builtin_device": "pulsetrain.devices",
    "builtin_names": "pulsetrain.devices",
    "load_device": "pulsetrain.devices",
    "save_device": "pulsetrain.devices",
    "symmetry_point": "pulsetrain.devices",
    "fit_folder": "pulsetrain.workflows",
    "TrainConfig": "pulsetrain.training.config",
    "train": "pulsetrain.training.driver",
    "train_runs": "pulsetrain.training.driver",
    "AnalogLinear": "pulsetrain.training.layers",
    "StudyConfig": "pulsetrain.study",
    "run_study": "pulsetrain.study",
    "reproduce_config": "pulsetrain.study",
    "energy_model_for": "pulsetrain.energy.models",
    "training_energy": "pulsetrain.energy.accounting",
}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pulsetrain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
