"""Training energy = Σ over applied pulses of the energy of each pulse."""

from __future__ import annotations

from typing import Any

from pulsetrain.devices.lut import LutDevice
from pulsetrain.energy.models import EnergyModel
from pulsetrain.errors import InputError


def pulse_energies_j(device: LutDevice, model: EnergyModel) -> tuple[float, float]:
    """Energy of one up and one down pulse of ``device`` (its pulse width and the mean
    amplitudes of its measured branches)."""
    if device.pulse_width_s is None or device.amplitude_up_v is None \
            or device.amplitude_down_v is None:
        raise InputError(f"device {device.name!r} has no pulse_width_s / amplitude_up_v / "
                         "amplitude_down_v, which the energy accounting needs")
    return (model.energy_per_pulse_j(device.pulse_width_s, device.amplitude_up_v),
            model.energy_per_pulse_j(device.pulse_width_s, device.amplitude_down_v))


def training_energy(epochs: list[dict[str, Any]], device: LutDevice, model: EnergyModel,
                    digital_energy_per_op_j: float | None = None) -> list[dict[str, Any]]:
    """Per-epoch pulse energy (J), by layer and direction, per epoch and cumulative.

    ``epochs`` are the trainer's per-epoch metrics.  Mixed-precision runs also get
    ``digital_ops_total`` and, with ``digital_energy_per_op_j``, ``digital_energy_total_j``
    — a separate term, never added to the pulse energy.
    """
    e_up, e_down = pulse_energies_j(device, model)
    out = []
    for m in epochs:
        layers = [{"up_j": layer["up"] * e_up, "down_j": layer["down"] * e_down,
                   "up_total_j": layer["up_total"] * e_up,
                   "down_total_j": layer["down_total"] * e_down} for layer in m["layers"]]
        row: dict[str, Any] = {
            "epoch": m["epoch"],
            "energy_j": sum(x["up_j"] + x["down_j"] for x in layers),
            "energy_total_j": sum(x["up_total_j"] + x["down_total_j"] for x in layers),
            "layers": layers,
        }
        if "digital_updates_total" in m:
            row["digital_ops_total"] = m["digital_updates_total"]
            if digital_energy_per_op_j is not None:
                row["digital_energy_total_j"] = m["digital_updates_total"] * \
                    digital_energy_per_op_j
        out.append(row)
    return out
