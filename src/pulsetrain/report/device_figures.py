"""Figures of measured runs and fitted device models (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pulsetrain.devices.fit import DeviceFit
from pulsetrain.devices.metrics import RunMetrics
from pulsetrain.measurements.sweep import UP, format_seconds

UP_COLOR = "#1f77b4"
DOWN_COLOR = "#d62728"


def raw_figure(fit: DeviceFit) -> Figure:
    """Conductance vs pulse number of the fitted repetition; pulses outside the
    switching window (cutoffs row or automatic) shaded grey, amplitude on a second axis."""
    sweep = fit.clean.sweep
    n = np.arange(sweep.n_pulses)
    fig, ax = plt.subplots(figsize=(7, 4))
    g_us = sweep.conductance_s * 1e6
    outside = ~fit.clean.keep
    for k in np.flatnonzero(outside):
        ax.axvspan(k - 0.5, k + 0.5, color="0.88", lw=0)
    up = sweep.direction == UP
    ax.plot(n[up & ~outside], g_us[up & ~outside], ".", color=UP_COLOR,
            label="potentiation (negative pulses)")
    ax.plot(n[~up & ~outside], g_us[~up & ~outside], ".", color=DOWN_COLOR,
            label="depression (positive pulses)")
    source = fit.clean.window.source if fit.clean.window else "cutoff"
    ax.plot(n[outside], g_us[outside], ".", color="0.6",
            label=f"outside the {'automatic' if source == 'auto' else 'cutoffs'} window")
    ax.set_xlabel("pulse number")
    ax.set_ylabel("conductance G (µS)")
    ax2 = ax.twinx()
    ax2.plot(n, sweep.amplitude_v, "-", color="0.3", lw=0.8, alpha=0.6)
    ax2.set_ylabel("pulse amplitude (V)", color="0.3")
    ax.set_title(f"{sweep.label}, repetition {sweep.repetition}"
                 + (" (window: automatic)" if source == "auto" else ""), fontsize=10)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def response_figure(fit: DeviceFit) -> Figure:
    """Measured steps Δw vs state w per direction, the fitted lookup tables and the SP."""
    dev, clean, m = fit.device, fit.clean, fit.metrics
    fig, ax = plt.subplots(figsize=(7, 4.5))
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
    ax.set_ylabel("step per pulse |Δw|")
    ax.set_title(f"{dev.name}: response (dw_min {dev.dw_min:.3g}, "
                 f"up/down at 0: {m.asymmetry:.2f})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


SUMMARY_PANELS = (
    ("gmax_gmin", "Gmax/Gmin"),
    ("n_up", "usable pulses"),
    ("dw_min", "dw_min (weight units)"),
    ("asymmetry", "up/down step at w=0"),
    ("nl_ltp", "non-linearity 1/A"),
    ("symmetry_point", "symmetry point"),
    ("c2c_noise", "c2c noise (relative)"),
)


def summary_figure(metrics: Sequence[RunMetrics]) -> Figure:
    """Each metric vs pulse width (log x), one marker per run."""
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5))
    pw = np.array([m.pulse_width_s for m in metrics])
    for ax, (key, label) in zip(axes.ravel(), SUMMARY_PANELS, strict=False):
        values = np.array([getattr(m, key) for m in metrics], dtype=float)
        if key == "n_up":
            ax.semilogx(pw, values, "o", color=UP_COLOR, label="up")
            ax.semilogx(pw, [m.n_down for m in metrics], "s", color=DOWN_COLOR, label="down")
            ax.legend(fontsize=8)
        elif key == "nl_ltp":
            ax.semilogx(pw, values, "o", color=UP_COLOR, label="LTP")
            ax.semilogx(pw, [m.nl_ltd for m in metrics], "s", color=DOWN_COLOR, label="LTD")
            ax.legend(fontsize=8)
        elif key == "symmetry_point":
            ax.semilogx(pw, values, "o", color="k", label="SP (stable crossing)")
            ax.semilogx(pw, [m.symmetry_point_sim for m in metrics], "x", color="C2",
                        label="alternating pulses")
            ax.semilogx(pw, [m.symmetry_point_recipe for m in metrics], "^", color="C1",
                        mfc="none", label="thesis recipe (50 pulses)")
            ax.legend(fontsize=7)
        else:
            ax.semilogx(pw, values, "o", color="k")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("pulse width (s)")
        ax.grid(alpha=0.3, which="both")
    last = axes.ravel()[-1]
    last.axis("off")
    rows = [f"{format_seconds(m.pulse_width_s):>6}  run {m.run}" for m in metrics]
    last.text(0, 1, "runs:\n" + "\n".join(rows), va="top", family="monospace", fontsize=8)
    fig.suptitle(f"{metrics[0].device_id}: metrics vs pulse width")
    fig.tight_layout()
    return fig


POPULATION_PANELS = (
    ("gmax_gmin", "Gmax/Gmin"),
    ("dw_min", "dw_min (weight units)"),
    ("asymmetry", "up/down step at w=0"),
    ("symmetry_point", "symmetry point"),
    ("c2c_noise", "c2c noise (relative)"),
    ("n_up", "usable pulses (min of up/down)"),
)


def population_figure(metrics: Sequence[RunMetrics]) -> Figure:
    """Metrics vs pulse width for several devices: one colour per device, a marker per
    run, a line through the per-width medians; flagged fits drawn hollow."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    devices = sorted({m.device_id for m in metrics})
    for ax, (key, label) in zip(axes.ravel(), POPULATION_PANELS, strict=True):
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
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3, which="both")
    axes.ravel()[0].legend(fontsize=7, title="device (hollow: flagged fit)", title_fontsize=7)
    fig.suptitle(f"{len(metrics)} fitted runs of {len(devices)} devices: metrics vs pulse width")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Save as PNG (and close the figure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
