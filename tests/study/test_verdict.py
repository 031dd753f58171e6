"""The report's verdict: winners, Pareto front and runs at chance, on hand-made runs."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetrain.report.study_report import energy_text, verdict_section
from pulsetrain.study.analysis import convergence
from pulsetrain.study.verdict import study_verdict


def _runs() -> pd.DataFrame:
    rows = [  # pulse width, algorithm, seed, acc, total J, to target J, epochs, at chance
        ("20ns", "sgd", 0, 0.098, 1e-3, None, None, True),
        ("20ns", "mixed-precision", 0, 0.975, 1.30, 0.20, 4, False),
        ("200us", "mixed-precision", 0, 0.970, 1.31, 0.37, 7, False),
        ("200us", "sgd", 0, 0.88, 0.14, None, None, False),
        ("200us", "sp-shift", 0, 0.90, 0.12, 0.10, 20, False),
        ("200us", "sp-shift", 1, 0.86, 0.10, None, None, False),  # one seed misses target
        ("2us", "sp-shift", 0, 0.87, 0.011, 0.009, 12, False),
    ]
    df = pd.DataFrame(rows, columns=["pulse_width", "algorithm", "seed", "final_test_acc",
                                     "total_energy_j", "energy_to_target_j",
                                     "epochs_to_target", "at_chance"])
    df["recipe"] = "measured"
    df["pulse_width_s"] = df.pulse_width.map({"20ns": 2e-8, "2us": 2e-6, "200us": 2e-4})
    for part in ("programming", "sp_estimation", "digital", "read"):
        df[f"{part}_energy_j"] = df.total_energy_j / 4
    above = 100 * (df.final_test_acc - 0.1)
    df["energy_per_point_j"] = (df.total_energy_j / above).where(~df.at_chance)
    return df


def test_verdict_winners_front_and_chance() -> None:
    v = study_verdict(_runs())
    p = v.pairs
    name = {i: f"{p.algorithm[i]}@{p.pulse_width[i]}" for i in p.index}
    assert len(p) == 6  # the two sp-shift 200us seeds are one pair
    sp200 = p[(p.algorithm == "sp-shift") & (p.pulse_width == "200us")].iloc[0]
    assert sp200.final_test_acc == 0.88 and sp200.total_energy_j == 0.11
    assert not sp200.reached_target  # one of its seeds never reached it
    assert name[v.best_accuracy] == "mixed-precision@20ns"
    # cheapest to target among pairs whose every run reached it: sp-shift at 2 µs
    assert name[v.lowest_energy_to_target] == "sp-shift@2us"
    assert name[v.best_accuracy_per_joule] == "sp-shift@2us"
    # the front, by energy: 2 µs sp-shift (cheapest), 200 µs sp-shift (0.88 > 0.87),
    # 20 ns MP (best); 200 µs sgd (0.14 J, 0.88) and MP 200 µs are dominated; sgd at
    # 20 ns is at chance and never on the front however cheap
    assert [name[i] for i in v.pareto] == ["sp-shift@2us", "sp-shift@200us",
                                           "mixed-precision@20ns"]
    assert [name[i] for i in v.at_chance] == ["sgd@20ns"]
    text = "\n".join(verdict_section(v, 0.85))
    assert "Best final accuracy: **mixed-precision at 20ns**, 97.5 % for 1.3 J" in text
    assert "**sp-shift at 2us**, 9 mJ (epoch 12)" in text
    assert "Never left chance accuracy" in text and "sgd at 20ns" in text
    assert text.count("| sp-shift |") == 2


def test_no_pair_reaching_target_is_said() -> None:
    runs = _runs()
    runs["energy_to_target_j"] = None
    runs["epochs_to_target"] = None
    text = "\n".join(verdict_section(study_verdict(runs), 0.99))
    assert "No pair reached 99 % validation accuracy" in text


def test_chance_runs_have_no_convergence_epoch() -> None:
    flat = [{"epoch": e, "val_acc": 0.1 + 0.001 * (e % 2)} for e in range(1, 7)]
    assert convergence(flat, 0.9) == (None, None)
    learning = [{"epoch": e, "val_acc": a} for e, a in enumerate([0.5, 0.9, 0.95, 0.951], 1)]
    assert convergence(learning, 0.9) == (2, 3)


def test_energy_text_picks_a_readable_unit() -> None:
    assert energy_text(1.24) == "1.24 J"
    assert energy_text(0.0391) == "39.1 mJ"
    assert energy_text(5.2e-6) == "5.2 µJ"
    assert energy_text(3e-13) == "0.3 pJ"
    assert energy_text(None) == "–"


def test_per_joule_counts_the_seeds_that_stayed_at_chance() -> None:
    """A pair with two of three seeds at chance is judged on its mean accuracy (36.7 %),
    not on its one good seed: 1 mJ / 26.7 points loses to 2 mJ / 80 points."""
    rows = [("X", s, acc, 1e-3, acc < 0.2) for s, acc in enumerate([0.9, 0.1, 0.1])] + \
        [("Y", s, 0.9, 2e-3, False) for s in range(3)]
    runs = pd.DataFrame(rows, columns=["pulse_width", "seed", "final_test_acc",
                                       "total_energy_j", "at_chance"])
    runs["algorithm"], runs["recipe"] = "sgd", "measured"
    runs["pulse_width_s"] = runs.pulse_width.map({"X": 1e-6, "Y": 2e-6})
    runs["energy_to_target_j"] = runs["epochs_to_target"] = None
    for part in ("programming", "sp_estimation", "digital", "read"):
        runs[f"{part}_energy_j"] = runs.total_energy_j / 4
    runs["energy_per_point_j"] = (runs.total_energy_j / (100 * (runs.final_test_acc - 0.1))
                                  ).where(~runs.at_chance)  # X's good seed alone: 1.25e-5
    v = study_verdict(runs)
    assert v.pairs.pulse_width[v.best_accuracy_per_joule] == "Y"
    assert v.pairs.energy_per_point_j.tolist() == pytest.approx([1e-3 / (100 * (1.1 / 3 - 0.1)),
                                                                  2e-3 / 80])
