"""Convergence and energy analysis of stored runs (pure functions over the store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.devices.lut import LutDevice
from pulsetrain.energy.accounting import pulse_energies_j
from pulsetrain.energy.costs import DigitalEnergyModel, run_costs
from pulsetrain.energy.spec import build_energy_model
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.store.sqlite import ResultStore
from pulsetrain.study.config import StudyConfig
from pulsetrain.study.stats import mean_ci
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.registry import algorithm

RUN_COLUMNS = [
    "key", "device", "pulse_width_s", "pulse_width", "recipe", "algorithm", "lr", "seed",
    "periphery", "c2c_noise", "device_variation", "epochs", "final_test_acc",
    "final_val_acc", "best_val_acc", "at_chance",
    "epochs_to_target", "epochs_to_99pct_final", "energy_per_pulse_up_j",
    "energy_per_pulse_down_j", "total_pulses", "pulses_to_target", "sp_estimation_pulses",
    "digital_ops_total", "programming_energy_j", "sp_estimation_energy_j", "digital_energy_j",
    "read_energy_j", "total_energy_j", "energy_to_target_j", "energy_per_point_j",
    "rank_accuracy_per_joule",
]
"""Columns of ``runs.csv``.  Energies in joules; ``total_energy_j`` is every cost
(programming + SP estimation + digital + reads, :mod:`pulsetrain.energy.costs`),
``energy_per_point_j`` that total per accuracy point above chance; ``c2c_noise`` the
relative cycle-to-cycle noise the run trained with and ``device_variation`` its d2d
variation (:meth:`~pulsetrain.training.config.TrainConfig.noise`; empty for the float
baseline)."""

CHANCE = 0.1
"""Chance accuracy of the 10-class task."""

LEFT_CHANCE = 0.2
"""A run whose best validation accuracy stays below this never left chance
(``at_chance``): twice the chance level."""


def algorithm_label(run: TrainConfig) -> str:
    """The algorithm as reports name it: its registry name, and for SP shifting at a
    given reference, which one (``sp-shift (reported SP)``, ``sp-shift (ref 0.15)``)."""
    if run.sp_reference is None:
        return run.algorithm
    if run.sp_reference == "reported":
        return f"{run.algorithm} (reported SP)"
    return f"{run.algorithm} (ref {run.sp_reference:g})"


def run_label(cfg: StudyConfig, run: TrainConfig) -> str:
    """:func:`algorithm_label`, and where the study lists the algorithm more than once, what
    distinguishes this run's entry: its learning rate and/or the options whose values
    differ between the entries (``sgd (lr 0.2)``, ``sgd (lr 0.05, bl 31)``) — so that two
    entries are two pairs, not two seeds of one."""
    base = algorithm_label(run)
    same = [a for a in cfg.algorithms if a.name == run.algorithm]
    if len(same) < 2:
        return base
    parts = []
    if len({a.lr for a in same}) > 1:
        parts.append(f"lr {run.learning_rate:g}")
    for key in sorted({k for a in same for k in a.options} - {"sp_reference"}):
        if len({repr(a.options.get(key)) for a in same}) > 1:
            value = getattr(run, key, None)
            parts.append(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}")
    if not parts:
        return base
    if base.endswith(")"):
        return f"{base[:-1]}, {', '.join(parts)})"
    return f"{base} ({', '.join(parts)})"


def pulse_width_label(device: str, pulse_width_s: float | None) -> str:
    """``200us``, or ``20ns-a``/``20ns-b`` for two runs at one width (from the built-in
    name), whatever the recipe."""
    if pulse_width_s is None:
        return device
    width = format_seconds(pulse_width_s)
    tail = device.removesuffix("-thesis").rsplit(width, 1)
    return width + (tail[1] if len(tail) == 2 else "")


def convergence(epochs: list[dict[str, Any]], target: float) -> tuple[int | None, int | None]:
    """(first epoch with val_acc ≥ target, first epoch with val_acc ≥ 99 % of the final
    val_acc); each ``None`` where it does not apply — the second for a run that never
    left chance (best val_acc < :data:`LEFT_CHANCE`), where "converged" means nothing."""
    to_target = next((m["epoch"] for m in epochs if m["val_acc"] >= target), None)
    if max(m["val_acc"] for m in epochs) < LEFT_CHANCE:
        return to_target, None
    final = epochs[-1]["val_acc"]
    to_99 = next(m["epoch"] for m in epochs if m["val_acc"] >= 0.99 * final)
    return to_target, to_99


def _costs(cfg: StudyConfig, run: TrainConfig, device: LutDevice,
           epochs: list[dict[str, Any]], to_target: int | None) -> dict[str, Any]:
    """The energy columns of one analog run (every cost, :func:`run_costs`)."""
    model = build_energy_model(device, cfg.energy_model)
    e_up, e_down = pulse_energies_j(device, model)
    costs = run_costs(epochs, device, model, cfg.read_energy,
                      DigitalEnergyModel(cfg.digital_energy_per_op_j))
    last = costs[-1]
    return {
        "energy_per_pulse_up_j": e_up, "energy_per_pulse_down_j": e_down,
        "programming_energy_j": last["programming_energy_total_j"],
        "sp_estimation_energy_j": last["sp_estimation_energy_total_j"]
        if "sp_estimation_pulses" in epochs[-1] else None,
        "digital_energy_j": last["digital_energy_total_j"],
        "read_energy_j": last["read_energy_total_j"] if epochs[-1].get("reads") else None,
        "total_energy_j": last["energy_total_j"],
        "energy_to_target_j": costs[to_target - 1]["energy_total_j"] if to_target else None,
        "pulses_to_target": epochs[to_target - 1]["pulses_total"] if to_target else None,
        "digital_ops_total": _digital_ops(epochs[-1]),
        "sp_estimation_pulses": epochs[-1].get("sp_estimation_pulses"),
    }


def _digital_ops(metrics: dict[str, Any]) -> int | None:
    """Digital multiply-adds of a run so far: mixed precision's accumulator and the
    Tiki-Taka rules' buffer (``None`` for a run with neither)."""
    counts = [metrics[k] for k in ("digital_updates_total", "buffer_ops_total") if k in metrics]
    return int(sum(counts)) if counts else None


