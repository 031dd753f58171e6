"""Energy of reading the array during training: the analog MVMs and their conversions.

Per MVM sample (one input vector, one bound-management pass), the array dissipates
``V_read² · t_read · Σ_j v_j² Σ_i G_ij`` — each input line j driven at ``v_j·V_read``
(``v`` the DAC level, a fraction of full scale) for the integration time through the
conductances of its devices (device and reference arrays); the runs record the upper
bound with ``v = 1`` (``reads.array_sum_total``, siemens: sample reads × ΣG, see
:class:`pulsetrain.crossbar.mvm.ReadStats`).  Each input costs one DAC conversion and
each output one ADC conversion (``reads.dac_total``, ``reads.adc_total``).
:func:`read_energy` turns them into joules.

Defaults (assumptions, configurable; none of them is measured on the HZO devices):

* ``read_voltage_v = 0.1`` V and ``read_time_s = 10e-9`` s: a small read bias that does
  not disturb a ferroelectric state, and a 10 ns integration window, as NeuroSim's
  default read pulse (Chen, Peng, Yu, "NeuroSim: a circuit-level macro model for
  benchmarking neuro-inspired architectures in online learning", IEEE TCAD 37, 2018);
* ``adc_energy_j = 1.56e-12`` J: the 8-bit, 1.28 GS/s ADC of ISAAC (Shafiee et al.,
  ISCA 2016, Table 6: 2 mW per ADC) per conversion (2 mW / 1.28 GHz);
* ``dac_energy_j = 2.1e-14`` J: ISAAC's 1-bit DAC (4 mW for 8×128 DACs at 1.28 GHz,
  3.05 fJ per bit) times 7 bits (AIHWKit's default 7-bit input resolution, bit-serial).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReadEnergyModel:
    """Energy of array reads and conversions (see the module docstring for the defaults
    and their sources)."""

    read_voltage_v: float = 0.1
    read_time_s: float = 10e-9
    dac_energy_j: float = 2.1e-14
    adc_energy_j: float = 1.56e-12

    def __post_init__(self) -> None:
        for name in ("read_voltage_v", "read_time_s", "dac_energy_j", "adc_energy_j"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    def energy_j(self, reads: dict[str, Any]) -> dict[str, float]:
        """``{array_j, dac_j, adc_j, read_energy_j}`` of cumulative read counters."""
        array = (self.read_voltage_v ** 2 * self.read_time_s
                 * float(reads.get("array_sum_total") or 0.0))
        dac = self.dac_energy_j * int(reads.get("dac_total", 0))
        adc = self.adc_energy_j * int(reads.get("adc_total", 0))
        return {"array_j": array, "dac_j": dac, "adc_j": adc,
                "read_energy_j": array + dac + adc}


def read_energy(epochs: list[dict[str, Any]], model: ReadEnergyModel | None = None
                ) -> list[dict[str, float]]:
    """Per epoch, the read energy of that epoch (``read_energy_j``) and since the start
    (``read_energy_total_j``) with its parts; empty dicts for epochs without counters
    (runs stored before read counting, or the float baseline)."""
    model = model or ReadEnergyModel()
    out: list[dict[str, float]] = []
    prev = 0.0
    for m in epochs:
        reads = m.get("reads")
        if not reads:
            out.append({})
            continue
        total = model.energy_j(reads)
        out.append({"read_energy_j": total["read_energy_j"] - prev,
                    "read_energy_total_j": total["read_energy_j"],
                    "read_array_total_j": total["array_j"],
                    "read_conversions_total_j": total["dac_j"] + total["adc_j"]})
        prev = total["read_energy_j"]
    return out
