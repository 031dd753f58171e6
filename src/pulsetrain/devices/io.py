"""Device files (JSON, or TOML for hand-written ones) with a versioned schema."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pulsetrain.devices.lut import LutDevice, Variation
from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.errors import DataFormatError, validation_problems
from pulsetrain.fileio import atomic_write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SCHEMA = "pulsetrain.device"
SCHEMA_VERSION = 1


class _VariationModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step_gain_std: float = Field(0.0, ge=0)
    bound_std: float = Field(0.0, ge=0)
    up_down_std: float = Field(0.0, ge=0)


class DeviceFileModel(BaseModel):
    """Schema of a device file (version 1).  Unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: Literal["pulsetrain.device"] = Field("pulsetrain.device", alias="schema")
    schema_version: Literal[1] = 1
    name: str
    lut_up: list[float] = Field(min_length=2)
    lut_down: list[float] = Field(min_length=2)
    w_min: float = -1.0
    w_max: float = 1.0
    g_min_s: float | None = Field(None, gt=0)
    g_max_s: float | None = Field(None, gt=0)
    pulse_width_s: float | None = Field(None, gt=0)
    amplitude_up_v: float | None = None
    amplitude_down_v: float | None = None
    variation: _VariationModel = Field(
        default_factory=lambda: _VariationModel(step_gain_std=0.0, bound_std=0.0, up_down_std=0.0))
    c2c_noise: float = Field(0.0, ge=0)
    c2c_noise_estimate: float | None = None
    area_m2: float | None = Field(None, gt=0)
    thickness_m: float | None = Field(None, gt=0)
    device_id: str | None = None
    run: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict)

    @field_validator("lut_up", "lut_down")
    @classmethod
    def _non_negative(cls, v: list[float]) -> list[float]:
        if any(not math.isfinite(x) or x < 0 for x in v):
            raise ValueError("step sizes must be finite and >= 0")
        return v


def device_to_dict(device: LutDevice) -> dict[str, Any]:
    """The JSON-ready dict of a device (schema version 1)."""
    m = device.mapping
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "name": device.name,
        "device_id": device.device_id,
        "run": device.run,
        "pulse_width_s": device.pulse_width_s,
        "amplitude_up_v": device.amplitude_up_v,
        "amplitude_down_v": device.amplitude_down_v,
        "w_min": device.w_min,
        "w_max": device.w_max,
        "g_min_s": m.g_min_s if m else None,
        "g_max_s": m.g_max_s if m else None,
        "lut_up": [float(x) for x in device.lut_up],
        "lut_down": [float(x) for x in device.lut_down],
        "variation": {
            "step_gain_std": device.variation.step_gain_std,
            "bound_std": device.variation.bound_std,
            "up_down_std": device.variation.up_down_std,
        },
        "c2c_noise": device.c2c_noise,
        "c2c_noise_estimate": device.c2c_noise_estimate,
        "area_m2": device.area_m2,
        "thickness_m": device.thickness_m,
        "metrics": device.metrics,
        "provenance": device.provenance,
    }


def device_from_dict(data: dict[str, Any], source: str | Path = "<dict>") -> LutDevice:
    """Validate a dict against the schema and build the device.

    Raises
    ------
    DataFormatError
        Naming ``source`` and the first offending field.
    """
    try:
        model = DeviceFileModel.model_validate(data)
    except ValidationError as exc:
        missing = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "missing"]
        if missing:  # one line naming them, not the whole file's content
            raise DataFormatError(source, "missing field" + "s" * (len(missing) > 1) + " "
                                  + ", ".join(f"'{m}'" for m in missing)) from None
        problems = validation_problems(exc, "field")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataFormatError(source, problems[0] + more) from None
    if len(model.lut_up) != len(model.lut_down):
        raise DataFormatError(source, f"fields 'lut_up' and 'lut_down' must have the same "
                              f"length, got {len(model.lut_up)} and {len(model.lut_down)}")
    if not model.w_min < model.w_max:
        raise DataFormatError(source, f"field 'w_max' must be > 'w_min', got {model.w_max}")
    mapping = None
    if model.g_min_s is not None and model.g_max_s is not None:
        if not model.g_min_s < model.g_max_s:
            raise DataFormatError(source, "field 'g_max_s' must be > 'g_min_s'")
        mapping = WeightMapping(model.g_min_s, model.g_max_s, model.w_min, model.w_max)
    return LutDevice(
        name=model.name, lut_up=model.lut_up, lut_down=model.lut_down,  # type: ignore[arg-type]
        w_min=model.w_min, w_max=model.w_max, mapping=mapping,
        pulse_width_s=model.pulse_width_s, amplitude_up_v=model.amplitude_up_v,
        amplitude_down_v=model.amplitude_down_v,
        variation=Variation(**model.variation.model_dump()), c2c_noise=model.c2c_noise,
        c2c_noise_estimate=model.c2c_noise_estimate, area_m2=model.area_m2,
        thickness_m=model.thickness_m, device_id=model.device_id, run=model.run,
        metrics=model.metrics, provenance=model.provenance,
    )


def save_device(device: LutDevice, path: str | Path) -> Path:
    """Write a device file (JSON).  The file is written whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(device_to_dict(device), indent=2) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def load_device(path: str | Path) -> LutDevice:
    """Read a device file (``.json`` or ``.toml``).

    Raises
    ------
    DataFormatError
        If the file is missing, not valid JSON/TOML, or breaks the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "device file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text (byte {exc.start}); a device file is "
                              "JSON or TOML") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"not valid JSON: {exc.msg}", row=exc.lineno) from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(path, f"not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, "expected a JSON object at the top level")
    return device_from_dict(data, path)
