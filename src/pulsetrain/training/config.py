"""Typed training configuration (pydantic), loadable from YAML or TOML."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

import pulsetrain.crossbar.periphery  # noqa: F401  (registers the aihwkit-default read-out)
from pulsetrain.crossbar.mvm import PERIPHERY, make_periphery
from pulsetrain.devices.io import device_to_dict
from pulsetrain.devices.lut import LutDevice, Variation
from pulsetrain.errors import (
    DataWarning,
    InputError,
    and_list,
    describe_validation_error,
    did_you_mean,
)
from pulsetrain.training.algorithms import TransferMode
from pulsetrain.training.datasets import DATASETS, check_dataset_name
from pulsetrain.training.registry import ALGORITHMS, algorithm, owned_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



def check_algorithm(name: str) -> str:
    """``name`` if it is a registered algorithm (:mod:`pulsetrain.training.registry`);
    an unknown name's error suggests the closest registered one."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}{did_you_mean(name, ALGORITHMS)} "
                         f"(expected one of {', '.join(ALGORITHMS)})")
    return name


Algorithm = Annotated[str, AfterValidator(check_algorithm)]
"""A config field naming a registered training algorithm (``sgd``, ``mixed-precision``,
``sp-shift``, ``float``, and any registered later)."""


def check_periphery(name: str) -> str:
    """``name`` if it is a registered periphery model (:mod:`pulsetrain.crossbar.mvm`)."""
    PERIPHERY[name]
    return name


PeripheryName = Annotated[str, AfterValidator(check_periphery)]
"""A config field naming a registered periphery model (``ideal``, ``aihwkit-default``)."""


def check_torch_device(spec: str) -> str:
    """``spec`` if it names a torch device pulsetrain runs on (cpu, cuda, cuda:N)."""
    try:
        kind = torch.device(spec).type
    except RuntimeError:
        kind = ""
    if kind not in ("cpu", "cuda"):
        raise ValueError("expected cpu, cuda or cuda:N")
    return spec


DatasetName = Annotated[str, AfterValidator(check_dataset_name)]
"""A config field naming a registered dataset (:mod:`pulsetrain.training.datasets`)."""


def check_dataset_fields(dataset: str, data_dir: str | None, val_size: int) -> list[str]:
    """Problems (one line each) of a config's dataset, data_dir and val_size: a dataset
    without default files needs data_dir; val_size must leave training images of a
    dataset whose training-set size is known (others are checked when loaded)."""
    cls = DATASETS[dataset]
    problems = []
    if cls.needs_data_dir and data_dir is None:
        problems.append(f"data_dir: dataset {dataset!r} needs a folder with {cls.expected}")
    if cls.train_size is not None and val_size >= cls.train_size:
        problems.append(f"val_size: expected 1 … {cls.train_size - 1} (dataset {dataset!r} "
                        f"has {cls.train_size} training images), got {val_size}")
    return problems


TorchDevice = Annotated[str, AfterValidator(check_torch_device)]
"""A config field naming a torch device (validated by :func:`check_torch_device`)."""


def device_ref(device: LutDevice) -> str:
    """What stores and run keys record for a device given as an object:
    ``NAME@sha256:HEX``, 16 hex digits of SHA-256 over its device-file content
    (:func:`~pulsetrain.devices.io.device_to_dict`, keys sorted).  Equal parameters give
    equal references, whatever object holds them."""
    text = json.dumps(device_to_dict(device), sort_keys=True, default=str)
    return f"{device.name}@sha256:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class DeviceVariation(BaseModel):
    """Device-to-device variation of a run, drawn once per tile from the run's seed
    (relative standard deviations, dimensionless; see
    :meth:`pulsetrain.crossbar.device_tensors.DeviceTensors.draw` for the distributions)."""

    model_config = ConfigDict(extra="forbid")

    step: float = Field(0.0, ge=0, allow_inf_nan=False, description="std of each device's "
                        "step-size gain g = max(0, 1 + step·N(0, 1)) on both tables")
    bounds: float = Field(0.0, ge=0, allow_inf_nan=False, description="std of the factors "
                          "max(0.1, 1 + bounds·N(0, 1)) on w_min and w_max (independent)")
    up_down: float = Field(0.0, ge=0, allow_inf_nan=False, description="std of r = "
                           "up_down·N(0, 1): up steps × (1 + r), down steps × (1 − r)")

    def variation(self) -> Variation:
        """As the device model's :class:`~pulsetrain.devices.lut.Variation`."""
        return Variation(step_gain_std=self.step, bound_std=self.bounds,
                         up_down_std=self.up_down)


