"""Intervals, significance wording, unstable pairs, the converged bar, dominant parts,
Pareto tolerance and entry labels, on hand-made runs (no training)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pulsetrain.report.study_report import verdict_section
from pulsetrain.study.analysis import pareto_front, run_label, summarise_study
from pulsetrain.study.config import StudyConfig
from pulsetrain.study.stats import mean_ci, seeds_needed, welch_p
from pulsetrain.study.verdict import study_verdict


def test_interval_matches_a_hand_computation() -> None:
    ci = mean_ci([0.80, 0.84, 0.88])  # mean 0.84, s = 0.04, t(0.975, 2) = 4.302653
    half = 4.302653 * 0.04 / math.sqrt(3)
    assert (ci.mean, ci.low, ci.high, ci.n) == pytest.approx((0.84, 0.84 - half,
                                                              0.84 + half, 3))
    one = mean_ci([0.5, float("nan")])
    assert one.n == 1 and math.isnan(one.low)


def test_welch_and_seeds_needed_by_hand() -> None:
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]  # Δ = 1, s² = 1 each: t = -1.2247, df = 4
    assert welch_p(a, b) == pytest.approx(0.2878, abs=1e-3)
    # (1.959964 + 0.841621)² · 2 / 1 = 15.7 → 16 seeds per pair
    assert seeds_needed(a, b) == 16
    assert welch_p([1.0], b) != welch_p([1.0], b)  # NaN below two seeds


def _runs(acc: dict[str, list[float]], energy: dict[str, float] | None = None,
          reached: bool = True) -> pd.DataFrame:
    rows = []
    for pw, accs in acc.items():
        for seed, a in enumerate(accs):
            e = (energy or {}).get(pw, 1e-3)
            rows.append({"pulse_width": pw, "algorithm": "sp-shift", "recipe": "measured",
                         "seed": seed, "final_test_acc": a, "at_chance": a < 0.2,
                         "total_energy_j": e, "programming_energy_j": e,
                         "sp_estimation_energy_j": 0.0, "digital_energy_j": 0.0,
                         "read_energy_j": 0.0,
                         "energy_to_target_j": e / 2 if reached and a > 0.8 else None,
                         "epochs_to_target": 3 if reached and a > 0.8 else None})
    df = pd.DataFrame(rows)
    df["pulse_width_s"] = df.pulse_width.map({p: 10.0 ** -i for i, p in enumerate(acc, 3)})
    return df


def test_clear_winner_beats_and_overlap_is_not_distinguishable() -> None:
    clear = study_verdict(_runs({"A": [0.95, 0.96, 0.97], "B": [0.85, 0.86, 0.87]},
                                {"A": 1e-3, "B": 2e-3}))
    text = "\n".join(verdict_section(clear, 0.8))
    assert "It beats 1 of 1 other pairs significantly." in text
    assert "not distinguishable" not in text
    close = study_verdict(_runs({"A": [0.90, 0.96, 0.93], "B": [0.88, 0.95, 0.91]},
                                {"A": 1e-3, "B": 2e-3}))
    text = "\n".join(verdict_section(close, 0.8))
    assert "It beats 0 of 1 other pairs significantly" in text
    assert "not distinguishable with these seeds from sp-shift at" in text
    need = seeds_needed([0.90, 0.96, 0.93], [0.88, 0.95, 0.91])
    assert need is not None and need > 3 and f"~{need} seeds per pair needed" in text
    assert "(95 % CI" in text


def test_split_seeds_are_flagged_unstable() -> None:
    v = study_verdict(_runs({"A": [0.9, 0.1, 0.92], "B": [0.85, 0.86, 0.87]}))
    text = "\n".join(verdict_section(v, 0.8))
    assert "Unstable" in text and "(2 of 3 seeds trained)" in text
    assert [v.pairs.pulse_width[i] for i in v.unstable] == ["A"]


def test_nothing_converged_names_no_winner() -> None:
    v = study_verdict(_runs({"A": [0.265, 0.2], "B": [0.09, 0.15]}, reached=False))
    text = "\n".join(verdict_section(v, 0.85))
    assert not v.converged
    assert "Nothing converged" in text and "Best final accuracy" not in text
    assert "Most accuracy per joule" not in text and "train longer" in text


def test_a_dominant_part_is_said_with_its_assumption() -> None:
    runs = _runs({"A": [0.95, 0.96], "B": [0.9, 0.91]}, {"A": 0.156, "B": 0.156})
    runs["digital_energy_j"] = 0.1555
    runs["programming_energy_j"] = 0.0005
    text = "\n".join(verdict_section(study_verdict(runs), 0.8,
                                     {"digital_energy_j": "4.6 pJ per multiply-add"}))
    assert "Digital operations make at least 99.7 % of the total energy of" in text
    assert "(assumption: 4.6 pJ per multiply-add)" in text


def test_pareto_uses_an_energy_tolerance() -> None:
    energy = np.array([1.0, 1.0 - 7e-5, 0.5])  # 200 ns: 0.007 % cheaper, 3.3 points worse
    acc = np.array([0.95, 0.917, 0.5])
    assert pareto_front(energy, acc).tolist() == [True, True, True]
    assert pareto_front(energy, acc, rtol=0.01).tolist() == [True, False, True]
    v = study_verdict(_runs({"A": [0.95], "B": [0.917]}, {"A": 1.0, "B": 1.0 - 7e-5}))
    assert [v.pairs.pulse_width[i] for i in v.pareto] == ["A"]


def test_entries_differing_in_lr_are_separate_pairs() -> None:
    cfg = StudyConfig(name="lr", devices=["ID161ZR15000-200us"], seeds=[0],
                      algorithms=[{"name": "sgd", "lr": 0.05}, {"name": "sgd", "lr": 0.2},
                                  "sp-shift"])
    labels = sorted({run_label(cfg, r) for r in cfg.runs()})
    assert labels == ["sgd (lr 0.05)", "sgd (lr 0.2)", "sp-shift"]
    runs = pd.DataFrame([{"algorithm": run_label(cfg, r), "device": r.device,
                          "pulse_width_s": 2e-4, "pulse_width": "200us", "recipe": "measured",
                          "seed": r.seed, "final_test_acc": 0.085 if r.learning_rate > 0.1
                          else 0.9, "at_chance": False, "epochs_to_target": None,
                          "epochs_to_99pct_final": None, "total_pulses": 1,
                          "programming_energy_j": 1.0, "sp_estimation_energy_j": 0.0,
                          "digital_energy_j": 0.0, "read_energy_j": 0.0,
                          "total_energy_j": 1.0, "energy_to_target_j": None,
                          "energy_per_point_j": None} for r in cfg.runs()])
    summary = summarise_study(runs)
    assert summary.seeds.tolist() == [1, 1, 1]
    assert {"test_acc_mean", "test_acc_ci_low", "test_acc_ci_high",
            "seeds_left_chance", "total_energy_j_ci_low"} <= set(summary.columns)


def test_summary_gives_intervals_over_seeds() -> None:
    runs = _runs({"A": [0.80, 0.84, 0.88]}).assign(device="d", epochs_to_99pct_final=2,
                                                    total_pulses=1, energy_per_point_j=None)
    row = summarise_study(runs).iloc[0]
    half = 4.302653 * 0.04 / math.sqrt(3)
    assert row.test_acc_mean == pytest.approx(0.84)
    assert (row.test_acc_ci_low, row.test_acc_ci_high) == pytest.approx((0.84 - half,
                                                                         0.84 + half))
    assert row.seeds_left_chance == 1.0
