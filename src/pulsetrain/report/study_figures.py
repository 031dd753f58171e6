"""Figures of a study (matplotlib; each function returns a Figure)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox
from numpy.typing import ArrayLike

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.errors import PulsetrainError
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.report.device_figures import legend_outside, unit_scale
from pulsetrain.study.analysis import pareto_front
from pulsetrain.training.trainer import read_checkpoint

ALGO_STYLE = {"sgd": ("C3", "o"), "mixed-precision": ("C0", "s"), "sp-shift": ("C2", "^"),
              "sp-shift (reported SP)": ("C4", "v"), "float": ("0.3", "x")}

MIN_ACCURACY_SPAN = 5.0
"""Smallest range (percentage points) an accuracy axis shows, however close the values."""

ENERGY_PARTS = (("programming_energy_j", "programming pulses"),
                ("sp_estimation_energy_j", "SP estimation"),
                ("digital_energy_j", "digital operations"),
                ("read_energy_j", "array reads"))
"""Columns of a run's energy (J) that :func:`energy_breakdown` stacks, with their names."""


def algo_order(name: str) -> tuple[int, str]:
    """Sort key of algorithm labels: the styled ones first, in style order."""
    order = list(ALGO_STYLE)
    return (order.index(name) if name in order else len(order), name)


def device_label(entry: str | Path) -> str:
    """The name figures show for a study's device entry (built-in name or device file):
    the device's own name; the file's stem when the device has none usable or cannot
    be read (never the path)."""
    try:
        name = resolve_device(entry).name
    except PulsetrainError:
        name = ""
    if not name.strip() or "/" in name or "\\" in name:
        return Path(str(entry)).stem
    return name


def _pw_colors(devices: list[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("viridis")
    n = max(len(devices) - 1, 1)
    return {d: cmap(k / n) for k, d in enumerate(devices)}


def accuracy_limits(values_pct: ArrayLike) -> tuple[float, float]:
    """Y range (%) of an accuracy axis: the values with a margin, at least
    ``MIN_ACCURACY_SPAN`` points wide, inside [0, 100]."""
    v = np.asarray(values_pct, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0, 100.0
    lo, hi = float(np.clip(v.min(), 0, 100)), float(np.clip(v.max(), 0, 100))
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if hi - lo < MIN_ACCURACY_SPAN:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - MIN_ACCURACY_SPAN / 2, mid + MIN_ACCURACY_SPAN / 2
    if hi > 100:
        lo, hi = lo - (hi - 100), 100.0
    if lo < 0:
        lo, hi = 0.0, min(hi - lo, 100.0)
    return lo, hi


def plot_vs_width(ax: Axes, pulse_width_s: ArrayLike, values: ArrayLike, *, color: Any,
                  marker: str, linestyle: str = "-", yerr: ArrayLike | None = None
                  ) -> Any | None:
    """A marker per point (pulse width s, value) and a line through the per-width means:
    two devices at one width are never joined to each other. Non-finite points and
    widths ≤ 0 are left out. Returns the legend handle, or ``None`` if nothing was drawn."""
    pw = np.asarray(pulse_width_s, dtype=float)
    val = np.asarray(values, dtype=float)
    ok = np.isfinite(pw) & (pw > 0) & np.isfinite(val)
    if not ok.any():
        return None
    pw, val = pw[ok], val[ok]
    if yerr is None:
        (points,) = ax.plot(pw, val, marker=marker, linestyle="none", color=color)
        handle: Any = points
    else:
        err = np.asarray(yerr, dtype=float)[ok]
        handle = ax.errorbar(pw, val, yerr=np.where(np.isfinite(err), err, 0.0),
                             marker=marker, linestyle="none", color=color)
    widths = np.unique(pw)
    if len(widths) > 1:
        means = [float(val[pw == w].mean()) for w in widths]
        (line,) = ax.plot(widths, means, linestyle=linestyle, color=color)
        handle = (handle, line)
    return handle


def _device_names(devices: list[str]) -> dict[str, str]:
    """Entry → shown name (:func:`device_label`); entries sharing a name get their
    position in ``devices`` added."""
    names = {d: device_label(d) for d in devices}
    for entry, name in list(names.items()):
        if list(names.values()).count(name) > 1:
            names[entry] = f"{name} [{devices.index(entry) + 1}]"
    return names


def device_panel(devices: list[str]) -> Figure:
    """Response curves of every device and SP / dw_min / Gmax/Gmin vs pulse width."""
    devs = [resolve_device(d) for d in devices]
    colors = _pw_colors(devices)
    names = _device_names(devices)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.4), layout="constrained")
    for entry, d in zip(devices, devs, strict=True):
        grid = np.linspace(d.w_min, d.w_max, 200)
        width = format_seconds(d.pulse_width_s) if d.pulse_width_s else ""
        label = names[entry] if width in names[entry] else f"{names[entry]} ({width})"
        axes[0].plot(grid, d.step_up(grid), "-", color=colors[entry], label=label)
        axes[0].plot(grid, d.step_down(grid), "--", color=colors[entry])
    axes[0].set_xlabel("weight w (normalised)")
    axes[0].set_ylabel("|Δw| per pulse (normalised weight)")
    axes[0].set_title("device response (solid: up, dashed: down)")
    legend_outside(axes[0], fontsize=7)
    pw = np.array([d.pulse_width_s or np.nan for d in devs])
    keyed: list[tuple[Any, str]] = []
    for ax_i, key, label, color, marker, ls in (
            (1, "symmetry_point", "symmetry point", "C0", "o", "-"),
            (1, "dw_min", "dw_min", "C1", "s", "--"),
            (2, "gmax_gmin", "Gmax/Gmin", "C0", "o", "-")):
        vals = np.array([d.metrics.get(key, np.nan) for d in devs], dtype=float)
        handle = plot_vs_width(axes[ax_i], pw, vals, color=color, marker=marker, linestyle=ls)
        if handle is not None and ax_i == 1:
            keyed.append((handle, label))
    axes[1].set_title("symmetry point and dw_min")
    axes[1].set_ylabel("SP, dw_min (normalised weight)")
    if keyed:
        legend_outside(axes[1], *zip(*keyed, strict=True))
    axes[2].set_title("Gmax/Gmin")
    axes[2].set_ylabel("Gmax/Gmin (ratio)")
    for ax in axes[1:]:
        ax.set_xscale("log")
        ax.set_xlabel("pulse width (s)")
        ax.grid(alpha=0.3, which="both")
        if not np.isfinite(pw).any():
            ax.text(0.5, 0.5, "no device has a pulse width", ha="center", va="center",
                    transform=ax.transAxes)
    return fig


def accuracy_curves(curves: dict[tuple[str, str], list[dict[str, Any]]],
                    devices: list[str]) -> Figure:
    """Test accuracy vs epoch: one panel per algorithm (two panels a row, 4.8 × 3.4 in
    each, so that at 110 dpi the figure is at most ~1060 px wide and its text prints at
    its point size), one line per device (seed 0) in a qualitative palette (tab10; every
    line of a panel its own colour for up to 10 devices)."""
    algos = sorted({a for a, _ in curves}, key=algo_order)
    palette = plt.get_cmap("tab10")
    colors = {d: palette(k % 10) for k, d in enumerate(devices)}
    names = _device_names(devices)
    cols = min(max(len(algos), 1), 2)
    rows = -(-max(len(algos), 1) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.4 * rows), squeeze=False,
                             layout="constrained")
    axes = [list(grid.ravel()[:max(len(algos), 1)])]
    for extra in grid.ravel()[max(len(algos), 1):]:
        extra.remove()  # an odd panel count leaves one cell empty: no bogus axis
    for ax, algo in zip(axes[0], algos, strict=False):
        for dev in devices:
            epochs = curves.get((algo, dev))
            if not epochs:
                continue
            ax.plot([m["epoch"] for m in epochs], [100 * m["test_acc"] for m in epochs],
                    "-o", ms=3, color=colors[dev], label=names[dev])
        ax.set_title(algo)
        legend_outside(ax, fontsize=8)
    if not algos:
        axes[0][0].text(0.5, 0.5, "no finished run", ha="center", va="center",
                        transform=axes[0][0].transAxes)
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    return fig


