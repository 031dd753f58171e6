"""Study configuration (pydantic), loadable from YAML/TOML; expands into training runs."""

from __future__ import annotations

import glob
import itertools
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pulsetrain.devices.builtin import FAMILY, RECIPE_SUFFIX, builtin_family, resolve_device
from pulsetrain.energy.costs import DEFAULT_DIGITAL_OP_J
from pulsetrain.energy.read import ReadEnergyModel
from pulsetrain.energy.spec import EnergyModelChoice
from pulsetrain.errors import (
    DataFormatError,
    InputError,
    and_list,
    describe_validation_error,
    did_you_mean,
)
from pulsetrain.training.config import (
    Algorithm,
    DatasetName,
    TorchDevice,
    TrainConfig,
    check_dataset_fields,
    require_torch_device,
)
from pulsetrain.training.registry import algorithm, owned_options


class AlgorithmSpec(BaseModel):
    """One training algorithm of a study: its learning rate (default per algorithm) and
    its own options (e.g. ``{sp_reference: reported}`` for SP shifting at the SP a
    publication reported), which apply to this entry's runs only."""

    model_config = ConfigDict(extra="forbid")
    name: Algorithm
    lr: float | None = Field(None, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _own_options(self) -> AlgorithmSpec:
        mine = set(algorithm(self.name).options)
        for key in self.options:
            if key not in mine:
                raise ValueError(f"options.{key}: not an option of algorithm {self.name!r} "
                                 f"(its options: {', '.join(sorted(mine)) or 'none'})")
        return self


STUDY_SETS = {
    "device": "devices/family/pulse_widths_s", "algorithm": "algorithms",
    "lr": "algorithms[].lr", "seed": "seeds", "epochs": "epochs", "batch_size": "batch_size",
    "hidden": "hidden", "train_subset": "train_subset", "val_size": "val_size",
    "test_subset": "test_subset", "lr_step_epochs": "lr_step_epochs",
    "torch_device": "torch_device", "dataset": "dataset", "model": "model"}
"""TrainConfig fields a study sets from its own keys (not through ``train``)."""


class StudyConfig(BaseModel):
    """A grid of training runs: devices × algorithms × seeds.

    Devices are ``devices`` (built-in names, device files, folders or globs of device
    files: :func:`expand_devices`) or, when that is empty,
    the members of the built-in ``family`` whose pulse width is in ``pulse_widths_s``
    (all when that is empty).  ``algorithms`` lists plain names (``[sgd, sp-shift]``)
    and/or :class:`AlgorithmSpec` mappings (``{name: sgd, lr: 0.1, options: {...}}``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "study"
    family: str = FAMILY
    pulse_widths_s: list[float] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)
    algorithms: list[AlgorithmSpec] = Field(default_factory=lambda: [
        AlgorithmSpec(name="sgd"), AlgorithmSpec(name="mixed-precision"),
        AlgorithmSpec(name="sp-shift")])
    seeds: list[int] = Field(default_factory=lambda: [0])
    epochs: int = Field(25, ge=1)
    batch_size: int = Field(64, ge=1)
    hidden: list[int] = Field(default_factory=lambda: [256, 128])
    model: str = Field("mlp", description="network of every run (training/models.py)")
    train_subset: int | None = Field(None, ge=1)
    dataset: DatasetName = Field("mnist", description="mnist, fashion-mnist, cifar10, idx "
                                 "(its folder: train.data_dir)")
    val_size: int = Field(12_000, ge=1, description="taken from the dataset's training "
                          "set (at most its size − 1)")
    test_subset: int | None = Field(None, ge=1)
    lr_step_epochs: int = Field(10, ge=1)
    target_accuracy: float = Field(0.95, gt=0, le=1)
    energy_model: EnergyModelChoice = Field(
        "schottky", description="pulse energy model: schottky, capacitive (from the "
        "device's area/thickness), or a mapping with its parameters: {kind: schottky|"
        "capacitive, ...}, {kind: iv, file: DC I–V sweep}, {kind: table, file: CSV of "
        "pulse_width_s, amplitude_v, energy_j} (pulsetrain.energy.spec)")
    digital_energy_per_op_j: float = Field(
        DEFAULT_DIGITAL_OP_J, ge=0, description="energy of one digital multiply-add (J; "
        "mixed precision's accumulator), default 4.6 pJ (FP32 at 45 nm, Horowitz ISSCC 2014); "
        "0 leaves digital work out")
    read_energy: ReadEnergyModel = Field(
        default_factory=ReadEnergyModel, description="energy of the training reads "
        "(pulsetrain.energy.read: read_voltage_v, read_time_s, dac_energy_j, adc_energy_j)")
    workers: int = Field(1, ge=1)
    executor: Literal["auto", "serial", "local", "ray"] = Field(
        "auto", description="where the runs train: serial (this process), local (a pool of "
        "`workers` processes), ray (Ray tasks; pip install 'pulsetrain[ray]'), auto (local "
        "when workers > 1, else serial)")
    ray_address: str | None = Field(
        None, description="executor ray: the cluster (HOST:PORT, ray://HOST:10001 or auto); "
        "default a local Ray with `workers` CPUs")
    stack: int | Literal["auto"] = Field(
        "auto", description="runs of one network shape trained together in one process "
        "(one batched MVM per layer and step, each run's own pulses; see "
        "pulsetrain.training.stacked): at most this many per stack, 1 = off; auto: the "
        "compatible runs dealt evenly over the workers")
    stack_mvm: Literal["batched", "exact"] = "batched"
    recipes: list[str] = Field(default_factory=lambda: ["measured"], min_length=1,
                               description="device-model recipes of the family's built-ins "
                               "(measured, thesis); ignored when devices are listed")
    train: dict[str, Any] = Field(
        default_factory=dict, description="any other TrainConfig option, for every run "
        "(e.g. bl, activation, c2c_noise, periphery); an algorithm's own options go to the "
        "runs of the algorithms they belong to")
    torch_device: TorchDevice = Field("cpu", description="torch device of every run: cpu, "
                                      "cuda, cuda:N (the CUDA path runs the torch kernels; "
                                      "untimed)")

    @field_validator("digital_energy_per_op_j", mode="before")
    @classmethod
    def _digital_default(cls, value: object) -> object:
        """``null`` (what studies stored before digital work was counted) → the default."""
        return DEFAULT_DIGITAL_OP_J if value is None else value

    @field_validator("algorithms", mode="before")
    @classmethod
    def _plain_names(cls, value: object) -> object:
        """``[sgd, mixed-precision]``: a plain name stands for ``{name: NAME}``."""
        if isinstance(value, list | tuple):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _check(self) -> StudyConfig:
        problems: list[str] = []  # all of them at once, one line each
        problems += check_dataset_fields(self.dataset, self.train.get("data_dir"),
                                         self.val_size)
        for k, pw in enumerate(self.pulse_widths_s):
            if not pw > 0:
                problems.append(f"pulse_widths_s[{k}] must be > 0 seconds, got {pw}")
        if any(s < 0 for s in self.seeds):
            problems.append(f"seeds must be >= 0, got {self.seeds}")
        if not self.algorithms:
            problems.append("algorithms must not be empty")
        if self.stack != "auto" and self.stack < 1:
            problems.append(f"stack must be >= 1 or 'auto', got {self.stack}")
        fields = set(TrainConfig.model_fields)
        owners = owned_options()
        names = {a.name for a in self.algorithms}
        unusable: set[str] = set()  # reported above, left out of the value checks below
        for key in self.train:
            if key in STUDY_SETS:
                problems.append(f"train.{key}: set by the study itself ({STUDY_SETS[key]})")
            elif key not in fields:
                problems.append(f"train.{key}: not a training option"
                                f"{did_you_mean(key, fields - set(STUDY_SETS))}")
            elif key in owners and not names & set(owners[key]):
                problems.append(f"train.{key}: applies to {and_list(owners[key])}, none "
                                "of which is in the study's algorithms")
            else:
                continue
            unusable.add(key)
        for algo in self.algorithms:  # the values too, before any run starts
            options = {k: v for k, v in self._train_options(algo.name).items()
                       if k not in unusable}
            try:
                TrainConfig(**{**options, **algo.options}, algorithm=algo.name)
            except ValidationError as exc:
                problems += [f"train/options of {algo.name}: {line}"
                             for line in describe_validation_error(exc).splitlines()]
        if problems:
            raise ValueError("\n".join(dict.fromkeys(problems)))  # each once
        return self

    @classmethod
    def rebase_paths(cls, data: dict[str, Any], folder: Path) -> dict[str, Any]:
        """Raw file content with its relative ``devices`` entries (paths, folders, globs)
        and ``train.data_dir`` taken relative to ``folder`` (the config file's), as
        :func:`rebase_path` does; built-in names and absolute paths stay as written."""
        out = dict(data)
        if isinstance(out.get("devices"), list):
            out["devices"] = [rebase_path(d, folder) if isinstance(d, str) else d
                              for d in out["devices"]]
        train = out.get("train")
        if isinstance(train, dict) and isinstance(train.get("data_dir"), str):
            out["train"] = {**train, "data_dir": rebase_path(train["data_dir"], folder)}
        energy = out.get("energy_model")
        if isinstance(energy, dict) and isinstance(energy.get("file"), str):
            out["energy_model"] = {**energy, "file": rebase_path(energy["file"], folder)}
        return out

    def device_names(self) -> list[str]:
        """The devices of the study (validated: each must resolve).

        Raises
        ------
        UnknownDeviceError, DataFormatError
            Naming the missing or invalid device file.
        InputError
            If a requested pulse width has no device in the family, or a folder or glob
            of ``devices`` holds no device file.
        """
        if self.devices:
            names = expand_devices(self.devices)
            for name in names:
                resolve_device(name)
            return names
        chosen = []
        for recipe in self.recipes:
            members = builtin_family(self.family, recipe)
            if not members:
                raise InputError(f"no built-in devices of recipe {recipe!r} in family "
                                 f"{self.family!r} (recipes: {', '.join(RECIPE_SUFFIX)})")
            if not self.pulse_widths_s:
                chosen += [d.name for d in members]
                continue
            for pw in self.pulse_widths_s:
                hits = [d.name for d in members
                        if d.pulse_width_s and abs(d.pulse_width_s - pw) / pw < 1e-6]
                if not hits:
                    have = sorted({d.pulse_width_s for d in members if d.pulse_width_s})
                    raise InputError(f"pulse_widths_s: no {self.family} device at {pw:g} s "
                                     f"(have {', '.join(f'{h:g}' for h in have)})")
                chosen += hits
        return chosen

    def check(self) -> None:
        """Validate before any training: every device resolves and carries what the
        energy model needs (so a study never fails at the report step).

        Raises
        ------
        UnknownDeviceError, DataFormatError, InputError
            Naming the device (file) and what is missing.
        """
        from pulsetrain.energy.spec import build_energy_model

        require_torch_device(self.torch_device)
        if not any(algorithm(a.name).analog for a in self.algorithms):
            return
        for name in self.device_names():
            device = resolve_device(name)
            try:
                build_energy_model(device, self.energy_model)
            except DataFormatError:  # a file the energy model names
                raise
            except InputError as exc:
                raise InputError(f"{name}: {exc} — add \"area_m2\" (and \"thickness_m\") "
                                 "to the device file") from None
            if device.pulse_width_s is None or device.amplitude_up_v is None \
                    or device.amplitude_down_v is None:
                raise InputError(f"{name}: device has no pulse_width_s / amplitude_up_v / "
                                 "amplitude_down_v, which the energy accounting needs")
        for run in self.runs():
            if run.sp_reference == "reported" and \
                    "symmetry_point_reported" not in resolve_device(run.device).metrics:
                raise InputError(f"{run.device}: sp_reference 'reported' needs "
                                 "metrics.symmetry_point_reported in the device file (the "
                                 "ID161ZR15000 built-ins carry the thesis's values)")

    def _train_options(self, name: str) -> dict[str, Any]:
        """``train`` options for the runs of algorithm ``name`` (others' own options left
        out)."""
        owners = owned_options()
        return {k: v for k, v in self.train.items() if k not in owners or name in owners[k]}

    def runs(self) -> list[TrainConfig]:
        """Every training run of the study (duplicates, e.g. a seed listed twice, once)."""
        out: list[TrainConfig] = []
        seen: set[str] = set()
        names = self.device_names()
        for algo in self.algorithms:
            for device in (names if algorithm(algo.name).analog else names[:1]):
                for seed in self.seeds:
                    run = TrainConfig(
                        **{**self._train_options(algo.name), **algo.options},
                        device=device, algorithm=algo.name, lr=algo.lr, epochs=self.epochs,
                        batch_size=self.batch_size, hidden=self.hidden, seed=seed,
                        train_subset=self.train_subset, val_size=self.val_size,
                        test_subset=self.test_subset, lr_step_epochs=self.lr_step_epochs,
                        torch_device=self.torch_device, dataset=self.dataset,
                        model=self.model)
                    if run.key() not in seen:
                        seen.add(run.key())
                        out.append(run)
        return out


DEVICE_SUFFIXES = (".json", ".toml")
"""Suffixes of device files (what a folder or glob of ``devices`` contributes)."""


def expand_devices(entries: list[str]) -> list[str]:
    """``devices`` entries → device names and files, in order, each once.

    A folder stands for every device file (:data:`DEVICE_SUFFIXES`) under it, at any
    depth (e.g. the output of ``pulsetrain device fit`` on a whole folder); an entry
    with ``*``, ``?`` or ``[`` is a glob (``**`` spans folders), standing for the device
    files and folders it matches; each such entry expands in sorted order.  Other
    entries (built-in names, device files) stay as they are.  Paths are relative to
    the working directory (a study file's own entries were already taken relative to
    its folder: :meth:`StudyConfig.rebase_paths`).

    Raises
    ------
    InputError
        Naming the folder or pattern that yields no device file.
    """
    out: list[str] = []
    for entry in entries:
        path = Path(entry)
        if path.is_file():  # a file, even one whose name has [ or *
            out.append(entry)
        elif any(c in entry for c in "*?["):
            found: list[str] = []
            for hit in sorted(glob.glob(entry, recursive=True)):
                if Path(hit).is_dir():
                    found += _device_files(Path(hit))
                elif Path(hit).suffix.lower() in DEVICE_SUFFIXES:
                    found.append(hit)
            if not found:
                raise InputError(f"devices: pattern {entry!r} matches no device file "
                                 f"({', '.join('*' + s for s in DEVICE_SUFFIXES)}) under "
                                 f"{_glob_root(entry)}")
            out += found
        elif path.is_dir():
            files = _device_files(path)
            if not files:
                raise InputError(f"devices: folder {entry!r} holds no device file "
                                 f"({', '.join('*' + s for s in DEVICE_SUFFIXES)})")
            out += files
        else:
            out.append(entry)
    return list(dict.fromkeys(out))


def _glob_root(pattern: str) -> Path:
    """The folder a glob searches: its leading parts without wildcards, absolute."""
    parts = Path(pattern).parts
    fixed = [p for p in itertools.takewhile(lambda p: not any(c in p for c in "*?["), parts)]
    return Path(*fixed).resolve() if fixed else Path.cwd()


def rebase_path(value: str, folder: Path) -> str:
    """``value`` (a path, folder or glob written in a config file in ``folder``) as a
    path that works from the working directory: ``folder/value``.

    Unchanged: absolute paths, built-in device names, and every value when ``folder``
    is the working directory (so the run keys of studies run from their own folder
    stay as they were).  A relative value that names nothing under ``folder`` but
    something under the working directory (how such files resolved before) is kept,
    with a warning."""
    from pulsetrain.devices.builtin import builtin_names

    if Path(value).is_absolute() or folder.resolve() == Path.cwd().resolve() \
            or value in builtin_names(None):
        return value
    moved = str(folder / value)
    if any(c in value for c in "*?["):
        there, here = glob.glob(moved, recursive=True), glob.glob(value, recursive=True)
    else:
        there, here = [moved] * Path(moved).exists(), [value] * Path(value).exists()
    if not there and here:
        warnings.warn(f"{value!r} names nothing under the config file's folder {folder}; "
                      "using it relative to the working directory (as before) — write it "
                      "relative to the config file", UserWarning, stacklevel=2)
        return value
    return moved


def _device_files(folder: Path) -> list[str]:
    """Device files under ``folder`` (any depth), sorted."""
    return sorted(str(p) for p in folder.rglob("*")
                  if p.suffix.lower() in DEVICE_SUFFIXES and p.is_file())


REPRODUCE_RECIPES = ("measured", "thesis", "both")
REPRODUCE_SETUPS: dict[str, dict[str, Any]] = {
    "ideal": {},
    "aihwkit": {"periphery": "aihwkit-default", "granularity": "aihwkit",
                "mp_epsilon": "aihwkit", "mp_transfer": "pulse-trains",
                "max_tile_inputs": 512, "max_tile_outputs": 512},
}
"""Simulator settings of :func:`reproduce_config`: ``ideal`` (pulsetrain's defaults: ideal
MVMs, one tile per layer, the device's granularity) or ``aihwkit`` (what the published
study's AIHWKit runs used: default IOParameters, tiles of at most 512 inputs/outputs,
AIHWKit's granularity for SGD's pulse management and mixed precision's transfers, and
mixed precision's transfers as pulse trains)."""


def reproduce_config(quick: bool, recipe: str = "measured", setup: str = "ideal"
                     ) -> StudyConfig:
    """The paper's study on the built-in ID161ZR15000 family.

    ``quick=False``: the thesis setup (all pulse widths × {sgd, mixed-precision, sp-shift}
    × 25 epochs, full MNIST, target 95 %).  ``quick=True``: the same grid, 6 epochs on
    24 000 training images with 2000 validation and 2000 test images, target 85 %
    (StepLR every 3 epochs) — minutes on 2 cores, and the trends already show.

    ``recipe``: the device-model recipe of the built-ins (``measured``, ``thesis`` or
    ``both``).  With the thesis recipe, SP shifting also runs at the SP the thesis
    reported for each run (``sp_reference: reported``), as the thesis did.
    ``setup``: the simulator settings (:data:`REPRODUCE_SETUPS`).
    """
    if recipe not in REPRODUCE_RECIPES:
        raise InputError(f"recipe must be one of {', '.join(REPRODUCE_RECIPES)}, got "
                         f"{recipe!r}")
    if setup not in REPRODUCE_SETUPS:
        raise InputError(f"setup must be one of {', '.join(REPRODUCE_SETUPS)}, got "
                         f"{setup!r}")
    train = dict(REPRODUCE_SETUPS[setup])
    recipes = ["measured", "thesis"] if recipe == "both" else [recipe]
    base = StudyConfig()
    algorithms = list(base.algorithms)
    if "thesis" in recipes:
        algorithms.append(AlgorithmSpec(name="sp-shift",
                                        options={"sp_reference": "reported"}))
    suffix = ("" if recipe == "measured" else f"-{recipe}") + \
        ("" if setup == "ideal" else f"-{setup}")
    if not quick:
        return StudyConfig(name=f"reproduce-full{suffix}", recipes=recipes,
                           algorithms=algorithms, train=train)
    return StudyConfig(name=f"reproduce-quick{suffix}", epochs=6, train_subset=24_000,
                       val_size=2000, test_subset=2000, target_accuracy=0.85,
                       lr_step_epochs=3, recipes=recipes, algorithms=algorithms,
                       train=train)
