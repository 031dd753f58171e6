"""Convergence and energy analysis of stored runs (pure functions over the store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.energy.accounting import pulse_energies_j, training_energy
from pulsetrain.energy.models import energy_model_for
from pulsetrain.energy.read import read_energy
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.store.sqlite import ResultStore
from pulsetrain.study.config import StudyConfig
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.registry import algorithm

RUN_COLUMNS = [
    "key", "device", "pulse_width_s", "algorithm", "lr", "seed", "epochs", "final_test_acc",
    "final_val_acc", "best_val_acc", "epochs_to_target", "epochs_to_99pct_final",
    "energy_per_pulse_up_j", "energy_per_pulse_down_j", "total_pulses", "total_energy_j",
    "energy_to_target_j", "pulses_to_target", "sp_estimation_pulses", "sp_estimation_energy_j",
    "digital_ops_total", "digital_energy_total_j", "recipe", "pulse_width", "read_energy_j",
    "periphery",
]


def algorithm_label(run: TrainConfig) -> str:
    """The algorithm as reports name it: its registry name, and for SP shifting at a
    given reference, which one (``sp-shift (reported SP)``, ``sp-shift (ref 0.15)``)."""
    if run.sp_reference is None:
        return run.algorithm
    if run.sp_reference == "reported":
        return f"{run.algorithm} (reported SP)"
    return f"{run.algorithm} (ref {run.sp_reference:g})"


def pulse_width_label(device: str, pulse_width_s: float | None) -> str:
    """``200us``, or ``20ns-a``/``20ns-b`` for two runs at one width (from the built-in
    name), whatever the recipe."""
    if pulse_width_s is None:
        return device
    width = format_seconds(pulse_width_s)
    tail = device.removesuffix("-thesis").rsplit(width, 1)
    return width + (tail[1] if len(tail) == 2 else "")


def convergence(epochs: list[dict[str, Any]], target: float) -> tuple[int | None, int]:
    """(first epoch with val_acc ≥ target or None, first epoch with val_acc ≥ 99 % of the
    final val_acc)."""
    to_target = next((m["epoch"] for m in epochs if m["val_acc"] >= target), None)
    final = epochs[-1]["val_acc"]
    to_99 = next(m["epoch"] for m in epochs if m["val_acc"] >= 0.99 * final)
    return to_target, to_99


def summarise_runs(store: ResultStore, cfg: StudyConfig) -> pd.DataFrame:
    """One row per finished run of the study (see ``RUN_COLUMNS``), with energies.

    ``total_energy_j`` is the training pulses' energy.  For SP shifting, the one-off
    cost of estimating every device's SP by alternating pulses is reported apart
    (``sp_estimation_pulses``, ``sp_estimation_energy_j``: half up, half down pulses).
    """
    rows = []
    for run in cfg.runs():
        key = run.key()
        if store.run_status(key) != "done":
            continue
        epochs = store.epochs(key)
        if not epochs:
            continue
        device = resolve_device(run.device)
        to_target, to_99 = convergence(epochs, cfg.target_accuracy)
        row: dict[str, Any] = {
            "key": key, "device": run.device, "pulse_width_s": device.pulse_width_s,
            "algorithm": algorithm_label(run), "lr": run.learning_rate, "seed": run.seed,
            "recipe": str(device.metrics.get("recipe", "measured")),
            "periphery": run.periphery,
            "read_energy_j": read_energy(epochs)[-1].get("read_energy_total_j"),
            "pulse_width": pulse_width_label(device.name, device.pulse_width_s),
            "epochs": len(epochs), "final_test_acc": epochs[-1]["test_acc"],
            "final_val_acc": epochs[-1]["val_acc"],
            "best_val_acc": max(m["val_acc"] for m in epochs),
            "epochs_to_target": to_target, "epochs_to_99pct_final": to_99,
            "total_pulses": epochs[-1]["pulses_total"],
        }
        if not algorithm(run.algorithm).analog:
            row.update(total_energy_j=0.0, energy_to_target_j=0.0 if to_target else None)
        else:
            model = energy_model_for(device, cfg.energy_model)
            e_up, e_down = pulse_energies_j(device, model)
            energy = training_energy(epochs, device, model, cfg.digital_energy_per_op_j)
            row.update(
                energy_per_pulse_up_j=e_up, energy_per_pulse_down_j=e_down,
                total_energy_j=energy[-1]["energy_total_j"],
                energy_to_target_j=energy[to_target - 1]["energy_total_j"] if to_target
                else None,
                pulses_to_target=epochs[to_target - 1]["pulses_total"] if to_target else None,
                digital_ops_total=energy[-1].get("digital_ops_total"),
                sp_estimation_pulses=epochs[-1].get("sp_estimation_pulses"),
                sp_estimation_energy_j=(epochs[-1]["sp_estimation_pulses"] * 0.5
                                        * (e_up + e_down)
                                        if "sp_estimation_pulses" in epochs[-1] else None),
                digital_energy_total_j=energy[-1].get("digital_energy_total_j"))
        rows.append(row)
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    return df.sort_values(["algorithm", "pulse_width_s", "device", "seed"]).reset_index(drop=True)


def summarise_study(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per (algorithm, device)."""
    if runs.empty:
        return runs
    metrics = ["final_test_acc", "epochs_to_target", "epochs_to_99pct_final", "total_pulses",
               "total_energy_j", "energy_to_target_j"]
    grouped = runs.groupby(["algorithm", "device", "pulse_width_s", "recipe"], sort=False)
    out = grouped[metrics].agg(["mean", "std"])
    out.columns = pd.Index([f"{col[0]}_{col[1]}" for col in out.columns])
    out["seeds"] = grouped.size()
    out["reached_target"] = grouped["epochs_to_target"].apply(lambda s: int(s.notna().sum()))
    return out.reset_index()


def load_study(directory: str | Path) -> tuple[StudyConfig, ResultStore]:
    """The config and store of a study folder."""
    directory = Path(directory)
    cfg = StudyConfig.model_validate(json.loads((directory / "study.json").read_text()))
    return cfg, ResultStore(directory / "results.sqlite")


def pareto_front(energy: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Mask of points not dominated (lower energy and higher accuracy)."""
    n = len(energy)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (energy <= energy[i]) & (accuracy >= accuracy[i]) & \
            ((energy < energy[i]) | (accuracy > accuracy[i]))
        keep[i] = not dominated.any()
    return keep