def energy_per_point(energy_j: pd.Series, accuracy: pd.Series, left_chance: pd.Series
                     ) -> pd.Series:
    """Energy (J) per percentage point of test ``accuracy`` (fraction) above
    :data:`CHANCE`; empty where ``left_chance`` is false, the accuracy is not above
    chance, or the energy is unknown."""
    above = 100 * (accuracy - CHANCE)
    return (energy_j / above).where(left_chance & (above > 0) & energy_j.notna())


def summarise_runs(store: ResultStore, cfg: StudyConfig) -> pd.DataFrame:
    """One row per finished run of the study (see :data:`RUN_COLUMNS`), with every cost.

    ``total_energy_j`` adds programming, SP estimation (SP shifting's one-off alternating
    pulses), digital operations (mixed precision's accumulator) and reads.  The float
    baseline has no energy model (its columns are empty).  ``energy_per_point_j`` is the
    total per percentage point of final test accuracy above chance (empty for runs at
    chance); ``rank_accuracy_per_joule`` ranks runs by it (1 = most accuracy per joule).
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
            "key": key, "device": device.name, "pulse_width_s": device.pulse_width_s,
            "algorithm": run_label(cfg, run), "lr": run.learning_rate, "seed": run.seed,
            "recipe": str(device.metrics.get("recipe", "measured")),
            "periphery": run.periphery,
            "pulse_width": pulse_width_label(device.name, device.pulse_width_s),
            "epochs": len(epochs), "final_test_acc": epochs[-1]["test_acc"],
            "final_val_acc": epochs[-1]["val_acc"],
            "best_val_acc": max(m["val_acc"] for m in epochs),
            "at_chance": max(m["val_acc"] for m in epochs) < LEFT_CHANCE,
            "epochs_to_target": to_target, "epochs_to_99pct_final": to_99,
            "total_pulses": epochs[-1]["pulses_total"],
        }
        if algorithm(run.algorithm).analog:
            noise = run.noise(device)
            row.update(c2c_noise=noise.c2c_noise, device_variation=noise.variation_text)
            row.update(_costs(cfg, run, device, epochs, to_target))
        rows.append(row)
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    df["energy_per_point_j"] = energy_per_point(df.total_energy_j, df.final_test_acc,
                                                ~df.at_chance.astype(bool))
    df["rank_accuracy_per_joule"] = df.energy_per_point_j.rank(method="min").astype("Int64")
    return df.sort_values(["algorithm", "pulse_width_s", "device", "seed"]).reset_index(drop=True)


SUMMARY_METRICS = [
    "final_test_acc", "epochs_to_target", "epochs_to_99pct_final", "total_pulses",
    "programming_energy_j", "sp_estimation_energy_j", "digital_energy_j", "read_energy_j",
    "total_energy_j", "energy_to_target_j", "energy_per_point_j"]
"""Run columns that ``summary.csv`` gives as mean and std over seeds."""

CI_METRICS = {"final_test_acc": "test_acc", "epochs_to_target": "epochs_to_target",
              "energy_to_target_j": "energy_to_target_j", "total_energy_j": "total_energy_j"}
"""Run columns that ``summary.csv`` also gives as mean and confidence interval over seeds
(:func:`pulsetrain.study.stats.mean_ci`), and the stem of their columns
(``test_acc_mean``, ``test_acc_ci_low``, ``test_acc_ci_high``)."""


def summarise_study(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per (algorithm, device), with ``seeds``, ``reached_target``
    and ``at_chance`` (runs of the group that did); ``energy_per_point_j_mean`` is the
    group's mean total energy per point of its mean accuracy above chance (empty when
    every run stayed at chance; its ``_std`` is the spread of the runs' own ratios), and
    ``rank_accuracy_per_joule`` ranks groups by it (1 = best).

    Uncertainty: for each of :data:`CI_METRICS`, ``{stem}_mean``, ``{stem}_ci_low`` and
    ``{stem}_ci_high`` (Student-t 95 % over the seeds that have a value; empty below two
    such seeds; epochs to target and energy to target over the seeds that reached it),
    and ``seeds_left_chance`` (fraction of the group's seeds that left chance)."""
    if runs.empty:
        return runs
    keys = [k for k in ("algorithm", "device", "pulse_width_s", "pulse_width", "recipe",
                        "c2c_noise", "device_variation") if k in runs.columns]
    grouped = runs.groupby(keys, sort=False, dropna=False)
    numeric = runs[keys].join(runs[SUMMARY_METRICS].apply(pd.to_numeric, errors="coerce"))
    out = numeric.groupby(keys, sort=False, dropna=False).agg(["mean", "std"])
    out.columns = pd.Index([f"{col[0]}_{col[1]}" for col in out.columns])
    out["seeds"] = grouped.size()
    out["reached_target"] = grouped["epochs_to_target"].apply(lambda s: int(s.notna().sum()))
    out["at_chance"] = grouped["at_chance"].apply(lambda s: int(s.astype(bool).sum()))
    out["seeds_left_chance"] = 1 - out.at_chance / out.seeds
    for col, stem in CI_METRICS.items():
        cis = numeric.groupby(keys, sort=False, dropna=False)[col].apply(
            lambda v: mean_ci(v.to_numpy(dtype=float)))
        if stem != col:
            out[f"{stem}_mean"] = [ci.mean for ci in cis]
        out[f"{stem}_ci_low"] = [ci.low for ci in cis]
        out[f"{stem}_ci_high"] = [ci.high for ci in cis]
    out["energy_per_point_j_mean"] = energy_per_point(  # from the group's means
        out.total_energy_j_mean, out.final_test_acc_mean, out.at_chance < out.seeds)
    out["rank_accuracy_per_joule"] = out.energy_per_point_j_mean.rank(method="min") \
        .astype("Int64")
    return pd.DataFrame(out.reset_index())


def load_study(directory: str | Path) -> tuple[StudyConfig, ResultStore]:
    """The config and store of a study folder."""
    directory = Path(directory)
    cfg = StudyConfig.model_validate(json.loads((directory / "study.json").read_text()))
    return cfg, ResultStore(directory / "results.sqlite")


def pareto_front(energy: np.ndarray, accuracy: np.ndarray, rtol: float = 0.0) -> np.ndarray:
    """Mask of points not dominated (lower energy and higher accuracy).

    Energies within a relative ``rtol`` of each other count as equal: a point is
    dominated by one at most ``rtol`` dearer that is at least as accurate and either more
    accurate or cheaper by more than ``rtol``."""
    e = np.asarray(energy, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    not_dearer = e[None, :] <= e[:, None] * (1 + rtol)  # [i, j]: j is not dearer than i
    cheaper = e[None, :] < e[:, None] * (1 - rtol)
    dominated = not_dearer & (a[None, :] >= a[:, None]) & (cheaper | (a[None, :] > a[:, None]))
    return np.asarray(~dominated.any(axis=1))