def energy_per_pulse(runs: pd.DataFrame) -> Figure:
    """Energy per pulse vs pulse width (log–log), up and down pulses."""
    per_dev = runs.dropna(subset=["energy_per_pulse_up_j"]).drop_duplicates("device")
    per_dev = per_dev.sort_values("pulse_width_s")
    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    keyed = []
    for column, label, color, marker, ls in (
            ("energy_per_pulse_up_j", "up (LTP)", "C0", "o", "-"),
            ("energy_per_pulse_down_j", "down (LTD)", "C1", "s", "--")):
        values = pd.to_numeric(per_dev[column], errors="coerce")
        handle = plot_vs_width(ax, per_dev.pulse_width_s.astype(float), values, color=color,
                               marker=marker, linestyle=ls)
        if handle is not None:
            keyed.append((handle, label))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pulse width (s)")
    ax.set_ylabel("energy per pulse (J)")
    ax.set_title("energy per pulse (line: mean per width)")
    ax.grid(alpha=0.3, which="both")
    if keyed:
        legend_outside(ax, *zip(*keyed, strict=True))
    else:
        ax.text(0.5, 0.5, "no analog run with a pulse energy", ha="center", va="center",
                transform=ax.transAxes)
    return fig


def energy_tradeoff(summary: pd.DataFrame) -> Figure:
    """Total energy and energy-to-target vs pulse width; epochs-to-target alongside."""
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.3), layout="constrained")
    several = summary.recipe.nunique() > 1 if "recipe" in summary else False
    keys = ["algorithm", "recipe"] if "recipe" in summary else ["algorithm"]
    panels = (("total_energy_j", "total training energy", "energy (J)"),
              ("energy_to_target_j", "energy to target", "energy (J)"),
              ("epochs_to_target", "epochs to target", "epochs"))
    analog = summary[summary.algorithm != "float"]
    keyed: list[list[tuple[Any, str]]] = [[] for _ in panels]
    groups = sorted(analog.groupby(keys), key=lambda kg: algo_order(str(kg[0][0])))
    for key, group in groups:
        algo, recipe = (key[0], key[1]) if len(keys) == 2 else (key[0], "measured")
        color, marker = ALGO_STYLE.get(str(algo), ("k", "o"))
        label = f"{algo} [{recipe}]" if several else str(algo)
        for k, (column, _, _) in enumerate(panels):
            mean = pd.to_numeric(group[f"{column}_mean"], errors="coerce")
            std = pd.to_numeric(group[f"{column}_std"], errors="coerce")
            handle = plot_vs_width(axes[k], group.pulse_width_s.astype(float), mean, yerr=std,
                                   color=color, marker=marker,
                                   linestyle="-" if recipe == "measured" else "--")
            if handle is not None:
                keyed[k].append((handle, label))
    for ax, (column, title, ylabel), drawn in zip(axes, panels, keyed, strict=True):
        ax.set_xscale("log")
        values = pd.to_numeric(analog[f"{column}_mean"], errors="coerce")
        if not (values > 0).any():
            ax.text(0.5, 0.5, "no run reached the target" if "target" in title
                    else "no data", ha="center", va="center", transform=ax.transAxes)
        elif "energy" in title:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("pulse width (s)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
        if drawn:
            legend_outside(ax, *zip(*drawn, strict=True))
    axes[2].yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def energy_accuracy_scatter(runs: pd.DataFrame) -> Figure:
    """Final accuracy vs total energy per run, each labelled with its device's width label
    (``20ns-a``; labels placed apart); the Pareto front as a staircase through every
    non-dominated run in order of energy."""
    energy = pd.to_numeric(runs.total_energy_j, errors="coerce")
    acc = pd.to_numeric(runs.final_test_acc, errors="coerce")
    keep = (runs.algorithm != "float") & (energy > 0) & acc.notna()
    r = runs[keep].assign(plot_label=run_labels(runs)[keep], plot_energy=energy[keep],
                          plot_acc=100 * acc[keep])
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    anchors: list[tuple[str, float, float]] = []
    for algo in sorted(r.algorithm.unique(), key=lambda a: algo_order(str(a))):
        group = r[r.algorithm == algo]
        color, marker = ALGO_STYLE.get(str(algo), ("k", "o"))
        ax.scatter(group["plot_energy"], group["plot_acc"], color=color, marker=marker,
                   label=algo, zorder=3)
        for label, same in group.groupby("plot_label", sort=False):  # one label a device
            first = same.sort_values("seed").iloc[0] if "seed" in same else same.iloc[0]
            anchors.append((str(label), float(first["plot_energy"]), float(first["plot_acc"])))
    if len(r):
        e, a = r["plot_energy"].to_numpy(dtype=float), r["plot_acc"].to_numpy(dtype=float)
        front = pareto_front(e, a)
        points = sorted(set(zip(e[front].tolist(), a[front].tolist(), strict=True)))
        ax.plot([p[0] for p in points], [p[1] for p in points], "k--", lw=1,
                drawstyle="steps-post", marker="o", ms=10, mfc="none", mew=0.8,
                label="Pareto front", zorder=2)
    else:
        ax.text(0.5, 0.5, "no analog run with an energy", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xscale("log")
    ax.set_ylim(*accuracy_limits(r["plot_acc"]))
    ax.set_xlabel("total training energy (J)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("energy vs accuracy")
    ax.grid(alpha=0.3, which="both")
    legend_outside(ax)
    place_labels(ax, anchors)
    return fig


def run_labels(runs: pd.DataFrame) -> pd.Series:
    """Per run, its device as figures name it: the ``pulse_width`` label (``20ns-a``), else
    the formatted width, else the device's name; ``[recipe]`` added when the runs mix
    recipes, and the device's name where two devices would share a label."""
    def base(row: pd.Series) -> str:
        label = row.get("pulse_width")
        if isinstance(label, str) and label.strip():
            return label
        try:
            width = float(row.get("pulse_width_s"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            width = math.nan
        if math.isfinite(width) and width > 0:
            return format_seconds(width)
        return device_label(str(row["device"])) if "device" in row else "?"

    if runs.empty:
        return pd.Series([], index=runs.index, dtype=object)
    labels = runs.apply(base, axis=1).astype(str)
    if "recipe" in runs and runs.recipe.nunique() > 1:
        labels = labels + " [" + runs.recipe.astype(str) + "]"
    if "device" in runs:
        shared = runs.groupby(labels).device.transform("nunique") > 1
        labels[shared] = labels[shared] + " " + runs.device[shared].map(
            lambda d: device_label(str(d)))
    return labels


_LABEL_OFFSETS = [(r * dx, r * dy) for r in (4, 8, 13, 19, 26, 34, 43)
                  for dx, dy in ((0.8, 0.6), (0.8, -0.6), (-0.8, 0.6), (-0.8, -0.6),
                                 (1, 0), (-1, 0), (0, 1), (0, -1))]
"""Where :func:`place_labels` tries a label, in points from its point, nearest first."""


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (px²) the two boxes share."""
    w = float(min(a.x1, b.x1) - max(a.x0, b.x0))
    h = float(min(a.y1, b.y1) - max(a.y0, b.y0))
    return max(w, 0.0) * max(h, 0.0)


def place_labels(ax: Axes, anchors: list[tuple[str, float, float]],
                 fontsize: float = 6.5) -> list[Annotation]:
    """Annotate each ``(text, x, y)`` (data coordinates) beside its point so that no
    label overlaps another or a marker of the axes: the nearest free spot of
    ``_LABEL_OFFSETS`` inside the axes (else the least crowded). Lays the figure out
    first; call it after everything else is drawn."""
    fig = ax.figure  # (get_figure(root=True) needs matplotlib ≥ 3.10)
    assert isinstance(fig, Figure)
    fig.canvas.draw()  # constrained layout and limits final: display coordinates hold
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    markers = _marker_boxes(ax)
    gap = 1.0  # px kept between labels
    placed: list[Bbox] = []
    out: list[Annotation] = []
    for text, x, y in sorted(anchors, key=lambda t: (t[1], t[2])):
        ann = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points",
                          fontsize=fontsize)
        ann.set_in_layout(False)  # labels must not move the axes they were placed in
        best: tuple[float, tuple[float, float]] | None = None
        for dx, dy in _LABEL_OFFSETS:
            _set_offset(ann, dx, dy)
            box = ann.get_window_extent(renderer)
            padded = box.padded(gap)
            cost = 100 * sum(_overlap(padded, p) for p in placed) + sum(
                _overlap(box, m) for m in markers)
            inside = Bbox.intersection(box, frame)
            cost += 1000 * (box.width * box.height - (
                inside.width * inside.height if inside is not None else 0.0))
            if best is None or cost < best[0]:
                best = (cost, (dx, dy))
            if cost == 0:
                break
        assert best is not None
        _set_offset(ann, *best[1])
        placed.append(ann.get_window_extent(renderer))
        out.append(ann)
    return out


def _marker_boxes(ax: Axes) -> list[Bbox]:
    """Display boxes (px) of every marker the axes draws: scatter points and the markers
    of lines."""
    px_per_pt = ax.figure.dpi / 72  # type: ignore[union-attr]
    centres: list[np.ndarray] = []
    halves: list[np.ndarray] = []
    for c in ax.collections:
        xy = np.asarray(c.get_offsets(), dtype=float)
        if len(xy):
            sizes_of = getattr(c, "get_sizes", None)  # scatter: marker area s in pt²
            area = np.asarray(sizes_of() if sizes_of is not None else [36.0],
                              dtype=np.float64)
            centres.append(xy)
            halves.append(np.sqrt(np.resize(area, len(xy))) / 2)
    for line in ax.get_lines():
        if line.get_marker() not in (None, "", " ", "None", "none"):
            xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
            centres.append(xy)
            halves.append(np.full(len(xy), line.get_markersize() / 2))
    if not centres:
        return []
    xy = ax.transData.transform(np.vstack(centres))
    half = np.concatenate(halves) * px_per_pt
    return [Bbox.from_bounds(x - h, y - h, 2 * h, 2 * h)
            for (x, y), h in zip(xy, half, strict=True) if np.isfinite([x, y]).all()]


def _set_offset(ann: Annotation, dx: float, dy: float) -> None:
    """Put an annotation's text ``(dx, dy)`` points from its point, aligned away from it."""
    ann.xyann = (dx, dy)
    ann.set_horizontalalignment("left" if dx > 0 else "right" if dx < 0 else "center")
    ann.set_verticalalignment("bottom" if dy > 0 else "top" if dy < 0 else "center")


def weight_histograms(checkpoints: dict[tuple[str, str], Path], devices: list[str]) -> Figure:
    """Last-layer device states after training, without (sgd) and with (sp-shift) SP
    shifting; the device's SP dashed. One row per device: a panel without a checkpoint
    says why instead of staying empty; a column only for an algorithm with a checkpoint."""
    algos = [a for a in ("sgd", "sp-shift") if any(k[0] == a for k in checkpoints)]
    names = _device_names(devices)
    n_rows, n_cols = max(len(devices), 1), max(len(algos), 1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5.2 * n_cols, 1.9 * n_rows + 1.2),
                             squeeze=False, layout="constrained")
    if not algos or not devices:
        _say(axes[0][0], "no sgd or sp-shift checkpoint in this study: no weights to show")
    for r, dev in enumerate(devices if algos else []):
        try:
            sp = resolve_device(dev).metrics.get("symmetry_point")
        except PulsetrainError:
            sp = None
        for c, algo in enumerate(algos):
            ax = axes[r][c]
            ax.set_title(f"{names[dev]} · {algo}", fontsize=8)
            path = checkpoints.get((algo, dev))
            if path is None:
                _say(ax, f"no checkpoint for {names[dev]}: no finished {algo} run of it "
                     "saved one")
                continue
            try:
                view = read_checkpoint(path)
                acc = float(view.history[-1]["test_acc"])
            except (OSError, RuntimeError, EOFError, KeyError, IndexError,
                    pickle.UnpicklingError) as exc:
                _say(ax, f"no checkpoint for {names[dev]}: {Path(path).name} unreadable "
                     f"({type(exc).__name__})")
                continue
            ax.hist(view.last_layer(view.device_states).numpy(), bins=60, range=(-1, 1),
                    color="C0", alpha=0.75, label="device state")
            if algo == "sp-shift":
                ax.hist(view.last_layer(view.effective_weights).numpy(), bins=60, range=(-1, 1),
                        color="C2", alpha=0.5, label="effective weight (w − w_ref)")
            if sp is not None:
                ax.axvline(sp, color="k", ls="--", lw=1, label="device SP")
            ax.set_title(f"{names[dev]} · {algo} · test {100 * acc:.1f} %"
                         + (f" · SP {sp:.2f}" if sp is not None else ""), fontsize=8)
            ax.set_ylabel("count", fontsize=7)
            if r == len(devices) - 1:
                ax.set_xlabel("last-layer weight (normalised)", fontsize=7)
            ax.tick_params(labelsize=7)
    key: dict[str, Artist] = {}
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            key.setdefault(label, handle)
    if key:
        fig.legend(list(key.values()), list(key), loc="outside lower center", ncol=len(key),
                   fontsize=8)
    fig.suptitle("last-layer weights after training: drift to the SP without shifting")
    return fig


def _say(ax: Axes, text: str) -> Text:
    """A panel with nothing to plot: ``text`` in its middle, no ticks."""
    ax.set_xticks([])
    ax.set_yticks([])
    return ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, wrap=True,
                   transform=ax.transAxes)


LOG_SPAN = 30.0
"""Ratio of the largest to the smallest total from which energy by part uses a log axis."""


def energy_breakdown(runs: pd.DataFrame) -> Figure | None:
    """Stacked horizontal bars of each run's energy by part (``ENERGY_PARTS``: programming
    pulses, SP estimation, digital periphery, read-out), one bar per device × algorithm
    (× recipe when the runs mix recipes; mean over seeds), labelled ``200us · sgd``,
    sorted by total (largest on top); axis in J, mJ, µJ or nJ as the data need, linear
    when the totals span under :data:`LOG_SPAN` (×30), logarithmic otherwise (so a
    3.95 mJ bar shows beside 1.56 J ones; segments then start at the axis' left edge).
    A missing or NaN part counts 0; ``None`` when ``runs`` has none of the parts."""
    present = [column for column, _ in ENERGY_PARTS if column in runs]
    if not present or runs.empty:
        return None
    parts = pd.DataFrame({column: pd.to_numeric(runs[column], errors="coerce").fillna(0.0)
                          if column in runs else 0.0 for column, _ in ENERGY_PARTS},
                         index=runs.index)
    labels = run_labels(runs) + " · " + runs.algorithm.astype(str)
    means = parts.groupby(labels, sort=False).mean()
    means = means.assign(total=means.sum(axis=1)).sort_values("total", kind="stable")
    factor, unit = unit_scale(means.total, "J")
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.3 * len(means)), layout="constrained")
    y = np.arange(len(means))
    left = np.zeros(len(means))
    totals = means.total.to_numpy(dtype=float) * factor
    positive = totals[totals > 0]
    log = positive.size > 1 and float(positive.max() / positive.min()) >= LOG_SPAN
    edge = float(positive.min()) / 3 if log else 0.0
    for k, (column, name) in enumerate(ENERGY_PARTS):
        width = means[column].to_numpy(dtype=float) * factor
        if not width.any():
            continue  # a part no run has: neither a bar segment nor a legend entry
        start = np.maximum(left, edge)
        ax.barh(y, np.maximum(left + width - start, 0.0), left=start, height=0.7,
                color=f"C{k}", label=name)
        left += width
    ax.set_yticks(y, [str(label) for label in means.index])
    ax.tick_params(axis="y", labelsize=8)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(edge, max(float(left.max()), 1e-12) * (1.5 if log else 1.03))
    ax.set_xlabel(f"energy per run ({unit})")
    several = "seed" in runs and runs.groupby(labels).seed.nunique().max() > 1
    ax.set_title("energy by part" + (" (mean over seeds)" if several else ""))
    ax.grid(alpha=0.3, axis="x")
    legend_outside(ax)
    return fig


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; close the figure."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths
