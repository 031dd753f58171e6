"""Fit a lookup-table device model to a measured run."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pulsetrain.devices.extract import CleanRun, clean_run
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.metrics import RunMetrics, compute_metrics
from pulsetrain.devices.response import robust_inliers, smooth_response
from pulsetrain.measurements.scan import MeasuredRun
from pulsetrain.measurements.sweep import DOWN, UP, format_seconds


@dataclass(frozen=True)
class DeviceFit:
    """What fitting a run produced: the model, the cleaned data and the metrics."""

    device: LutDevice
    clean: CleanRun
    metrics: RunMetrics


def default_name(run: MeasuredRun) -> str:
    """``DEVICE-PULSEWIDTH-RUN``, e.g. ``ID161ZR15000-200ns-20241024110755``."""
    return f"{run.device_id}-{format_seconds(run.pulse_width_s)}-{run.run}"


def fit_device(run: MeasuredRun, n_points: int = 32, repetition: int | None = None,
               smoothing: float | None = None, min_pulses: int = 40,
               name: str | None = None) -> DeviceFit:
    """Fit a :class:`LutDevice` to one measured run.

    Steps: take the repetition (default: last), keep the cutoff window,
    normalise G to ``[-1, 1]``, drop isolated read glitches
    (:func:`~pulsetrain.devices.response.robust_inliers`), fit a smoothing
    spline of step vs state per direction, sample it on ``n_points`` nodes,
    then compute the metrics.

    Parameters
    ----------
    run
        A run from :func:`pulsetrain.measurements.scan_folder`.
    n_points
        Lookup-table nodes over ``[-1, 1]`` (>= 4).
    repetition
        Repetition index; ``None`` = last.
    smoothing
        Spline penalty; ``None`` = chosen by generalised cross-validation.
    min_pulses
        Minimum usable pulses per direction (runs with fewer raise ``FitError``).
    name
        Model name; default :func:`default_name`.

    Raises
    ------
    FitError
        If the run has no cutoff window or too few usable pulses.
    ValueError
        If ``n_points < 4``.
    """
    if n_points < 4:
        raise ValueError(f"n_points must be >= 4, got {n_points}")
    clean = clean_run(run, repetition=repetition, min_pulses=min_pulses)
    grid = np.linspace(clean.mapping.w_min, clean.mapping.w_max, n_points)
    luts = {}
    for branch in (clean.up, clean.down):
        ok = robust_inliers(branch.step)
        luts[branch.direction] = smooth_response(branch.state[ok], branch.step[ok], grid,
                                                 branch.direction, smoothing)
    lut_up, lut_down = luts[UP], luts[DOWN]
    device = LutDevice(
        name=name or default_name(run),
        lut_up=lut_up,
        lut_down=lut_down,
        w_min=clean.mapping.w_min,
        w_max=clean.mapping.w_max,
        mapping=clean.mapping,
        pulse_width_s=run.pulse_width_s,
        amplitude_up_v=float(np.mean(clean.up.amplitude_v)),
        amplitude_down_v=float(np.mean(clean.down.amplitude_v)),
        device_id=run.device_id,
        run=run.run,
    )
    metrics = compute_metrics(clean, device)
    device = replace(device, c2c_noise_estimate=metrics.c2c_noise,
                     metrics={k: v for k, v in metrics.as_dict().items()
                              if k not in ("device_id", "run", "pulse_width_s")})
    return DeviceFit(device, clean, metrics)
