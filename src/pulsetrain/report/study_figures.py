"""Figures of a study (matplotlib; each function returns a Figure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.study.analysis import pareto_front
from pulsetrain.training.trainer import read_checkpoint

ALGO_STYLE = {"sgd": ("C3", "o"), "mixed-precision": ("C0", "s"), "sp-shift": ("C2", "^"),
              "sp-shift (reported SP)": ("C4", "v"), "float": ("0.3", "x")}


def algo_order(name: str) -> tuple[int, str]:
    """Sort key of algorithm labels: the styled ones first, in style order."""
    order = list(ALGO_STYLE)
    return (order.index(name) if name in order else len(order), name)


def _pw_colors(devices: list[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("viridis")
    n = max(len(devices) - 1, 1)
    return {d: cmap(k / n) for k, d in enumerate(devices)}


def device_panel(devices: list[str]) -> Figure:
    """Response curves of every device and SP / dw_min / Gmax/Gmin vs pulse width."""
    devs = [resolve_device(d) for d in devices]
    colors = _pw_colors(devices)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for entry, d in zip(devices, devs, strict=True):
        grid = np.linspace(d.w_min, d.w_max, 200)
        label = f"{format_seconds(d.pulse_width_s or 0)} {d.name}"
        axes[0].plot(grid, d.step_up(grid), "-", color=colors[entry], label=label)
        axes[0].plot(grid, d.step_down(grid), "--", color=colors[entry])
    axes[0].set_xlabel("w")
    axes[0].set_ylabel("|Δw| per pulse (solid: up, dashed: down)")
    axes[0].set_title("device response")
    axes[0].legend(fontsize=7)
    pw = np.array([d.pulse_width_s or np.nan for d in devs])
    for key, ax_i, label in (("symmetry_point", 1, "symmetry point"),
                             ("dw_min", 1, "dw_min"), ("gmax_gmin", 2, "Gmax/Gmin")):
        vals = np.array([d.metrics.get(key, np.nan) for d in devs], dtype=float)
        axes[ax_i].semilogx(pw, vals, "o-" if key != "dw_min" else "s--", label=label)
    axes[1].set_title("symmetry point and dw_min")
    axes[1].legend(fontsize=8)
    axes[2].set_title("Gmax/Gmin")
    for ax in axes[1:]:
        ax.set_xlabel("pulse width (s)")
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def accuracy_curves(curves: dict[tuple[str, str], list[dict[str, Any]]],
                    devices: list[str]) -> Figure:
    """Test accuracy vs epoch: one panel per algorithm, one line per device (seed 0)."""
    algos = sorted({a for a, _ in curves}, key=algo_order)
    colors = _pw_colors(devices)
    fig, axes = plt.subplots(1, len(algos), figsize=(5 * len(algos), 4), squeeze=False)
    for ax, algo in zip(axes[0], algos, strict=True):
        for dev in devices:
            epochs = curves.get((algo, dev))
            if not epochs:
                continue
            ax.plot([m["epoch"] for m in epochs], [100 * m["test_acc"] for m in epochs],
                    "-o", ms=3, color=colors[dev], label=resolve_device(dev).name)
        ax.set_title(algo)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def energy_per_pulse(runs: pd.DataFrame) -> Figure:
    """Energy per pulse vs pulse width (log–log), up and down pulses."""
    per_dev = runs.dropna(subset=["energy_per_pulse_up_j"]).drop_duplicates("device")
    per_dev = per_dev.sort_values("pulse_width_s")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(per_dev.pulse_width_s, per_dev.energy_per_pulse_up_j, "o-", label="up (LTP)")
    ax.loglog(per_dev.pulse_width_s, per_dev.energy_per_pulse_down_j, "s--",
              label="down (LTD)")
    ax.set_xlabel("pulse width (s)")
    ax.set_ylabel("energy per pulse (J)")
    ax.set_title("energy per pulse")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def energy_tradeoff(summary: pd.DataFrame) -> Figure:
    """Total energy and energy-to-target vs pulse width; epochs-to-target alongside."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    several = summary.recipe.nunique() > 1 if "recipe" in summary else False
    keys = ["algorithm", "recipe"] if "recipe" in summary else ["algorithm"]
    for key, group in summary.groupby(keys):
        algo, recipe = (key[0], key[1]) if len(keys) == 2 else (key[0], "measured")
        if algo == "float":
            continue
        color, marker = ALGO_STYLE.get(str(algo), ("k", "o"))
        line = marker + ("-" if recipe == "measured" else "--")
        label = f"{algo} [{recipe}]" if several else str(algo)
        g = group.sort_values("pulse_width_s")
        axes[0].errorbar(g.pulse_width_s, g.total_energy_j_mean, yerr=g.total_energy_j_std,
                         fmt=line, color=color, label=label)
        axes[1].errorbar(g.pulse_width_s, g.energy_to_target_j_mean,
                         yerr=g.energy_to_target_j_std, fmt=line, color=color, label=label)
        axes[2].errorbar(g.pulse_width_s, g.epochs_to_target_mean,
                         yerr=g.epochs_to_target_std, fmt=line, color=color, label=label)
    columns = ("total_energy_j_mean", "energy_to_target_j_mean", "epochs_to_target_mean")
    titles = ("total training energy (J)", "energy to target (J)", "epochs to target")
    analog = summary[summary.algorithm != "float"]
    for ax, title, col in zip(axes, titles, columns, strict=True):
        ax.set_xscale("log")
        values = pd.to_numeric(analog[col], errors="coerce")
        if not (values > 0).any():
            ax.text(0.5, 0.5, "no run reached the target" if "target" in title
                    else "no data", ha="center", va="center", transform=ax.transAxes)
        elif "energy" in title:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("pulse width (s)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def energy_accuracy_scatter(runs: pd.DataFrame) -> Figure:
    """Final accuracy vs total energy per run; the Pareto front marked."""
    r = runs[(runs.algorithm != "float") & (pd.to_numeric(runs.total_energy_j) > 0)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for algo, group in r.groupby("algorithm"):
        color, marker = ALGO_STYLE.get(str(algo), ("k", "o"))
        ax.scatter(group.total_energy_j, 100 * group.final_test_acc, color=color,
                   marker=marker, label=algo)
        for _, row in group.iterrows():
            ax.annotate(format_seconds(row.pulse_width_s), (row.total_energy_j,
                        100 * row.final_test_acc), fontsize=6, xytext=(3, 2),
                        textcoords="offset points")
    if len(r):
        e, a = r.total_energy_j.to_numpy(), r.final_test_acc.to_numpy()
        front = pareto_front(e, a)
        order = np.argsort(e[front])
        ax.plot(e[front][order], 100 * a[front][order], "k--", lw=1, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("total training energy (J)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("energy vs accuracy")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def weight_histograms(checkpoints: dict[tuple[str, str], Path], devices: list[str]) -> Figure:
    """Last-layer device states after training, without (sgd) and with (sp-shift) SP
    shifting; the device's SP dashed."""
    rows = [d for d in devices if any((a, d) in checkpoints for a in ("sgd", "sp-shift"))]
    fig, axes = plt.subplots(max(len(rows), 1), 2, figsize=(10, 1.9 * max(len(rows), 1)),
                             squeeze=False)
    for r, dev in enumerate(rows):
        sp = resolve_device(dev).metrics.get("symmetry_point")
        for c, algo in enumerate(("sgd", "sp-shift")):
            ax = axes[r][c]
            path = checkpoints.get((algo, dev))
            if path is None:
                ax.axis("off")
                continue
            view = read_checkpoint(path)
            ax.hist(view.device_states[-1].flatten().numpy(), bins=60, range=(-1, 1),
                    color="C0", alpha=0.75, label="device state")
            if algo == "sp-shift":
                ax.hist(view.effective_weights[-1].flatten().numpy(), bins=60, range=(-1, 1),
                        color="C2", alpha=0.5, label="effective weight")
            if sp is not None:
                ax.axvline(sp, color="k", ls="--", lw=1, label=f"SP {sp:.2f}")
            acc = view.history[-1]["test_acc"]
            ax.set_title(f"{resolve_device(dev).name} {algo} (test {100 * acc:.1f} %)",
                         fontsize=8)
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.legend(fontsize=6)
    fig.suptitle("last-layer weights after training: drift to the SP without shifting")
    fig.tight_layout()
    return fig


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; close the figure."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths
