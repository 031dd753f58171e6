"""pulsetrain devices ↔ AIHWKit ``PiecewiseStepDevice`` parameters (no AIHWKit needed).

AIHWKit's piecewise-step device steps by ``scale·(t₁·v[k] + t·v[k+1])`` with ``v`` the
``piecewise_up``/``piecewise_down`` node vectors spread evenly over each device's
``[w_min, w_max]``, ``scale = dw_min·(gain ± r)`` — the same linear interpolation of a
lookup table that :class:`~pulsetrain.devices.LutDevice` uses.  The export therefore
sets ``piecewise_* = lut_* / dw_min`` with ``dw_min`` our granularity and ``up_down = 0``;
the import reverses it.  A device fitted by the ``thesis`` recipe
(:mod:`pulsetrain.devices.recipes`) is exported with the recipe's own ``dw_min``,
``up_down``, ``w_min``, ``w_max`` and node vectors instead (the same steps, the
thesis's parametrisation).  Differences in the d2d draws are listed in docs/validation.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsetrain.devices.lut import LutDevice, Variation
from pulsetrain.devices.recipes import recipe_piecewise_step

PIECEWISE_FIELDS = ("dw_min", "up_down", "w_min", "w_max", "piecewise_up", "piecewise_down",
                    "dw_min_dtod", "up_down_dtod", "w_min_dtod", "w_max_dtod", "dw_min_std",
                    "write_noise_std")


def to_piecewise_step(device: LutDevice) -> dict[str, Any]:
    """``PiecewiseStepDevice(**params)`` arguments (plus ``"class"``) for ``device``.

    Raises ``ValueError`` when AIHWKit cannot represent the device (its bounds must
    contain 0, and ``dw_min`` must be > 0).  A device that carries the ``thesis``
    recipe's parameters (and still matches them) gets those parameters verbatim
    (:func:`~pulsetrain.devices.recipes.recipe_piecewise_step`).
    """
    if not device.w_min <= 0 <= device.w_max:
        raise ValueError(f"{device.name}: AIHWKit needs w_min <= 0 <= w_max, got "
                         f"[{device.w_min}, {device.w_max}]")
    dw = device.dw_min
    if not dw > 0:
        raise ValueError(f"{device.name}: granularity dw_min is 0; cannot normalise the "
                         "step tables for AIHWKit")
    var = device.variation
    steps: dict[str, Any] = recipe_piecewise_step(device) or {
        "dw_min": dw,
        "up_down": 0.0,
        "w_min": float(device.w_min),
        "w_max": float(device.w_max),
        "piecewise_up": [float(v) for v in device.lut_up / dw],
        "piecewise_down": [float(v) for v in device.lut_down / dw],
    }
    return {
        "class": "PiecewiseStepDevice",
        **steps,
        "dw_min_dtod": var.step_gain_std,
        "up_down_dtod": var.up_down_std,
        "w_min_dtod": var.bound_std,
        "w_max_dtod": var.bound_std,
        "dw_min_std": float(device.c2c_noise),
        "write_noise_std": 0.0,
    }


def from_piecewise_step(params: dict[str, Any], name: str = "aihwkit-piecewise") -> LutDevice:
    """A :class:`LutDevice` from ``PiecewiseStepDevice`` parameters (the export's inverse).

    ``up_down`` is folded into the tables by AIHWKit's rule: the larger direction keeps
    ``dw_min``, the other is scaled by ``1 − |up_down|``.  Missing fields take AIHWKit's
    defaults for the step tables (``[1]``) and bounds, and zero variation.
    """
    unknown = set(params) - set(PIECEWISE_FIELDS) - {"class"}
    if unknown:
        raise ValueError(f"unknown PiecewiseStepDevice field(s): {', '.join(sorted(unknown))}")
    dw = float(params.get("dw_min", 0.001))
    ud = float(params.get("up_down", 0.0))
    up = np.asarray(params.get("piecewise_up", [1.0]), float)
    down = np.asarray(params.get("piecewise_down", [1.0]), float)
    if up.shape != down.shape:
        raise ValueError("piecewise_up and piecewise_down must have the same length, got "
                         f"{up.size} and {down.size}")
    if up.size == 1:  # a constant step
        up, down = np.repeat(up, 2), np.repeat(down, 2)
    # AIHWKit: scale_up = (up_bias + 1)·dw_min, scale_down = (down_bias + 1)·dw_min with
    # up_bias = min(up_down, 0), down_bias = −max(up_down, 0)
    scale_up = (min(ud, 0.0) + 1.0) * dw
    scale_down = (-max(ud, 0.0) + 1.0) * dw
    bound = float(params.get("w_max_dtod", 0.0))
    if float(params.get("w_min_dtod", bound)) != bound:
        raise ValueError("pulsetrain draws one relative bound variation for both bounds; "
                         "w_min_dtod and w_max_dtod must be equal")
    return LutDevice(
        name, up * scale_up, down * scale_down,
        w_min=float(params.get("w_min", -0.6)), w_max=float(params.get("w_max", 0.6)),
        variation=Variation(step_gain_std=float(params.get("dw_min_dtod", 0.0)),
                            bound_std=bound,
                            up_down_std=float(params.get("up_down_dtod", 0.0))),
        c2c_noise=float(params.get("dw_min_std", 0.0)),
        provenance={"source": "imported from AIHWKit PiecewiseStepDevice parameters"},
    )


def aihwkit_granularity(device: LutDevice) -> float:
    """The granularity AIHWKit's pulse management uses for the exported device.

    AIHWKit takes ``dw_min·piecewise_up[n // 2]`` of the exported parameters (the
    middle node's up factor times ``dw_min``, *without* the ``1 + min(up_down, 0)``
    scaling its up steps get: on a device exported with ``up_down < 0`` — the thesis
    recipe's 2 µs–2 ms devices — this is larger than the table's middle up step);
    pulsetrain's default is ``min(up, down)`` at ``w = 0``.  Pass this value as the
    SGD ``granularity`` to reproduce AIHWKit's pulse probabilities exactly.
    """
    params = to_piecewise_step(device)
    up = params["piecewise_up"]
    return float(params["dw_min"]) * float(up[len(up) // 2])
