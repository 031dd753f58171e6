"""Figures of measured runs and fitted device models (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from numpy.typing import ArrayLike

from pulsetrain.devices.fit import DeviceFit
from pulsetrain.devices.metrics import RunMetrics
from pulsetrain.measurements.sweep import UP, format_seconds

UP_COLOR = "#1f77b4"
DOWN_COLOR = "#d62728"

SI_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k"}
"""Decimal exponent → SI prefix, for axes that pick their unit from the data."""


def unit_scale(values: ArrayLike, unit: str) -> tuple[float, str]:
    """``(factor, prefixed unit)`` such that ``values × factor`` has its largest finite
    magnitude in [1, 1000), e.g. conductances of 2e-8 S → ``(1e9, "nS")``; ``(1, unit)``
    when no value is finite and non-zero."""
    v = np.abs(np.asarray(values, dtype=float)).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return 1.0, unit
    exponent = 3 * int(np.floor(np.log10(float(v.max())) / 3 + 1e-9))
    exponent = min(max(exponent, min(SI_PREFIXES)), max(SI_PREFIXES))
    return 10.0 ** -exponent, SI_PREFIXES[exponent] + unit


def legend_outside(ax: Axes, handles: Sequence[Any] | None = None,
                   labels: Sequence[str] | None = None, **kwargs: Any) -> Legend | None:
    """The axes' legend (of ``handles``/``labels``, default: its labelled artists) to the
    right of its data area, never over the data; ``None`` when there is nothing to key."""
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return None
    options: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0),
                               "borderaxespad": 0.0, "fontsize": 8}
    options.update(kwargs)
    legend: Legend = ax.legend(list(handles), list(labels), **options)
    return legend


def raw_figure(fit: DeviceFit) -> Figure:
    """Conductance vs pulse number of the fitted repetition; pulses outside the
    switching window (cutoffs row or automatic) shaded grey, amplitude on a second axis."""
    sweep = fit.clean.sweep
    n = np.arange(sweep.n_pulses)
    fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
    factor, unit = unit_scale(sweep.conductance_s, "S")
    g = sweep.conductance_s * factor
    outside = ~fit.clean.keep
    for k in np.flatnonzero(outside):
        ax.axvspan(k - 0.5, k + 0.5, color="0.88", lw=0)
    up = sweep.direction == UP
    ax.plot(n[up & ~outside], g[up & ~outside], ".", color=UP_COLOR,
            label="potentiation (negative pulses)")
    ax.plot(n[~up & ~outside], g[~up & ~outside], ".", color=DOWN_COLOR,
            label="depression (positive pulses)")
    source = fit.clean.window.source if fit.clean.window else "cutoff"
    if outside.any():  # the key names only what is drawn
        ax.plot(n[outside], g[outside], ".", color="0.6",
                label=f"outside the {'automatic' if source == 'auto' else 'cutoffs'} window")
    ax.set_xlabel("pulse number")
    ax.set_ylabel(f"conductance G ({unit})")
    ax2 = ax.twinx()
    ax2.plot(n, sweep.amplitude_v, "-", color="0.3", lw=0.8, alpha=0.6)
    ax2.set_ylabel("pulse amplitude (V)", color="0.3")
    ax.set_title(f"{sweep.label}, repetition {sweep.repetition}"
                 + (" (window: automatic)" if source == "auto" else ""), fontsize=10)
    # below the figure: the twin axis' labels take the right-hand side
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3,
               fontsize=8)
    return fig


def response_figure(fit: DeviceFit) -> Figure:
    """Measured steps Δw vs state w per direction, the fitted lookup tables and the SP."""
    dev, clean, m = fit.device, fit.clean, fit.metrics
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    ax.plot(clean.up.state, clean.up.step, "o", ms=3, color=UP_COLOR, alpha=0.6,
            label="measured up (potentiation)")
    ax.plot(clean.down.state, clean.down.step, "o", ms=3, color=DOWN_COLOR, alpha=0.6,
            label="measured down (depression)")
    grid = np.linspace(dev.w_min, dev.w_max, 400)
    ax.plot(grid, dev.step_up(grid), "-", color=UP_COLOR, lw=2, label="fitted Δw_up(w)")
    ax.plot(grid, dev.step_down(grid), "-", color=DOWN_COLOR, lw=2, label="fitted Δw_down(w)")
    ax.axvline(m.symmetry_point, color="k", ls="--", lw=1.2,
               label=f"symmetry point {m.symmetry_point:.2f}")
    top = max(float(np.max(dev.lut_up)), float(np.max(dev.lut_down)))
    ax.set_ylim(min(0.0, float(np.min(clean.up.step))) * 1.05, top * 1.5)
    ax.set_xlabel("weight w (normalised)")
    ax.set_ylabel("step per pulse |Δw| (normalised weight)")
    ax.set_title(f"{dev.name}: response\n(dw_min {dev.dw_min:.3g}, "
                 f"up/down at 0: {m.asymmetry:.2f})", fontsize=10)
    legend_outside(ax)
    return fig


SUMMARY_PANELS = (
    ("gmax_gmin", "Gmax/Gmin", "Gmax/Gmin (ratio)"),
    ("n_up", "usable pulses", "pulses (count)"),
    ("dw_min", "dw_min", "dw_min (normalised weight)"),
    ("asymmetry", "up/down step at w=0", "Δw_up/Δw_down (ratio)"),
    ("nl_ltp", "non-linearity 1/A", "1/A (dimensionless)"),
    ("symmetry_point", "symmetry point", "SP (normalised weight)"),
    ("c2c_noise", "c2c noise", "c2c noise (fraction of step)"),
)
"""(metric, panel title, y label with its unit) of :func:`summary_figure`."""


def summary_figure(metrics: Sequence[RunMetrics]) -> Figure:
    """Each metric vs pulse width (log x), one marker per run."""
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), layout="constrained")
    pw = np.array([m.pulse_width_s for m in metrics])
    for ax, (key, title, ylabel) in zip(axes.ravel(), SUMMARY_PANELS, strict=False):
        values = np.array([getattr(m, key) for m in metrics], dtype=float)
        if key == "n_up":
            ax.semilogx(pw, values, "o", color=UP_COLOR, label="up")
            ax.semilogx(pw, [m.n_down for m in metrics], "s", color=DOWN_COLOR, label="down")
        elif key == "nl_ltp":
            ax.semilogx(pw, values, "o", color=UP_COLOR, label="LTP")
            ax.semilogx(pw, [m.nl_ltd for m in metrics], "s", color=DOWN_COLOR, label="LTD")
        elif key == "symmetry_point":
            ax.semilogx(pw, values, "o", color="k", label="stable crossing")
            ax.semilogx(pw, [m.symmetry_point_sim for m in metrics], "x", color="C2",
                        label="alternating\npulses")
            ax.semilogx(pw, [m.symmetry_point_recipe for m in metrics], "^", color="C1",
                        mfc="none", label="thesis recipe\n(50 pulses)")
        else:
            ax.semilogx(pw, values, "o", color="k")
        legend_outside(ax, fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("pulse width (s)")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    last = axes.ravel()[-1]
    last.axis("off")
    rows = [f"{format_seconds(m.pulse_width_s):>6}  run {m.run}" for m in metrics]
    last.text(0, 1, "runs:\n" + "\n".join(rows), va="top", family="monospace", fontsize=8)
    fig.suptitle(f"{metrics[0].device_id}: metrics vs pulse width")
    return fig


POPULATION_PANELS = (
    ("gmax_gmin", "Gmax/Gmin", "Gmax/Gmin (ratio)"),
    ("dw_min", "dw_min", "dw_min (normalised weight)"),
    ("asymmetry", "up/down step at w=0", "Δw_up/Δw_down (ratio)"),
    ("symmetry_point", "symmetry point", "SP (normalised weight)"),
    ("c2c_noise", "c2c noise", "c2c noise (fraction of step)"),
    ("n_up", "usable pulses (min of up/down)", "pulses (count)"),
)
"""(metric, panel title, y label with its unit) of :func:`population_figure`."""


def population_figure(metrics: Sequence[RunMetrics]) -> Figure:
    """Metrics vs pulse width for several devices: one colour per device, a marker per
    run, a line through the per-width medians; flagged fits drawn hollow."""
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), layout="constrained")
    devices = sorted({m.device_id for m in metrics})
    for ax, (key, label, ylabel) in zip(axes.ravel(), POPULATION_PANELS, strict=True):
        for k, dev in enumerate(devices):
            mine = sorted((m for m in metrics if m.device_id == dev),
                          key=lambda m: m.pulse_width_s)
            pw = np.array([m.pulse_width_s for m in mine])
            if key == "n_up":
                values = np.array([min(m.n_up, m.n_down) for m in mine], dtype=float)
            else:
                values = np.array([getattr(m, key) for m in mine], dtype=float)
            color = f"C{k % 10}"
            ok = np.array([m.quality == "ok" for m in mine])
            ax.semilogx(pw[ok], values[ok], "o", color=color)
            ax.semilogx(pw[~ok], values[~ok], "o", mfc="none", color=color)
            widths = np.unique(pw)
            med = [float(np.median(values[pw == w])) for w in widths]
            ax.semilogx(widths, med, "-", color=color, lw=1, label=dev)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("pulse width (s)")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    # every panel draws every device: one key for the figure, beside the panels
    fig.legend(*axes.ravel()[0].get_legend_handles_labels(), loc="outside right upper",
               fontsize=7, title="device\n(hollow: flagged fit)", title_fontsize=7)
    fig.suptitle(f"{len(metrics)} fitted runs of {len(devices)} devices: metrics vs pulse width")
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Save as PNG (and close the figure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
