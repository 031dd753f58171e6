"""The study's answer in a few lines: which (pulse width, algorithm) gives the best
accuracy, reaches the target for the least energy, gives the most accuracy per joule,
and which pairs are Pareto-optimal (energy vs accuracy) — all energies every cost
(:mod:`pulsetrain.energy.costs`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pulsetrain.study.analysis import energy_per_point, pareto_front

PAIR_KEYS = ["pulse_width", "algorithm", "recipe"]
"""What one candidate answer is: a pulse width (device run), an algorithm, a recipe."""


@dataclass(frozen=True)
class Verdict:
    """Per (pulse width, algorithm, recipe), means over seeds (``pairs``), and the winners.

    Each winner is an index into ``pairs`` or ``None`` when no pair qualifies.
    """

    pairs: pd.DataFrame
    best_accuracy: int | None
    lowest_energy_to_target: int | None
    best_accuracy_per_joule: int | None
    pareto: list[int] = field(default_factory=list)
    """Pareto-optimal pairs (no other pair is at least as good in total energy and
    accuracy and better in one), by increasing energy; pairs at chance excluded."""
    at_chance: list[int] = field(default_factory=list)
    """Pairs whose every run never left chance accuracy."""


def _argbest(values: pd.Series, largest: bool) -> int | None:
    valid = values.dropna().to_numpy(dtype=float)
    if valid.size == 0:
        return None
    index = values.dropna().index.to_numpy()
    return int(index[int(np.argmax(valid) if largest else np.argmin(valid))])


def study_verdict(runs: pd.DataFrame) -> Verdict:
    """The verdict over the analog runs of ``runs`` (:func:`summarise_runs`' table).

    Pairs are compared on their means over seeds.  The lowest energy to the target counts
    only pairs whose every run reached it; accuracy per joule is the pair's mean total
    energy per point of its mean final test accuracy above chance
    (:data:`pulsetrain.study.analysis.CHANCE`), for pairs not at chance.
    """
    analog = runs[runs.total_energy_j.notna()]
    if analog.empty:
        return Verdict(pd.DataFrame(columns=PAIR_KEYS), None, None, None)
    grouped = analog.groupby(PAIR_KEYS, sort=False, dropna=False)
    numeric = ["final_test_acc", "total_energy_j", "programming_energy_j",
               "sp_estimation_energy_j", "digital_energy_j", "read_energy_j",
               "energy_to_target_j", "epochs_to_target", "pulse_width_s"]
    pairs = analog[PAIR_KEYS].join(analog[numeric].apply(pd.to_numeric, errors="coerce")) \
        .groupby(PAIR_KEYS, sort=False, dropna=False).mean().reset_index()
    pairs["seeds"] = grouped.size().to_numpy()
    pairs["reached_target"] = grouped.epochs_to_target.apply(lambda s: s.notna().all()) \
        .to_numpy()
    pairs["at_chance"] = grouped.at_chance.apply(lambda s: s.astype(bool).all()).to_numpy()
    # per joule from the pair's means (a seed at chance counts with its accuracy, not
    # dropped as a per-run ratio would be)
    pairs["energy_per_point_j"] = energy_per_point(pairs.total_energy_j,
                                                   pairs.final_test_acc, ~pairs.at_chance)
    pairs = pairs.sort_values(["pulse_width_s", "algorithm"]).reset_index(drop=True)
    usable = pairs[~pairs.at_chance]
    front = pareto_front(usable.total_energy_j.to_numpy(dtype=float),
                         usable.final_test_acc.to_numpy(dtype=float)) if len(usable) else \
        np.zeros(0, dtype=bool)
    pareto = usable[front].sort_values("total_energy_j").index.tolist()
    return Verdict(
        pairs=pairs,
        best_accuracy=_argbest(pairs.final_test_acc, largest=True),
        lowest_energy_to_target=_argbest(
            pairs.energy_to_target_j.where(pairs.reached_target), largest=False),
        best_accuracy_per_joule=_argbest(pairs.energy_per_point_j, largest=False),
        pareto=[int(i) for i in pareto],
        at_chance=[int(i) for i in pairs.index[pairs.at_chance]])
