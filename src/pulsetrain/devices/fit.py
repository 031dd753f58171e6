"""Fit a lookup-table device model to a measured run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pulsetrain.devices.extract import CleanRun, WindowMode, clean_run
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.metrics import RunMetrics, compute_metrics
from pulsetrain.devices.quality import assess
from pulsetrain.devices.response import fit_response, robust_inliers
from pulsetrain.errors import FitError
from pulsetrain.measurements.scan import MeasuredRun
from pulsetrain.measurements.sweep import DOWN, UP, format_seconds


@dataclass(frozen=True)
class DeviceFit:
    """What fitting a run produced: the model, the cleaned data, the metrics and flags."""

    device: LutDevice
    clean: CleanRun
    metrics: RunMetrics
    quality: tuple[str, ...] = ()
    """Why the fit is weak (empty = ``ok``); see :mod:`pulsetrain.devices.quality`."""


def default_name(run: MeasuredRun) -> str:
    """``DEVICE-PULSEWIDTH-RUN``, e.g. ``ID161ZR15000-200ns-20241024110755``."""
    return f"{run.device_id}-{format_seconds(run.pulse_width_s)}-{run.run}"


def fit_device(run: MeasuredRun, n_points: int = 32, repetition: int | None = None,
               smoothing: float | None = None, min_pulses: int = 10,
               name: str | None = None, window: WindowMode = "prefer-cutoffs") -> DeviceFit:
    """Fit a :class:`LutDevice` to one measured run.

    Steps: take the repetition (default: the last usable one), find the
    switching window (cutoffs row, else automatic), normalise G to
    ``[-1, 1]``, drop isolated read glitches
    (:func:`~pulsetrain.devices.response.robust_inliers`), fit a step-vs-state
    curve per direction (smoothing spline, with a documented fallback chain:
    :func:`~pulsetrain.devices.response.fit_response`), sample it on
    ``n_points`` nodes, then compute the metrics and quality flags.

    Parameters
    ----------
    run
        A run from :func:`pulsetrain.measurements.scan_folder`.
    n_points
        Lookup-table nodes over ``[-1, 1]`` (>= 4).
    repetition
        Repetition index; ``None`` = the last usable one.
    smoothing
        Spline penalty; ``None`` = chosen by generalised cross-validation.
    min_pulses
        Hard floor of usable pulses per direction (fewer raise ``FitError``);
        fits with fewer than :data:`~pulsetrain.devices.quality.FEW_PULSES` are flagged.
    name
        Model name; default :func:`default_name`.
    window
        Where the switching window comes from (``prefer-cutoffs``, ``cutoffs``, ``auto``).

    Raises
    ------
    FitError
        One line naming the run: no usable repetition, no cutoff window where
        one is required, too few usable pulses, or no fit possible.
    ValueError
        If ``n_points < 4``.
    """
    if n_points < 4:
        raise ValueError(f"n_points must be >= 4, got {n_points}")
    clean = clean_run(run, repetition=repetition, min_pulses=min_pulses, window=window)
    grid = np.linspace(clean.mapping.w_min, clean.mapping.w_max, n_points)
    fits = {}
    for branch in (clean.up, clean.down):
        ok = robust_inliers(branch.step)
        try:
            fits[branch.direction] = fit_response(branch.state[ok], branch.step[ok], grid,
                                                  branch.direction, smoothing)
        except ValueError as exc:
            raise FitError(f"{clean.sweep.label}: no response fit possible for the "
                           f"{'up' if branch.direction == UP else 'down'} branch ({exc})"
                           ) from None
    device = LutDevice(
        name=name or default_name(run),
        lut_up=fits[UP].values,
        lut_down=fits[DOWN].values,
        w_min=clean.mapping.w_min,
        w_max=clean.mapping.w_max,
        mapping=clean.mapping,
        pulse_width_s=run.pulse_width_s,
        amplitude_up_v=float(np.mean(clean.up.amplitude_v)),
        amplitude_down_v=float(np.mean(clean.down.amplitude_v)),
        device_id=run.device_id,
        run=run.run,
    )
    metrics = compute_metrics(clean, device, (fits[UP].method, fits[DOWN].method))
    flags = assess(clean, device, metrics)
    metrics = replace(metrics, quality="; ".join(flags) if flags else "ok")
    return DeviceFit(with_metrics(device, metrics), clean, metrics, tuple(flags))


def with_metrics(device: LutDevice, metrics: RunMetrics, extra: dict[str, Any] | None = None,
                 provenance: dict[str, Any] | None = None) -> LutDevice:
    """``device`` carrying its run's metrics (those not already device fields, plus
    ``extra``) and the c2c noise estimated from them; ``provenance`` replaces the
    device's when given."""
    kept = {k: v for k, v in metrics.as_dict().items()
            if k not in ("device_id", "run", "pulse_width_s")}
    return replace(device, c2c_noise_estimate=metrics.c2c_noise, metrics={**kept, **(extra or {})},
                   provenance=device.provenance if provenance is None else provenance)