def require_torch_device(spec: str) -> None:
    """Check that this machine has the torch device ``spec`` (before any run starts).

    Raises
    ------
    InputError
        If ``spec`` names a CUDA device and torch sees none.
    """
    if torch.device(spec).type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"torch_device {spec!r}: no CUDA device here (torch "
                         f"{torch.__version__}); use torch_device cpu")


class TrainConfig(BaseModel):
    """One training run.  Every field has a default; unknown keys are rejected.

    Defaults reproduce the thesis setup: MLP 784-256-128-10 with sigmoid hidden
    units, log-softmax + NLL, batch 64, 25 epochs, StepLR(10, 0.5), MNIST 48k/12k/10k.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    device: str | LutDevice = Field(
        "ID161ZR15000-200ns", description="built-in name, device file, or (Python API) a "
        "LutDevice object, keyed and stored as NAME@sha256:HEX of its parameters "
        "(device_ref)")
    algorithm: Algorithm = "mixed-precision"
    lr: float | None = Field(None, gt=0, description="default: the algorithm's (registry)")
    epochs: int = Field(25, ge=1)
    batch_size: int = Field(64, ge=1)
    model: str = Field("mlp", description="network (registry in training/models.py): mlp "
                       "(hidden, activation), lenet5, cifar-cnn")
    hidden: list[int] = Field(default_factory=lambda: [256, 128])
    activation: Literal["sigmoid", "relu", "tanh"] = "sigmoid"
    lr_step_epochs: int = Field(10, ge=1)
    lr_gamma: float = Field(0.5, gt=0, le=1)
    seed: int = Field(0, ge=0)
    bl: int = Field(31, ge=1, le=63)
    update_management: bool = True
    bl_management: bool = True
    mp_epsilon: Annotated[float, Field(gt=0)] | Literal["aihwkit"] | None = Field(
        None, description="mixed precision's transfer threshold; default: the device's "
        "dw_min; aihwkit: the granularity AIHWKit's MixedPrecisionCompound takes from the "
        "exported device (as the published study's simulator did)")
    mp_transfer: TransferMode = Field(
        "exact", description="how mixed precision fires its transfers: exact (each device "
        "gets exactly trunc(chi/eps) pulses) or pulse-trains (AIHWKit's "
        "MixedPrecisionCompound: each row's counts as one stochastic pulse-train update "
        "with update and BL management, BL at most bl; as many pulses on average)")
    granularity: Annotated[float, Field(gt=0)] | Literal["aihwkit"] | None = Field(
        None, description="dw_min assumed by SGD pulse management; default: the device's; "
        "aihwkit: the granularity AIHWKit uses for the exported PiecewiseStepDevice "
        "(dw_min times the middle up node), as the published study's simulator did")
    sp_mode: Literal["per-device", "nominal"] = "per-device"
    sp_offset: float = 0.0
    sp_reference: float | Literal["reported"] | None = Field(
        None, description="SP shifting: references at this weight instead of the estimated "
        "SPs; 'reported' = the device's metrics.symmetry_point_reported (the value a "
        "publication used)")
    transfer: dict[str, Any] = Field(
        default_factory=dict, description="Tiki-Taka rules (ttv2, c-ttv2, agad): "
        "pulsetrain.training.transfer.TransferSettings, e.g. {a_reference: sp}")
    c2c_noise: Annotated[float, Field(ge=0, allow_inf_nan=False)] | Literal["measured"] | None = (
        Field(None, description="cycle-to-cycle step noise: std of the factor 1 + c2c·N(0, 1) "
              "on every pulse's step (relative to the step); measured: the estimate device "
              "fit stored with the device (c2c_noise_estimate); default: the device's own "
              "c2c_noise (0 for fitted and built-in devices: noise-free)"))
    step_gain_std: float | None = Field(None, ge=0)
    bound_std: float | None = Field(None, ge=0)
    up_down_std: float | None = Field(None, ge=0)
    device_variation: Annotated[float, Field(ge=0, allow_inf_nan=False)] | DeviceVariation \
        | None = Field(None, description="device-to-device variation drawn once per tile "
                       "from the run's seed: a number (std of the step-size gain) or "
                       "{step, bounds, up_down} (DeviceVariation); default: the device's "
                       "own variation and the *_std overrides")
    dataset: DatasetName = Field("mnist", description="mnist, fashion-mnist, cifar10, idx "
                                 "(registry in pulsetrain.training.datasets)")
    data_dir: str | None = Field(None, description="the dataset's folder; default: its "
                                 "installed files (cifar10 and idx need one)")
    val_size: int = Field(12_000, ge=1, description="taken from the dataset's training set "
                          "(at most its size − 1)")
    train_subset: int | None = Field(None, ge=1)
    test_subset: int | None = Field(None, ge=1)
    backend: Literal["auto", "numba", "torch"] = "auto"
    torch_device: TorchDevice = Field("cpu", description="torch device of the tensors: cpu, "
                                      "cuda, cuda:N (the CUDA path runs the torch kernels; "
                                      "untimed)")
    periphery: PeripheryName = Field("ideal", description="what the analog read-out does to "
                                     "the MVMs: ideal, aihwkit-default (registry in "
                                     "pulsetrain.crossbar.mvm)")
    periphery_options: dict[str, Any] = Field(
        default_factory=dict, description="overrides of the periphery's parameters, e.g. "
        "{forward: {out_noise: 0.02}, backward: {...}, mask_backward_at_bound: false}")
    max_tile_inputs: int = Field(0, ge=0, description="map a layer with more inputs onto "
                                 "several tiles of at most this many (each with its own "
                                 "read-out and pulse management; AIHWKit's "
                                 "mapping.max_input_size, 512 in the published study); "
                                 "0: one tile per layer")
    max_tile_outputs: int = Field(0, ge=0, description="the same for outputs "
                                  "(mapping.max_output_size)")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        problems: list[str] = []  # all of them at once, one line each
        problems += check_dataset_fields(self.dataset, self.data_dir, self.val_size)
        if any(h < 1 for h in self.hidden):
            problems.append(f"hidden: layer sizes must be >= 1, got {self.hidden}")
        if self.device_variation is not None:
            given = [o for o in ("step_gain_std", "bound_std", "up_down_std")
                     if getattr(self, o) is not None]
            if given:
                problems.append(f"device_variation replaces {and_list(given)}: give one "
                                "or the other")
        from pulsetrain.training.models import MODELS

        if self.model not in MODELS:
            problems.append(f"model: unknown model {self.model!r}"
                            f"{did_you_mean(self.model, MODELS)}; known: "
                            f"{', '.join(sorted(MODELS))}")
        if self.backend == "numba" and torch.device(self.torch_device).type != "cpu":
            problems.append(f"backend 'numba' runs on CPU tensors only, but torch_device is "
                            f"{self.torch_device!r}: use backend auto or torch")
        try:
            make_periphery(self.periphery, 0, self.periphery_options)
        except ValidationError as exc:
            problems += [f"periphery_options: {line}"
                         for line in describe_validation_error(exc, "field").splitlines()]
        except (ValueError, TypeError) as exc:
            problems.append(f"periphery_options: {str(exc).splitlines()[0]}")
        if self.periphery != "ideal" and torch.device(self.torch_device).type != "cpu":
            problems.append(f"periphery {self.periphery!r} runs on CPU tensors only (its "
                            "noise streams are CPU generators); use torch_device cpu")
        if self.transfer:
            from pulsetrain.training.transfer import TransferSettings

            try:
                TransferSettings(**self.transfer)
            except ValidationError as exc:
                problems += [f"transfer: {line}"
                             for line in describe_validation_error(exc, "field").splitlines()]
        mine = set(algorithm(self.algorithm).options)
        for option, owners in owned_options().items():
            if option in mine or option not in type(self).model_fields:
                continue
            if getattr(self, option) != type(self).model_fields[option].get_default(
                    call_default_factory=True):
                problems.append(f"option {option!r} applies to {and_list(owners)}, not "
                                f"to algorithm {self.algorithm!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @field_serializer("device")
    def _device_text(self, device: str | LutDevice) -> str:
        return device if isinstance(device, str) else device_ref(device)

    @property
    def device_label(self) -> str:
        """The device as messages name it: the name, file or object reference."""
        return self.device if isinstance(self.device, str) else device_ref(self.device)

    def variation(self, device: LutDevice) -> Variation:
        """The device-to-device variation a run of ``device`` draws (``device_variation``,
        else the device's own with the ``*_std`` overrides)."""
        if isinstance(self.device_variation, DeviceVariation):
            return self.device_variation.variation()
        if self.device_variation is not None:
            return Variation(step_gain_std=float(self.device_variation))
        var = device.variation
        return Variation(
            step_gain_std=var.step_gain_std if self.step_gain_std is None
            else self.step_gain_std,
            bound_std=var.bound_std if self.bound_std is None else self.bound_std,
            up_down_std=var.up_down_std if self.up_down_std is None else self.up_down_std)

    def noise(self, device: LutDevice) -> NoiseSetup:
        """The cycle-to-cycle noise and d2d variation a run of ``device`` uses.

        Raises
        ------
        InputError
            ``c2c_noise: measured`` for a device that carries no noise estimate.
        """
        estimate = device.c2c_noise_estimate
        if estimate is not None and not np.isfinite(estimate):
            estimate = None
        if self.c2c_noise == "measured":
            if estimate is None:
                raise InputError(f"c2c_noise: measured, but device {self.device_label!r} "
                                 "carries no c2c noise estimate (c2c_noise_estimate; device "
                                 "fit writes one): give c2c_noise as a number")
            c2c, source = float(estimate), "measured"
        elif self.c2c_noise is None:
            c2c, source = float(device.c2c_noise), "device"
        else:
            c2c, source = float(self.c2c_noise), "set"
        return NoiseSetup(c2c, source, estimate, self.variation(device))

    @property
    def learning_rate(self) -> float:
        """``lr`` or the algorithm's default (:mod:`pulsetrain.training.registry`)."""
        return self.lr if self.lr is not None else algorithm(self.algorithm).default_lr

    def key(self) -> str:
        """Identifies the run in stores and checkpoints (see :func:`run_key`)."""
        return run_key(self)

    def stored(self) -> dict[str, Any]:
        """The config as stores and results record it (:func:`keyed_fields`)."""
        return keyed_fields(self)


@dataclass(frozen=True)
class NoiseSetup:
    """What noise a run trains with (:meth:`TrainConfig.noise`).

    Attributes
    ----------
    c2c_noise
        Relative cycle-to-cycle step noise the run applies (std, fraction of the step).
    source
        ``device`` (the device's own ``c2c_noise``), ``set`` (the config's number) or
        ``measured`` (the device's fitted estimate).
    estimate
        The device's fitted noise estimate (``None``: it carries none).
    variation
        The device-to-device variation drawn per tile (relative stds).
    """

    c2c_noise: float
    source: str
    estimate: float | None
    variation: Variation

    @property
    def ignores_estimate(self) -> bool:
        """The device carries a nonzero noise estimate, yet the run, not told otherwise,
        trains noise-free."""
        return (self.source == "device" and self.c2c_noise == 0 and self.estimate is not None
                and self.estimate > 0)

    @property
    def variation_text(self) -> str:
        """``none`` or ``step 0.1, bounds 0.05, up/down 0`` (relative stds)."""
        v = self.variation
        if v == Variation():
            return "none"
        return f"step {v.step_gain_std:g}, bounds {v.bound_std:g}, up/down {v.up_down_std:g}"

    def describe(self) -> str:
        """One phrase, e.g. ``c2c noise 0 (device's; estimate 0.152 ignored), d2d
        variation none``."""
        why = {"device": "device's", "set": "set", "measured": "measured"}[self.source]
        if self.ignores_estimate:
            why += f"; estimate {self.estimate:.3g} ignored"
        return f"c2c noise {self.c2c_noise:.3g} ({why}), d2d variation {self.variation_text}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record (reports, ``train --json``)."""
        v = self.variation
        return {"c2c_noise": self.c2c_noise, "c2c_source": self.source,
                "c2c_noise_estimate": self.estimate, "estimate_ignored": self.ignores_estimate,
                "variation": {"step_gain_std": v.step_gain_std, "bound_std": v.bound_std,
                              "up_down_std": v.up_down_std}}

    def warn_if_ignored(self, device: str) -> None:
        """A :class:`~pulsetrain.errors.DataWarning` naming ``device`` when the run ignores
        the device's measured noise estimate (:attr:`ignores_estimate`)."""
        if self.ignores_estimate:
            warnings.warn(DataWarning(device, f"carries a measured c2c noise estimate of "
                                      f"{self.estimate:.3g} that this run ignores (it trains "
                                      "noise-free); set c2c_noise: measured to use it, or "
                                      "c2c_noise: 0 to say noise-free on purpose"),
                          stacklevel=3)


KEY_FIELDS_V1 = (
    "device", "algorithm", "lr", "epochs", "batch_size", "hidden", "activation",
    "lr_step_epochs", "lr_gamma", "seed", "bl", "update_management", "bl_management",
    "mp_epsilon", "granularity", "sp_mode", "sp_offset", "c2c_noise", "step_gain_std",
    "bound_std", "up_down_std", "data_dir", "val_size", "train_subset", "test_subset",
    "backend", "torch_device")
"""The fields of the first key schema: always hashed, defaults included (so the keys of
runs stored before later options existed stay what they were)."""
KEY_SCHEMA = 2
"""Key schema version; fields added after :data:`KEY_FIELDS_V1` enter the hash only
when they differ from their defaults."""


GRANULARITY_RULE = 2
"""Version of what ``granularity: aihwkit`` resolves to (2: AIHWKit's
``dw_min·piecewise_up[n // 2]`` of the export; 1 read the table's middle up step, which
carries the ``1 + min(up_down, 0)`` factor).  Part of the key of runs that use it."""


def keyed_fields(cfg: BaseModel, v1_fields: tuple[str, ...] = KEY_FIELDS_V1) -> dict[str, Any]:
    """What identifies a config: every field of ``v1_fields`` (defaults included, as before
    schema 2) plus each later field whose value differs from its default.  This is also
    what stores record for a run, so a store's rows do not change when an option is
    added."""
    data = cfg.model_dump(mode="json")
    defaults = type(cfg)().model_dump(mode="json")
    return {k: v for k, v in data.items() if k in v1_fields or v != defaults.get(k)}


def run_key(cfg: BaseModel, v1_fields: tuple[str, ...] = KEY_FIELDS_V1) -> str:
    """16 hex digits of SHA-256 over :func:`keyed_fields`: the v1 fields as they always
    were, plus, under ``"key_schema"`` and ``"added"``, the later fields that differ from
    their defaults.  Adding an option with a default therefore never re-keys a stored
    run; setting it does."""
    fields = keyed_fields(cfg, v1_fields)
    blob: dict[str, Any] = {k: v for k, v in fields.items() if k in v1_fields}
    added = {k: v for k, v in fields.items() if k not in v1_fields}
    if added:
        blob["key_schema"] = KEY_SCHEMA
        blob["added"] = added
    if fields.get("granularity") == "aihwkit" or fields.get("mp_epsilon") == "aihwkit":
        # the value behind "aihwkit" was corrected (CHANGELOG): runs stored before must
        # not pass for runs of the corrected rule
        blob["granularity_rule"] = GRANULARITY_RULE
    text = json.dumps(blob, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_config_file(path: str | Path, model: type[BaseModel] = TrainConfig,
                     overrides: dict[str, Any] | None = None) -> BaseModel:
    """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into ``model``, with
    ``overrides`` (e.g. command-line options) replacing the file's keys before the
    whole is validated (so a file's ``sp_mode`` fits an ``--algorithm sp-shift``).

    Raises
    ------
    InputError
        A syntax error as one line with the file, line and column
        (``run.yaml, line 3, column 5: not valid YAML: ...``); invalid content as one
        line per offending key, each naming the file, what was given and what was
        expected (unknown keys with the closest known one).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InputError(syntax_error_line(path, exc)) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of keys at the top level")
    rebase = getattr(model, "rebase_paths", None)  # relative paths: the file's folder
    if callable(rebase):
        data = rebase(data, path.parent)
    try:
        return model.model_validate({**data, **(overrides or {})})
    except ValidationError as exc:
        raise InputError("\n".join(f"{path}: {line}" for line in
                                   describe_validation_error(exc, model=model).splitlines())
                         ) from None


_TOML_WHERE = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def syntax_error_line(path: Path, exc: Exception) -> str:
    """One line for a YAML or TOML syntax error: ``FILE, line L, column C: not valid
    YAML: problem`` (1-based line and column, where the parser tells them)."""
    kind = "TOML" if isinstance(exc, tomllib.TOMLDecodeError) else "YAML"
    line: int | None = None
    col: int | None = None
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:  # 0-based
            line, col = mark.line + 1, mark.column + 1
        msg = exc.problem or exc.context or msg
        if exc.problem and exc.context:
            start = exc.context_mark
            msg += f" ({exc.context}" + (f" from line {start.line + 1}" if start else "") + ")"
    elif isinstance(exc, tomllib.TOMLDecodeError):
        if getattr(exc, "lineno", None) is not None:  # Python >= 3.14
            line, col = exc.lineno, exc.colno  # type: ignore[attr-defined]
            msg = getattr(exc, "msg", msg)
        elif found := _TOML_WHERE.match(msg):
            line, col, msg = int(found["line"]), int(found["col"]), found["msg"]
    where = f"{path}" if line is None else f"{path}, line {line}, column {col}"
    return f"{where}: not valid {kind}: {msg}"
