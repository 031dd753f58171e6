"""Typed training configuration (pydantic), loadable from YAML or TOML."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

import pulsetrain.crossbar.periphery  # noqa: F401  (registers the aihwkit-default read-out)
from pulsetrain.crossbar.mvm import PERIPHERY, make_periphery
from pulsetrain.errors import InputError, describe_validation_error
from pulsetrain.training.registry import algorithm, owned_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



def check_algorithm(name: str) -> str:
    """``name`` if it is a registered algorithm (:mod:`pulsetrain.training.registry`)."""
    algorithm(name)
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


TorchDevice = Annotated[str, AfterValidator(check_torch_device)]
"""A config field naming a torch device (validated by :func:`check_torch_device`)."""


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

    model_config = ConfigDict(extra="forbid")

    device: str = Field("ID161ZR15000-200ns", description="built-in name or device file")
    algorithm: Algorithm = "mixed-precision"
    lr: float | None = Field(None, gt=0, description="default: the algorithm's (registry)")
    epochs: int = Field(25, ge=1)
    batch_size: int = Field(64, ge=1)
    hidden: list[int] = Field(default_factory=lambda: [256, 128])
    activation: Literal["sigmoid", "relu", "tanh"] = "sigmoid"
    lr_step_epochs: int = Field(10, ge=1)
    lr_gamma: float = Field(0.5, gt=0, le=1)
    seed: int = Field(0, ge=0)
    bl: int = Field(31, ge=1, le=63)
    update_management: bool = True
    bl_management: bool = True
    mp_epsilon: float | None = Field(None, gt=0, description="default: device dw_min")
    granularity: float | None = Field(None, gt=0, description="dw_min assumed by SGD pulse "
                                      "management; default: the device's")
    sp_mode: Literal["per-device", "nominal"] = "per-device"
    sp_offset: float = 0.0
    sp_reference: float | Literal["reported"] | None = Field(
        None, description="SP shifting: references at this weight instead of the estimated "
        "SPs; 'reported' = the device's metrics.symmetry_point_reported (the value a "
        "publication used)")
    c2c_noise: float | None = Field(None, ge=0, description="override the device's")
    step_gain_std: float | None = Field(None, ge=0)
    bound_std: float | None = Field(None, ge=0)
    up_down_std: float | None = Field(None, ge=0)
    data_dir: str | None = None
    val_size: int = Field(12_000, ge=1, le=59_999, description="taken from the 60k train set")
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

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if any(h < 1 for h in self.hidden):
            raise ValueError("hidden layer sizes must be >= 1")
        if self.backend == "numba" and torch.device(self.torch_device).type != "cpu":
            raise ValueError(f"backend 'numba' runs on CPU tensors only, but torch_device is "
                             f"{self.torch_device!r}: use backend auto or torch")
        try:
            make_periphery(self.periphery, 0, self.periphery_options)
        except ValidationError as exc:
            raise ValueError(f"periphery_options: "
                             f"{describe_validation_error(exc, 'field')}") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"periphery_options: {str(exc).splitlines()[0]}") from None
        if self.periphery != "ideal" and torch.device(self.torch_device).type != "cpu":
            raise ValueError(f"periphery {self.periphery!r} runs on CPU tensors only (its "
                             "noise streams are CPU generators); use torch_device cpu")
        mine = set(algorithm(self.algorithm).options)
        for option, owners in owned_options().items():
            if option in mine or option not in type(self).model_fields:
                continue
            if getattr(self, option) != type(self).model_fields[option].get_default(
                    call_default_factory=True):
                raise ValueError(f"option {option!r} applies to {' and '.join(owners)}, not "
                                 f"to algorithm {self.algorithm!r}")
        return self

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
    text = json.dumps(blob, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_config_file(path: str | Path, model: type[BaseModel] = TrainConfig) -> BaseModel:
    """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into ``model``.

    Raises
    ------
    InputError
        One line naming the file and the first offending key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: "
                         f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of keys at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{path}: {describe_validation_error(exc)}") from None
