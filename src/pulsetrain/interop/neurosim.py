"""Export a device to NeuroSim-style parameters (a plain dict; no NeuroSim needed).

NeuroSim describes a synapse by its conductance range, the number of levels per
direction, a non-linearity of the exponential model ``G(P) = B(1 − e^(−P/A)) + Gmin``
per direction, the write pulse and the variations.  We simulate one full
potentiation (from ``w_min``) and one full depression (from ``w_max``) of the
noise-free device model — as many pulses as the measured run had usable
(``metrics["n_up"]``/``["n_down"]``), else until within 1 % of the range of the far
bound — and fit ``A`` on the normalised axes.  A device fitted from measurements carries
``A`` of the measured branches in its metrics; that value is exported then.  NeuroSim's
integer-ish ``NL`` label is a tabulated function of ``A``; we export ``A`` itself
(normalised and in pulses) so that ``paramALTP``/``paramALTD`` can be set directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.metrics import neurosim_fit

MAX_LEVELS = 100_000


def _sweep(device: LutDevice, direction: int, n_pulses: int | None) -> np.ndarray:
    w = device.w_min if direction > 0 else device.w_max
    far = device.w_max if direction > 0 else device.w_min
    tol = 0.01 * (device.w_max - device.w_min)
    states = [w]
    for _ in range(n_pulses if n_pulses else MAX_LEVELS):
        new = float(device.pulse(w, direction))
        if new == w:
            break
        w = new
        states.append(w)
        if not n_pulses and abs(far - w) < tol:
            break
    return np.asarray(states)


def to_neurosim(device: LutDevice) -> dict[str, Any]:
    """NeuroSim-style parameters of ``device`` (conductances in siemens, pulses in s, V)."""
    m = device.metrics
    up = _sweep(device, +1, int(m["n_up"]) if m.get("n_up") else None)
    down = _sweep(device, -1, int(m["n_down"]) if m.get("n_down") else None)
    mapping = device.mapping
    g_up = mapping.to_conductance(up) if mapping else up
    g_down = mapping.to_conductance(down) if mapping else down
    if all(k in m for k in ("nl_ltp", "nl_ltd", "r2_ltp", "r2_ltd")):
        source = "fit to the measured run (device metrics)"
        nl_ltp, r2_ltp = float(m["nl_ltp"]), float(m["r2_ltp"])
        nl_ltd, r2_ltd = float(m["nl_ltd"]), float(m["r2_ltd"])
    else:
        source = "fit to a simulated noise-free sweep of the device model"
        nl_ltp, r2_ltp = neurosim_fit(np.asarray(g_up, float), 1.0)
        nl_ltd, r2_ltd = neurosim_fit(np.asarray(g_down, float)[::-1], -1.0)
    n_ltp, n_ltd = len(up) - 1, len(down) - 1
    mean_step = float(np.mean(np.abs(np.diff(g_up)))) if n_ltp else float("nan")
    return {
        "format": "neurosim-style",
        "device": device.name,
        "maxConductance": float(mapping.g_max_s) if mapping else None,
        "minConductance": float(mapping.g_min_s) if mapping else None,
        "maxNumLevelLTP": n_ltp,
        "maxNumLevelLTD": n_ltd,
        "A_LTP_normalised": 1.0 / nl_ltp,
        "A_LTD_normalised": 1.0 / nl_ltd,
        "paramALTP_pulses": n_ltp / nl_ltp,
        "paramALTD_pulses": n_ltd / nl_ltd,
        "fit_r2_LTP": r2_ltp,
        "fit_r2_LTD": r2_ltd,
        "nonlinearity_source": source,
        "writeVoltageLTP": device.amplitude_up_v,
        "writeVoltageLTD": device.amplitude_down_v,
        "writePulseWidthLTP": device.pulse_width_s,
        "writePulseWidthLTD": device.pulse_width_s,
        "sigmaDtoD": device.variation.step_gain_std,
        "sigmaCtoC": device.c2c_noise * mean_step if mapping else device.c2c_noise,
        "notes": ("A from G(P) = B(1 - exp(-P/A)) + Gmin on normalised axes (LTD fitted on "
                  "the time-reversed depression, so A < 0); NeuroSim's NL label is a "
                  "tabulated function of A and is not exported. sigmaCtoC in siemens "
                  "(relative c2c noise x mean LTP step)."),
    }
