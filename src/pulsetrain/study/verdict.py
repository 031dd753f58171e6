"""The study's answer in a few lines: which (pulse width, algorithm) gives the best
accuracy, reaches the target for the least energy, gives the most accuracy per joule,
and which pairs are Pareto-optimal (energy vs accuracy) — all energies every cost
(:mod:`pulsetrain.energy.costs`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pulsetrain.study.analysis import energy_per_point, pareto_front
from pulsetrain.study.stats import ALPHA, mean_ci, seeds_needed, welch_p

PAIR_KEYS = ["pulse_width", "algorithm", "recipe"]
"""What one candidate answer is: a pulse width (device run), an algorithm, a recipe."""

PARETO_RTOL = 0.01
"""Relative tolerance of the Pareto front's energies: totals within 1 % of each other
count as equal (the energy models are not that precise; reports print 3 digits)."""

DOMINANT_SHARE = 0.9
"""Share of a pair's total energy from which one part "dominates" it."""

ENERGY_PARTS = {"programming_energy_j": "programming pulses",
                "sp_estimation_energy_j": "symmetry-point estimation",
                "digital_energy_j": "digital operations", "read_energy_j": "array reads"}
"""The parts of a total energy and their names in words."""

CI_COLUMNS = {"final_test_acc": "acc", "energy_to_target_j": "energy_to_target",
              "epochs_to_target": "epochs_to_target", "total_energy_j": "total_energy"}
"""Pair columns given with a confidence interval (``{stem}_ci_low``/``_ci_high``)."""


@dataclass(frozen=True)
class Comparison:
    """A winner against another pair on one metric over seeds (Welch's t-test)."""

    other: int
    """Index of the other pair in :attr:`Verdict.pairs`."""
    p_value: float
    """Two-sided p-value (NaN below two seeds on a side)."""
    seeds_needed: int | None
    """Seeds per pair that would detect the observed difference (80 % power)."""

    @property
    def significant(self) -> bool:
        """The difference is significant at :data:`ALPHA`."""
        return bool(self.p_value < ALPHA)


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
    converged: bool = True
    """Whether any run reached the target (below that bar no winner is named)."""
    accuracy_rivals: list[Comparison] = field(default_factory=list)
    """The best-accuracy pair against every other pair not at chance (final test acc)."""
    energy_rivals: list[Comparison] = field(default_factory=list)
    """The cheapest pair to the target against every other pair whose runs all reached
    it (energy to target)."""
    unstable: list[int] = field(default_factory=list)
    """Pairs whose seeds split between training and collapse (some left chance, some
    not: ``seeds_left`` of ``seeds``)."""
    dominant: list[tuple[int, str, float]] = field(default_factory=list)
    """(pair, part column, share) where a part other than the programming pulses (the
    device's own cost) is at least :data:`DOMINANT_SHARE` of the pair's total energy."""


def _argbest(values: pd.Series, largest: bool) -> int | None:
    valid = values.dropna().to_numpy(dtype=float)
    if valid.size == 0:
        return None
    index = values.dropna().index.to_numpy()
    return int(index[int(np.argmax(valid) if largest else np.argmin(valid))])


def _values(analog: pd.DataFrame, pairs: pd.DataFrame, column: str) -> list[np.ndarray]:
    """Per pair (in ``pairs``' order), the seeds' values of ``column``."""
    groups = {k: pd.to_numeric(g[column], errors="coerce").to_numpy(dtype=float)
              for k, g in analog.groupby(PAIR_KEYS, sort=False, dropna=False)}
    return [groups[tuple(r)] for r in pairs[PAIR_KEYS].itertuples(index=False)]


def _rivals(values: list[np.ndarray], best: int | None, candidates: list[int],
            larger: bool) -> list[Comparison]:
    """``best`` against each candidate, closest mean first."""
    if best is None:
        return []
    out = [Comparison(i, welch_p(values[best], values[i]),
                      seeds_needed(values[best], values[i]))
           for i in candidates if i != best]
    mean = {c.other: float(np.nanmean(values[c.other])) for c in out}
    return sorted(out, key=lambda c: -mean[c.other] if larger else mean[c.other])


