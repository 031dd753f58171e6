"""Metrics of a measured run and its fitted device model."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from pulsetrain.devices.extract import Branch, CleanRun
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.response import robust_inliers
from pulsetrain.devices.symmetry import symmetry_point, symmetry_point_recipe

METRIC_COLUMNS = (
    "device_id", "run", "pulse_width_s", "gmax_gmin", "on_off", "n_up", "n_down", "dw_min",
    "asymmetry", "nl_ltp", "nl_ltd", "r2_ltp", "r2_ltd", "symmetry_point", "symmetry_point_sim",
    "sp_pulses", "symmetry_point_recipe", "c2c_noise", "g_min_s", "g_max_s",
    "symmetry_point_analytic", "sp_crossings", "repetition", "window", "fit_up", "fit_down",
    "quality",
)


@dataclass(frozen=True)
class RunMetrics:
    """Per-run metrics (see ``docs/device-model.md`` for definitions).

    Attributes
    ----------
    gmax_gmin
        Gmax/Gmin inside the cutoff window.
    on_off
        Gmax/Gmin over the whole repetition (all pulses, window ignored).
    n_up, n_down
        Usable pulses per direction (inside the window).
    dw_min
        Fitted step at w = 0 in the smaller direction, weight units.
    asymmetry
        Fitted up step / down step at w = 0.
    nl_ltp, nl_ltd, r2_ltp, r2_ltd
        NeuroSim-style non-linearity ``1/A`` of the fit ``G(P) = B(1 − e^(−P/A))``
        on normalised pulse number and conductance (LTD on the time-reversed
        depression branch, so ``A < 0``), with the fit's R².
    symmetry_point
        The SP pulsetrain uses everywhere: the stable crossing of Δw_up and
        Δw_down that alternating pulses from w = 0 settle at (see
        :func:`~pulsetrain.devices.symmetry.symmetry_point`).
    symmetry_point_sim, sp_pulses
        SP by simulated alternating pulses from w = 0 until the orbit is
        stable, refined by two probe pulses (see
        :func:`~pulsetrain.devices.symmetry.symmetry_point_by_pulses`), and the
        pulses that took.
    symmetry_point_recipe
        The thesis recipe (50 alternating pulses from 0, mean of the last 5).
    c2c_noise
        Cycle-to-cycle noise: std of the step residuals about the fit divided
        by the mean fitted step, pooled over both directions (glitches excluded).
    g_min_s, g_max_s
        Conductance range inside the window, siemens.
    symmetry_point_analytic
        Where a weight starting at the centre of the range drifts (root of
        Δw_up − Δw_down followed from the centre).
    sp_crossings
        Every crossing of the responses with its stability, e.g. ``0.314 (stable)``.
    repetition
        The repetition fitted.
    window
        ``cutoffs`` (a cutoffs row) or ``auto`` (found from the data), with its volts.
    fit_up, fit_down
        The response fit used per direction (``spline-gcv``, ``polynomial``, ``constant``).
    quality
        ``ok`` or the reasons the fit is weak, ``; ``-separated
        (see :mod:`pulsetrain.devices.quality`).
    """

    device_id: str
    run: str
    pulse_width_s: float
    gmax_gmin: float
    on_off: float
    n_up: int
    n_down: int
    dw_min: float
    asymmetry: float
    nl_ltp: float
    nl_ltd: float
    r2_ltp: float
    r2_ltd: float
    symmetry_point: float
    symmetry_point_sim: float
    sp_pulses: int
    symmetry_point_recipe: float
    c2c_noise: float
    g_min_s: float
    g_max_s: float
    symmetry_point_analytic: float = float("nan")
    sp_crossings: str = ""
    repetition: int = -1
    window: str = ""
    fit_up: str = ""
    fit_down: str = ""
    quality: str = "ok"

    def as_dict(self) -> dict[str, float | int | str]:
        """Metrics as a flat dict (columns of ``metrics.csv``)."""
        return asdict(self)


def _neurosim(p: NDArray[np.float64], a: float) -> NDArray[np.float64]:
    b = 1.0 / (1.0 - np.exp(-1.0 / a))
    return np.asarray(b * (1.0 - np.exp(-p / a)))


def neurosim_fit(conductance: NDArray[np.float64], a0: float) -> tuple[float, float]:
    """Fit ``G(P) = B(1 − e^(−P/A))`` (normalised axes) and return ``(1/A, R²)``."""
    g = np.asarray(conductance, float)
    span = g.max() - g.min()
    y = (g - g.min()) / span if span > 0 else np.zeros_like(g)
    p = np.linspace(0.0, 1.0, g.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            (a,), _ = curve_fit(_neurosim, p, y, p0=[a0], maxfev=5000)
        except RuntimeError:
            return float("nan"), float("nan")
    resid = y - _neurosim(p, a)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    return float(1.0 / a), r2


def c2c_noise_estimate(device: LutDevice, up: Branch, down: Branch) -> float:
    """Relative step noise: residual std about the fitted response / mean fitted step.

    Isolated read glitches (see :func:`~pulsetrain.devices.response.robust_inliers`)
    are left out, as they are from the fit.
    """
    ok_up, ok_down = robust_inliers(up.step), robust_inliers(down.step)
    fit_up = device.step_up(up.state[ok_up])
    fit_down = device.step_down(down.state[ok_down])
    resid = np.concatenate([up.step[ok_up] - fit_up, down.step[ok_down] - fit_down])
    mean_step = float(np.mean(np.concatenate([fit_up, fit_down])))
    return float(np.std(resid) / mean_step) if mean_step > 0 else float("nan")


def compute_metrics(clean: CleanRun, device: LutDevice, fits: tuple[str, str] = ("", "")
                    ) -> RunMetrics:
    """All metrics of a cleaned run and the device fitted to it (``fits``: the response
    fit used up and down).  ``quality`` is filled in by
    :func:`pulsetrain.devices.quality.assess`."""
    sweep = clean.sweep
    g_all = sweep.conductance_s
    g_win = clean.mapping.to_conductance(np.concatenate([clean.up.w, clean.down.w]))
    g_up = clean.mapping.to_conductance(clean.up.w)
    g_down = clean.mapping.to_conductance(clean.down.w)
    nl_ltp, r2_ltp = neurosim_fit(g_up, 1.0)
    nl_ltd, r2_ltd = neurosim_fit(g_down[::-1], -1.0)
    up0, down0 = float(device.step_up(0.0)), float(device.step_down(0.0))
    sp = symmetry_point(device)
    sim = sp.by_pulses
    return RunMetrics(
        device_id=sweep.device_id,
        run=sweep.run,
        pulse_width_s=sweep.pulse_width_s,
        gmax_gmin=float(g_win.max() / g_win.min()),
        on_off=float(g_all.max() / g_all.min()),
        n_up=clean.up.n_pulses,
        n_down=clean.down.n_pulses,
        dw_min=min(up0, down0),
        asymmetry=up0 / down0 if down0 > 0 else float("inf"),
        nl_ltp=nl_ltp,
        nl_ltd=nl_ltd,
        r2_ltp=r2_ltp,
        r2_ltd=r2_ltd,
        symmetry_point=sp.value,
        symmetry_point_sim=sim.value,
        sp_pulses=sim.n_pulses,
        symmetry_point_recipe=symmetry_point_recipe(device),
        c2c_noise=c2c_noise_estimate(device, clean.up, clean.down),
        g_min_s=clean.mapping.g_min_s,
        g_max_s=clean.mapping.g_max_s,
        symmetry_point_analytic=sp.analytic,
        sp_crossings=sp.describe_crossings(),
        repetition=sweep.repetition,
        window=clean.window.describe() if clean.window else "",
        fit_up=fits[0],
        fit_down=fits[1],
    )
