"""Device populations in a study report: results and device metrics across devices.

A study over many devices of one pulse width (e.g. every device file of a fitted folder)
asks how much the result depends on the device, not only on the seed.  Each device's
runs are first averaged over its seeds, so every device weighs the same; the spread is
then taken across devices.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from pulsetrain.devices.lut import LutDevice
from pulsetrain.measurements.sweep import format_seconds

FIGURE_STEM = "population"
"""Stem of the figure file the section's Markdown links to (``figures/population.png``)."""

MIN_DEVICES = 2
"""Distinct devices a pulse width needs to count as a population."""

DEVICE_METRICS = (("gmax_gmin", "Gmax/Gmin", "Gmax/Gmin (ratio)"),
                  ("dw_min", "dw_min", "dw_min (normalised weight)"),
                  ("symmetry_point", "symmetry point", "SP (normalised weight)"))
"""Device metrics whose spread the section shows: key, title, axis label."""


METRIC_RANGES = {"gmax_gmin": (1.0, math.inf), "dw_min": (0.0, math.inf),
                 "symmetry_point": (-1.0, 1.0)}
"""Valid range of each device metric (SP: a normalised weight in [-1, 1]); the
figure's ± std bars are clipped to it."""


def _width_key(pulse_width_s: float) -> float:
    """A pulse width rounded to 4 significant digits, so that devices measured at one
    nominal width group together whatever the float noise of their files."""
    return float(f"{pulse_width_s:.4g}")


def _device_metric(device: LutDevice, key: str) -> float:
    """A device metric (NaN where the device file has none; dw_min from the model)."""
    value = device.metrics.get(key)
    if value is None and key == "dw_min":
        return device.dw_min
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _pct(mean: float, std: float) -> str:
    return "–" if math.isnan(mean) else f"{100 * mean:.1f} ± {100 * std:.1f}"


def _pct_range(lo: float, hi: float) -> str:
    return "–" if math.isnan(lo) else f"{100 * lo:.1f}–{100 * hi:.1f}"


def _joules(mean: float, std: float) -> str:
    return "–" if math.isnan(mean) else f"{mean:.2e} ± {std:.1e}"


def _joules_range(lo: float, hi: float) -> str:
    return "–" if math.isnan(lo) else f"{lo:.2e}–{hi:.2e}"


def _spread(vals: np.ndarray) -> str:
    """``mean ± std`` (sample std; float noise below 1e-9 of the mean shows as 0), the
    value itself for one, ``–`` for none."""
    if vals.size == 0:
        return "–"
    mean = float(vals.mean())
    if vals.size == 1:
        return f"{mean:.3g}"
    std = float(vals.std(ddof=1))
    return f"{mean:.3g} ± {0.0 if std <= 1e-9 * abs(mean) else std:.2g}"


def _seeds(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}–{hi}"