def study_verdict(runs: pd.DataFrame) -> Verdict:
    """The verdict over the analog runs of ``runs`` (:func:`summarise_runs`' table).

    Pairs are compared on their means over seeds, with Student-t 95 % intervals
    (``acc_ci_low``/``acc_ci_high`` …, :data:`CI_COLUMNS`), ``seeds_left`` (seeds that
    left chance) and the winners' Welch's t-tests against the others (``*_rivals``).
    The lowest energy to the target counts only pairs whose every run reached it;
    accuracy per joule is the pair's mean total energy per point of its mean final test
    accuracy above chance (:data:`pulsetrain.study.analysis.CHANCE`), for pairs not at
    chance.  When no run reached the target, ``converged`` is false.  The Pareto front
    treats totals within :data:`PARETO_RTOL` as equal.
    """
    analog = runs[runs.total_energy_j.notna()]
    if analog.empty:
        return Verdict(pd.DataFrame(columns=PAIR_KEYS), None, None, None)
    grouped = analog.groupby(PAIR_KEYS, sort=False, dropna=False)
    numeric = ["final_test_acc", "total_energy_j", "programming_energy_j",
               "sp_estimation_energy_j", "digital_energy_j", "read_energy_j",
               "energy_to_target_j", "epochs_to_target", "pulse_width_s"]
    values = analog[PAIR_KEYS].join(analog[numeric].apply(pd.to_numeric, errors="coerce"))
    pairs = values.groupby(PAIR_KEYS, sort=False, dropna=False).mean().reset_index()
    for col, stem in CI_COLUMNS.items():
        cis = values.groupby(PAIR_KEYS, sort=False, dropna=False)[col].apply(
            lambda v: mean_ci(v.to_numpy(dtype=float)))
        pairs[f"{stem}_ci_low"] = [ci.low for ci in cis]
        pairs[f"{stem}_ci_high"] = [ci.high for ci in cis]
    pairs["seeds"] = grouped.size().to_numpy()
    pairs["seeds_left"] = grouped.at_chance.apply(lambda s: int((~s.astype(bool)).sum())) \
        .to_numpy()
    pairs["reached_target"] = grouped.epochs_to_target.apply(lambda s: s.notna().all()) \
        .to_numpy()
    pairs["at_chance"] = pairs.seeds_left == 0
    # per joule from the pair's means (a seed at chance counts with its accuracy, not
    # dropped as a per-run ratio would be)
    pairs["energy_per_point_j"] = energy_per_point(pairs.total_energy_j,
                                                   pairs.final_test_acc, ~pairs.at_chance)
    pairs = pairs.sort_values(["pulse_width_s", "algorithm"]).reset_index(drop=True)
    usable = pairs[~pairs.at_chance]
    front = pareto_front(usable.total_energy_j.to_numpy(dtype=float),
                         usable.final_test_acc.to_numpy(dtype=float), PARETO_RTOL) \
        if len(usable) else np.zeros(0, dtype=bool)
    pareto = usable[front].sort_values("total_energy_j").index.tolist()
    best_acc = _argbest(pairs.final_test_acc.where(~pairs.at_chance), largest=True)
    best_energy = _argbest(pairs.energy_to_target_j.where(pairs.reached_target), largest=False)
    shares = pairs[list(ENERGY_PARTS)].div(pairs.total_energy_j, axis=0) \
        .to_numpy(dtype=float)
    dominant = [(int(i), col, float(shares[i, k]))
                for i, k in zip(*np.nonzero(shares >= DOMINANT_SHARE), strict=True)
                for col in [list(ENERGY_PARTS)[k]] if col != "programming_energy_j"]
    return Verdict(
        pairs=pairs,
        best_accuracy=best_acc,
        lowest_energy_to_target=best_energy,
        best_accuracy_per_joule=_argbest(pairs.energy_per_point_j, largest=False),
        pareto=[int(i) for i in pareto],
        at_chance=[int(i) for i in pairs.index[pairs.at_chance]],
        converged=bool(values.epochs_to_target.notna().any()),
        accuracy_rivals=_rivals(_values(analog, pairs, "final_test_acc"), best_acc,
                                [int(i) for i in usable.index], larger=True),
        energy_rivals=_rivals(_values(analog, pairs, "energy_to_target_j"), best_energy,
                              [int(i) for i in pairs.index[pairs.reached_target]],
                              larger=False),
        unstable=[int(i) for i in pairs.index
                  if 0 < pairs.seeds_left[i] < pairs.seeds[i]],
        dominant=dominant)
