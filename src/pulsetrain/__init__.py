"""pulsetrain: accuracy, convergence and energy of on-chip training with measured synapses.

Data flow: measurements → devices (recipes, lookup-table models, metrics) → crossbar
(tiles, MVMs, pulse kernels) → training (algorithms) → run metrics (pulses, energy) →
store → study analysis → report.  The main names are importable from here (loaded on
first use; ``import pulsetrain`` alone loads neither numpy nor torch)::

    import pulsetrain as pt
    run = pt.scan_folder("../shared/data/hzo-lbe247").runs_of("ID161ZR15000")[-2]
    device = pt.fit_device(run).device          # a LutDevice; save_device → a file
    result = pt.train(pt.TrainConfig(device="ID161ZR15000-200us", algorithm="sgd"))
    dev = pt.builtin_device("ID161ZR15000-200us")
    costs = pt.run_costs(result.epochs, dev)    # every cost, as reports count it (J)
    joules = costs[-1]["energy_total_j"]        # parts=("programming",): pulses only

``examples/measure_fit_train.py`` runs the whole chain on a fitted device.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads them
    from pulsetrain.devices import (
        RECIPES,
        DeviceFit,
        LutDevice,
        builtin_device,
        builtin_names,
        fit_device,
        get_recipe,
        load_device,
        resolve_device,
        save_device,
        symmetry_point,
    )
    from pulsetrain.energy import (
        COST_PARTS,
        DigitalEnergyModel,
        ReadEnergyModel,
        energy_model_for,
        read_energy,
        run_costs,
        training_energy,
    )
    from pulsetrain.errors import FitError, InputError, PulsetrainError
    from pulsetrain.measurements import (
        FolderScan,
        MeasuredRun,
        read_tidy_csv,
        read_wgfmu_sweep,
        scan_folder,
    )
    from pulsetrain.report.study_report import write_study_report
    from pulsetrain.study import StudyConfig, reproduce_config, run_study
    from pulsetrain.training.config import TrainConfig, load_config_file
    from pulsetrain.training.driver import train, train_runs
    from pulsetrain.training.layers import AnalogLinear
    from pulsetrain.training.trainer import TrainResult
    from pulsetrain.workflows import fit_folder

__version__ = "0.1.0"

_WHERE = {
    # measurements: scan a folder, read one file
    "scan_folder": "pulsetrain.measurements",
    "FolderScan": "pulsetrain.measurements",
    "MeasuredRun": "pulsetrain.measurements",
    "read_wgfmu_sweep": "pulsetrain.measurements",
    "read_tidy_csv": "pulsetrain.measurements",
    # devices: fit a run, recipes, device models and files, built-ins
    "fit_device": "pulsetrain.devices",
    "DeviceFit": "pulsetrain.devices",
    "get_recipe": "pulsetrain.devices",
    "RECIPES": "pulsetrain.devices",
    "LutDevice": "pulsetrain.devices",
    "builtin_device": "pulsetrain.devices",
    "builtin_names": "pulsetrain.devices",
    "resolve_device": "pulsetrain.devices",
    "load_device": "pulsetrain.devices",
    "save_device": "pulsetrain.devices",
    "symmetry_point": "pulsetrain.devices",
    "fit_folder": "pulsetrain.workflows",
    # training
    "TrainConfig": "pulsetrain.training.config",
    "load_config_file": "pulsetrain.training.config",
    "train": "pulsetrain.training.driver",
    "train_runs": "pulsetrain.training.driver",
    "TrainResult": "pulsetrain.training.trainer",
    "AnalogLinear": "pulsetrain.training.layers",
    # studies
    "StudyConfig": "pulsetrain.study",
    "run_study": "pulsetrain.study",
    "reproduce_config": "pulsetrain.study",
    "write_study_report": "pulsetrain.report.study_report",
    # energy: run_costs counts every cost (training_energy: programming pulses only)
    "run_costs": "pulsetrain.energy",
    "COST_PARTS": "pulsetrain.energy",
    "DigitalEnergyModel": "pulsetrain.energy",
    "energy_model_for": "pulsetrain.energy",
    "training_energy": "pulsetrain.energy",
    "ReadEnergyModel": "pulsetrain.energy",
    "read_energy": "pulsetrain.energy",
    # errors
    "PulsetrainError": "pulsetrain.errors",
    "InputError": "pulsetrain.errors",
    "FitError": "pulsetrain.errors",
}
"""Public name → the module that defines it (imported on first use, so that ``import
pulsetrain`` stays fast and does not load torch)."""

__all__ = [
    "COST_PARTS",
    "RECIPES",
    "AnalogLinear",
    "DeviceFit",
    "DigitalEnergyModel",
    "FitError",
    "FolderScan",
    "InputError",
    "LutDevice",
    "MeasuredRun",
    "PulsetrainError",
    "ReadEnergyModel",
    "StudyConfig",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "builtin_device",
    "builtin_names",
    "energy_model_for",
    "fit_device",
    "fit_folder",
    "get_recipe",
    "load_config_file",
    "load_device",
    "read_energy",
    "read_tidy_csv",
    "read_wgfmu_sweep",
    "reproduce_config",
    "resolve_device",
    "run_costs",
    "run_study",
    "save_device",
    "scan_folder",
    "symmetry_point",
    "train",
    "train_runs",
    "training_energy",
    "write_study_report",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's attributes, the public names not loaded yet included."""
    return sorted({*globals(), *__all__})
