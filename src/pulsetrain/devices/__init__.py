"""Device models: from a measured run to a lookup-table device, its metrics and files."""

from pulsetrain.devices.builtin import (
    DEFAULT_DEVICE,
    FAMILY,
    builtin_device,
    builtin_family,
    builtin_names,
    resolve_device,
)
from pulsetrain.devices.extract import Branch, CleanRun, clean_run
from pulsetrain.devices.fit import DeviceFit, fit_device
from pulsetrain.devices.io import load_device, save_device
from pulsetrain.devices.lut import LutDevice, Variation
from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.devices.metrics import METRIC_COLUMNS, RunMetrics, compute_metrics
from pulsetrain.devices.quality import training_warnings
from pulsetrain.devices.recipes import (
    RECIPES,
    MeasuredRecipe,
    Recipe,
    ThesisParameters,
    ThesisRecipe,
    UnknownRecipeError,
    get_recipe,
    recipe_piecewise_step,
    thesis_parameters,
)
from pulsetrain.devices.symmetry import (
    Crossing,
    SymmetryEstimate,
    SymmetryPoint,
    sp_crossings,
    symmetry_point,
    symmetry_point_analytic,
    symmetry_point_by_pulses,
    symmetry_point_recipe,
)

__all__ = [
    "DEFAULT_DEVICE",
    "FAMILY",
    "METRIC_COLUMNS",
    "RECIPES",
    "Branch",
    "CleanRun",
    "Crossing",
    "DeviceFit",
    "LutDevice",
    "MeasuredRecipe",
    "Recipe",
    "RunMetrics",
    "SymmetryEstimate",
    "SymmetryPoint",
    "ThesisParameters",
    "ThesisRecipe",
    "UnknownRecipeError",
    "Variation",
    "WeightMapping",
    "builtin_device",
    "builtin_family",
    "builtin_names",
    "clean_run",
    "compute_metrics",
    "fit_device",
    "get_recipe",
    "load_device",
    "recipe_piecewise_step",
    "resolve_device",
    "save_device",
    "sp_crossings",
    "symmetry_point",
    "symmetry_point_analytic",
    "symmetry_point_by_pulses",
    "symmetry_point_recipe",
    "thesis_parameters",
    "training_warnings",
]
