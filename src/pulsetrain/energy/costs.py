"""All costs of a training run, per epoch: programming pulses, the one-off symmetry-point
estimation, digital operations and the reads of the arrays.

* **Programming** — every applied pulse at the energy of one up or one down pulse
  (:func:`pulsetrain.energy.accounting.training_energy`).
* **SP estimation** — SP shifting's alternating pulses before training (half up, half
  down), charged to the first epoch.
* **Digital** — mixed precision's accumulator: one multiply-add per sample and weight
  (``digital_updates_total``); the Tiki-Taka rules' buffer: one multiply-add per buffer
  entry and transfer (``buffer_ops_total``).  Default energy per operation
  :data:`DEFAULT_DIGITAL_OP_J` = 4.6 pJ: a 32-bit floating-point multiply (3.7 pJ) plus
  add (0.9 pJ) at 45 nm (M. Horowitz, "Computing's energy problem (and what we can do
  about it)", ISSCC 2014, Fig. 1.1.9).  Configurable; 0 switches the term off.  Buffer
  memory traffic is not included.
* **Reads** — array and conversion energy of the training reads
  (:mod:`pulsetrain.energy.read`).

Everything is in joules.  :func:`run_costs` is pure: it takes the run's per-epoch
metrics and the device, and never touches files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulsetrain.devices.lut import LutDevice
from pulsetrain.energy.accounting import pulse_energies_j, training_energy
from pulsetrain.energy.models import EnergyModel, energy_model_for
from pulsetrain.energy.read import ReadEnergyModel, read_energy
from pulsetrain.errors import InputError

DEFAULT_DIGITAL_OP_J = 4.6e-12
"""Energy of one digital multiply-add (J): FP32 multiply 3.7 pJ + add 0.9 pJ, 45 nm,
Horowitz, ISSCC 2014."""

COST_PARTS = ("programming", "sp_estimation", "digital", "read")
"""The parts of :func:`run_costs`, in the order reports stack them."""


@dataclass(frozen=True)
class DigitalEnergyModel:
    """Energy per digital operation (J); see :data:`DEFAULT_DIGITAL_OP_J`."""

    energy_per_op_j: float = DEFAULT_DIGITAL_OP_J

    def __post_init__(self) -> None:
        if not self.energy_per_op_j >= 0:
            raise ValueError(f"energy_per_op_j must be >= 0, got {self.energy_per_op_j}")


def run_costs(epochs: list[dict[str, Any]], device: LutDevice,
              pulse_model: EnergyModel | str = "schottky",
              read_model: ReadEnergyModel | None = None,
              digital_model: DigitalEnergyModel | None = None, *,
              parts: Sequence[str] = COST_PARTS) -> list[dict[str, float]]:
    """Per epoch, each cost of that epoch and since the start of training (J): what
    reports count.

    ``epochs``: a run's per-epoch metrics (``TrainResult.epochs``); ``pulse_model``: an
    energy model or the name of one built from the device (``schottky``,
    ``capacitive``: :func:`~pulsetrain.energy.models.energy_model_for`).  Keys per part
    ``p`` of :data:`COST_PARTS`: ``{p}_energy_j`` (this epoch) and ``{p}_energy_total_j``
    (cumulative), plus ``energy_j`` and ``energy_total_j``: the sum of ``parts`` (by
    default all; ``parts=("programming",)`` for the programming pulses alone).
    Counters a run did not record (no reads stored, no digital operations, no SP
    estimation) count 0.

    Raises
    ------
    InputError
        If ``parts`` names no part of :data:`COST_PARTS`, or the device lacks what the
        pulse energy needs.
    """
    unknown = [p for p in parts if p not in COST_PARTS]
    if unknown or not parts:
        raise InputError(f"parts: expected some of {', '.join(COST_PARTS)}, got "
                         f"{', '.join(map(str, unknown)) or 'none'}")
    if isinstance(pulse_model, str):
        pulse_model = energy_model_for(device, pulse_model)
    digital = digital_model or DigitalEnergyModel()
    programming = training_energy(epochs, device, pulse_model)
    reads = read_energy(epochs, read_model)
    e_up, e_down = pulse_energies_j(device, pulse_model)
    out: list[dict[str, float]] = []
    totals = dict.fromkeys(COST_PARTS, 0.0)
    for m, prog, rd in zip(epochs, programming, reads, strict=True):
        new_totals = {
            "programming": float(prog["energy_total_j"]),
            "sp_estimation": float(m.get("sp_estimation_pulses") or 0) * 0.5 * (e_up + e_down),
            "digital": float((m.get("digital_updates_total") or 0)
                             + (m.get("buffer_ops_total") or 0)) * digital.energy_per_op_j,
            "read": float(rd.get("read_energy_total_j", totals["read"])),
        }
        row: dict[str, float] = {"epoch": int(m["epoch"])}
        for part in COST_PARTS:
            row[f"{part}_energy_j"] = new_totals[part] - totals[part]
            row[f"{part}_energy_total_j"] = new_totals[part]
        row["energy_j"] = sum(row[f"{p}_energy_j"] for p in COST_PARTS if p in parts)
        row["energy_total_j"] = sum(new_totals[p] for p in COST_PARTS if p in parts)
        totals = new_totals
        out.append(row)
    return out


class RunCostMeter:
    """Every cost of one run, epoch by epoch as its epochs finish (for progress output).

    Raises :class:`~pulsetrain.errors.InputError` at construction when the device lacks
    what the pulse energy needs (area, pulse width, amplitudes).
    """

    def __init__(self, device: LutDevice, energy_model: str = "schottky",
                 read_model: ReadEnergyModel | None = None,
                 digital_model: DigitalEnergyModel | None = None) -> None:
        self.device = device
        self.pulse_model = energy_model_for(device, energy_model)
        pulse_energies_j(device, self.pulse_model)  # fail now, not after the first epoch
        self.read_model = read_model
        self.digital_model = digital_model
        self.epochs: list[dict[str, Any]] = []

    def add(self, metrics: dict[str, Any]) -> dict[str, float]:
        """Record a finished epoch's metrics; its costs (:func:`run_costs`' row)."""
        self.epochs.append(metrics)
        return run_costs(self.epochs, self.device, self.pulse_model, self.read_model,
                         self.digital_model)[-1]


def format_joules(joules: float | None) -> str:
    """``1.24 J``, ``39.1 mJ``, ``5.2 µJ``: an energy with a readable unit (``–`` for
    none)."""
    if joules is None or joules != joules:  # None or NaN
        return "–"
    value = float(joules)
    for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-12:.3g} pJ" if value else "0 J"