def population_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (pulse width, algorithm[, recipe]) with at least :data:`MIN_DEVICES` distinct
    devices: ``devices``, ``seeds_min``/``seeds_max`` (seeds per device), and
    ``{final_test_acc,total_energy_j}_{mean,std,min,max}`` across the devices' seed
    means (std: sample std, ddof 1; accuracy as a fraction, energy in joules).

    ``runs``: :func:`pulsetrain.study.analysis.summarise_runs`'s frame.  A ``recipe``
    column with more than one value is a grouping key too (recipes are not mixed).
    """
    df = runs.dropna(subset=["pulse_width_s"])
    if df.empty:
        return pd.DataFrame()
    df = df.assign(width_s=df.pulse_width_s.astype(float).map(_width_key),
                   final_test_acc=pd.to_numeric(df.final_test_acc, errors="coerce"),
                   total_energy_j=pd.to_numeric(df.total_energy_j, errors="coerce"))
    keys = ["width_s", "algorithm"]
    if "recipe" in df.columns and df.recipe.nunique() > 1:
        keys.append("recipe")
    per_device = df.groupby([*keys, "device"], sort=True).agg(
        final_test_acc=("final_test_acc", "mean"), total_energy_j=("total_energy_j", "mean"),
        seeds=("seed", "nunique")).reset_index()
    grouped = per_device.groupby(keys, sort=True)
    out = grouped.agg(devices=("device", "nunique"), seeds_min=("seeds", "min"),
                      seeds_max=("seeds", "max"))
    for col in ("final_test_acc", "total_energy_j"):
        stats = grouped[col].agg(["mean", "std", "min", "max"])
        stats.columns = pd.Index([f"{col}_{s}" for s in stats.columns])
        out = out.join(stats)
    return out[out.devices >= MIN_DEVICES].reset_index()


def population_section(runs: pd.DataFrame, devices: list[LutDevice]
                       ) -> tuple[list[str], Figure | None]:
    """The report's "Device population" section: Markdown lines and a figure.

    Final test accuracy and total energy per pulse width and algorithm, across devices
    (:func:`population_table`), the spread of the device metrics per pulse width, and a
    link to ``figures/population.png`` (:data:`FIGURE_STEM`: the caller saves the
    figure there).  ``([], None)`` when no pulse width has :data:`MIN_DEVICES` distinct
    devices.  ``devices``: the study's devices (for their metrics; matched to runs by
    name).
    """
    table = population_table(runs)
    if table.empty:
        return [], None
    widths = sorted(set(table.width_s))
    n_dev = int(runs[runs.pulse_width_s.notna()].device.nunique())
    lines = ["## Device population", "",
             f"{n_dev} devices; {len(widths)} pulse width(s) with at least {MIN_DEVICES} "
             "devices (a device is a device model, one per device file: two measured runs "
             "of one physical device, like the built-in 20 ns a and b, count as two). "
             "Each device's runs are averaged over its seeds first, then the "
             "spread is across devices: mean ± std (sample std), min–max. Pulse widths with "
             "one device only are left out here (see the summary).", "",
             "| pulse width | algorithm | devices | seeds per device | test acc (%) | "
             "test acc min–max (%) | total energy (J) | total energy min–max (J) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        algo = f"{r['algorithm']} ({r['recipe']})" if "recipe" in r else r["algorithm"]
        acc = [float(r[f"final_test_acc_{s}"]) for s in ("mean", "std", "min", "max")]
        joules = [float(r[f"total_energy_j_{s}"]) for s in ("mean", "std", "min", "max")]
        lines.append(
            f"| {format_seconds(float(r['width_s']))} | {algo} | {r['devices']} | "
            f"{_seeds(int(r['seeds_min']), int(r['seeds_max']))} | {_pct(*acc[:2])} | "
            f"{_pct_range(*acc[2:])} | {_joules(*joules[:2])} | {_joules_range(*joules[2:])} |")
    metrics = _metrics_frame(devices)
    if not metrics.empty:
        lines += ["", "Device metrics across the devices of each pulse width "
                  "(mean ± std, sample std):", "",
                  "| pulse width | devices | " + " | ".join(t for _, t, _ in DEVICE_METRICS)
                  + " |", "|---|---|" + "---|" * len(DEVICE_METRICS)]
        for width in sorted(metrics.width_s.unique()):
            group = metrics[metrics.width_s == width]
            cells = []
            for key, _, _ in DEVICE_METRICS:
                cells.append(_spread(group[key].dropna().to_numpy(dtype=float)))
            lines.append(f"| {format_seconds(float(width))} | {len(group)} | "
                         + " | ".join(cells) + " |")
    lines += ["", "Device metrics vs pulse width, one point per device (black: mean ± std "
              "across the devices of a width).", "",
              f"![device population](figures/{FIGURE_STEM}.png)", ""]
    return lines, population_figure(devices)


def _metrics_frame(devices: list[LutDevice]) -> pd.DataFrame:
    """One row per device with a pulse width: name, width_s and :data:`DEVICE_METRICS`."""
    rows = [{"device": d.name, "width_s": _width_key(d.pulse_width_s),
             **{key: _device_metric(d, key) for key, _, _ in DEVICE_METRICS}}
            for d in devices if d.pulse_width_s]
    return pd.DataFrame(rows)


def population_figure(devices: list[LutDevice]) -> Figure:
    """Gmax/Gmin, dw_min and symmetry point vs pulse width: one point per device (spread
    sideways a little where devices share a width) and the mean ± std of each width."""
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, len(DEVICE_METRICS))
    metrics = _metrics_frame(devices)
    for ax, (key, title, label) in zip(axes, DEVICE_METRICS, strict=True):
        ax.set_title(title)
        ax.set_ylabel(label)
        ax.set_xlabel("pulse width (s)")
        ax.set_xscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_minor_formatter(NullFormatter())
        if metrics.empty or metrics[key].isna().all():
            ax.text(0.5, 0.5, f"no device has {title}", ha="center", va="center",
                    transform=ax.transAxes)
            continue
        for width in sorted(metrics.width_s.unique()):
            vals = metrics[metrics.width_s == width][key].dropna().to_numpy(dtype=float)
            if vals.size == 0:
                continue
            w = float(width)
            # ± 8 % in pulse width (a fraction of a decade): points stay readable
            offsets = np.linspace(-1, 1, vals.size) * 0.035 if vals.size > 1 else np.zeros(1)
            ax.plot(w * 10 ** offsets, vals, "o", color="C0", alpha=0.6, ms=5)
            if vals.size > 1:
                mean, std = float(vals.mean()), float(vals.std(ddof=1))
                lo, hi = METRIC_RANGES.get(key, (-math.inf, math.inf))
                yerr = [[min(std, mean - lo)], [min(std, hi - mean)]]  # clipped to the range
                ax.errorbar([w], [mean], yerr=yerr, fmt="_",
                            color="k", ms=14, capsize=4, lw=1.5)
    return fig
