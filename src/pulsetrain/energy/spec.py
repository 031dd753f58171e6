"""Energy models as config values (``energy_model:`` of a study file): a name or a
mapping with the model's parameters, built per device by :func:`build_energy_model`.

* ``schottky`` / ``{kind: schottky, ...}`` — ``SchottkyUpperBound`` (area from the
  device; thickness from the device unless given).
* ``capacitive`` / ``{kind: capacitive, ...}`` — ``CapacitiveSwitching``.
* ``{kind: iv, file: IV.csv}`` — :class:`~pulsetrain.energy.models.IVModel` fitted to a DC
  I–V sweep file (``IV_measR``, as ``pulsetrain device scan`` reads them).
* ``{kind: table, file: energies.csv}`` — :class:`~pulsetrain.energy.models.EnergyTable` from
  a CSV with columns ``pulse_width_s``, ``amplitude_v`` (signed), ``energy_j``.

This is the configuration layer: it reads the files the specs name.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pulsetrain.devices.lut import LutDevice
from pulsetrain.energy.models import (
    CapacitiveSwitching,
    EnergyModel,
    EnergyTable,
    IVModel,
    SchottkyUpperBound,
    energy_model_for,
)
from pulsetrain.errors import DataFormatError

TABLE_COLUMNS = ("pulse_width_s", "amplitude_v", "energy_j")
"""Columns of an energy-table CSV (any order; others ignored)."""


class SchottkySpec(BaseModel):
    """The Schottky upper bound with its constants (defaults: the thesis's)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["schottky"]
    thickness_m: float | None = Field(None, gt=0, description="default: the device's, else 5 nm")
    alpha: float = Field(3e-4, gt=0)
    mu: float = Field(8.9e-3, gt=0)
    phi_b_ev: float = Field(0.19, gt=0, description="barrier height (eV)")
    eps_r: float = Field(18.2, gt=0)
    temperature_k: float = Field(300.0, gt=0, description="K")


class CapacitiveSpec(BaseModel):
    """Capacitor charging plus a switched fraction of the remanent polarisation."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["capacitive"]
    thickness_m: float | None = Field(None, gt=0, description="default: the device's, else 5 nm")
    eps_r: float = Field(18.2, gt=0)
    remanent_polarization_c_m2: float = Field(0.2, ge=0, description="Pr (C/m²)")
    switched_fraction: float = Field(0.01, ge=0, le=1)


class IVSpec(BaseModel):
    """Quasi-static energy from a measured DC I–V sweep file."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["iv"]
    file: str = Field(description="DC I–V sweep file (relative: to the config file)")


class TableSpec(BaseModel):
    """User-measured energies per pulse from a CSV (:data:`TABLE_COLUMNS`)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["table"]
    file: str = Field(description="CSV with pulse_width_s, amplitude_v, energy_j "
                      "(relative: to the config file)")


EnergyModelSpec = Annotated[SchottkySpec | CapacitiveSpec | IVSpec | TableSpec,
                            Field(discriminator="kind")]
"""An energy model with its parameters (a mapping with ``kind``)."""

EnergyModelChoice = Literal["schottky", "capacitive"] | EnergyModelSpec
"""What ``energy_model:`` takes: a name (device parameters only) or a spec."""


def spec_kind(choice: str | SchottkySpec | CapacitiveSpec | IVSpec | TableSpec) -> str:
    """The model's kind (``schottky``, ``capacitive``, ``iv``, ``table``)."""
    return choice if isinstance(choice, str) else str(choice.kind)


def read_energy_table(path: str | Path) -> EnergyTable:
    """Read an energy-table CSV (:data:`TABLE_COLUMNS`; J, s, V).

    Raises
    ------
    DataFormatError
        Naming the file, and the row and column of a bad value (missing column, not a
        number, pulse width ≤ 0, negative or non-finite energy, no rows).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "energy table file not found")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in TABLE_COLUMNS if c not in header]
        if missing:
            raise DataFormatError(path, f"missing column{'s' * (len(missing) > 1)} "
                                  f"{', '.join(missing)} (expected {', '.join(TABLE_COLUMNS)})",
                                  row=1)
        values: dict[str, list[float]] = {c: [] for c in TABLE_COLUMNS}
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): v for k, v in raw.items()}
            for col in TABLE_COLUMNS:
                text = (row.get(col) or "").strip()
                try:
                    value = float(text)
                except ValueError:
                    raise DataFormatError(path, f"column {col!r}: {text!r} is not a number",
                                          row=line) from None
                bad = (not math.isfinite(value)
                       or (col == "pulse_width_s" and value <= 0)
                       or (col == "energy_j" and value < 0))
                if bad:
                    expected = {"pulse_width_s": "> 0 s", "energy_j": ">= 0 J"}.get(
                        col, "finite (V)")
                    raise DataFormatError(path, f"column {col!r}: {value:g} is not "
                                          f"{expected}", row=line)
                values[col].append(value)
    if not values["energy_j"]:
        raise DataFormatError(path, "no rows (expected one per pulse width and amplitude)")
    return EnergyTable(tuple(values["pulse_width_s"]), tuple(values["amplitude_v"]),
                       tuple(values["energy_j"]))


def build_energy_model(device: LutDevice, choice: str | BaseModel) -> EnergyModel:
    """The pulse energy model ``choice`` (a name or a spec) for ``device``.

    Raises
    ------
    InputError
        If the device lacks what the model needs (area), or a file the spec names is
        missing or malformed (naming file, row and column).
    """
    if isinstance(choice, str):
        return energy_model_for(device, choice)
    if isinstance(choice, SchottkySpec | CapacitiveSpec):
        energy_model_for(device, choice.kind)  # checks the area
        assert device.area_m2 is not None
        params = choice.model_dump(exclude={"kind"})
        params["thickness_m"] = params["thickness_m"] or device.thickness_m or 5e-9
        if isinstance(choice, SchottkySpec):
            return SchottkyUpperBound(area_m2=device.area_m2, **params)
        return CapacitiveSwitching(area_m2=device.area_m2, **params)
    if isinstance(choice, IVSpec):
        from pulsetrain.measurements.wgfmu import read_dciv

        return IVModel.fit(read_dciv(choice.file))
    if isinstance(choice, TableSpec):
        return read_energy_table(choice.file)
    raise TypeError(f"not an energy model spec: {choice!r}")
