"""The device-population section of a study report, on hand-made run frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pulsetrain.devices import builtin_device
from pulsetrain.devices.lut import LutDevice
from pulsetrain.report.population import population_section, population_table


def _frame(rows: list[tuple[str, float, str, int, float, float]],
           recipe: dict[str, str] | None = None) -> pd.DataFrame:
    """Runs as summarise_runs gives them: (device, pulse width s, algorithm, seed, final
    test accuracy, total energy J)."""
    recipe = recipe or {}
    return pd.DataFrame([
        {"device": d, "pulse_width_s": pw, "pulse_width": "x", "algorithm": a, "seed": s,
         "final_test_acc": acc, "total_energy_j": e, "recipe": recipe.get(d, "measured")}
        for d, pw, a, s, acc, e in rows])


def _device(name: str, pw: float, gmax_gmin: float, sp: float) -> LutDevice:
    base = builtin_device("ID161ZR15000-20us")
    return base.with_options(name=name, pulse_width_s=pw,
                             metrics={"gmax_gmin": gmax_gmin, "symmetry_point": sp})


RUNS = _frame([
    # sgd at 20 µs: dev-a with three seeds (mean 0.7, 2e-3 J), dev-b with one (0.5, 4e-3 J)
    ("dev-a", 2e-5, "sgd", 0, 0.9, 1e-3), ("dev-a", 2e-5, "sgd", 1, 0.6, 2e-3),
    ("dev-a", 2e-5, "sgd", 2, 0.6, 3e-3), ("dev-b", 2e-5, "sgd", 0, 0.5, 4e-3),
    # mixed precision at 20 µs on three devices, one seed each
    ("dev-a", 2e-5, "mixed-precision", 0, 0.8, 1e-4),
    ("dev-b", 2e-5, "mixed-precision", 0, 0.9, 2e-4),
    ("dev-c", 2.0000001e-5, "mixed-precision", 0, 0.7, 3e-4),  # same nominal width
    # 2 µs: one device only; the float baseline: one device, no energy
    ("dev-d", 2e-6, "sgd", 0, 0.3, 5e-4), ("dev-a", 2e-5, "float", 0, 0.97, math.nan)])


def test_spread_is_across_devices_after_averaging_seeds() -> None:
    table = population_table(RUNS)
    assert list(zip(table.width_s, table.algorithm, strict=True)) == [
        (2e-5, "mixed-precision"), (2e-5, "sgd")]  # 2 µs and float: one device each
    sgd = table.iloc[1]
    # per-device seed means 0.7 and 0.5 → mean 0.6, sample std √(0.1² + 0.1²) = 0.1414
    # (over the four runs alike it would be 0.65)
    assert sgd.devices == 2 and (sgd.seeds_min, sgd.seeds_max) == (1, 3)
    assert sgd.final_test_acc_mean == pytest.approx(0.6)
    assert sgd.final_test_acc_std == pytest.approx(math.sqrt(0.02))
    assert (sgd.final_test_acc_min, sgd.final_test_acc_max) == pytest.approx((0.5, 0.7))
    assert sgd.total_energy_j_mean == pytest.approx(3e-3)
    assert sgd.total_energy_j_std == pytest.approx(math.sqrt(2) * 1e-3)
    mp = table.iloc[0]
    assert mp.devices == 3  # 2.0000001e-5 s counts as 20 µs
    assert mp.final_test_acc_std == pytest.approx(0.1)  # ddof 1 (ddof 0: 0.0816)

    devices = [_device("dev-a", 2e-5, 5.0, 0.1), _device("dev-b", 2e-5, 7.0, 0.3),
               _device("dev-c", 2e-5, 9.0, 0.2), _device("dev-d", 2e-6, 4.0, 0.0)]
    lines, fig = population_section(RUNS, devices)
    text = "\n".join(lines)
    assert lines[0] == "## Device population"
    assert "| 20us | sgd | 2 | 1–3 | 60.0 ± 14.1 | 50.0–70.0 | 3.00e-03 ± 1.4e-03 | " \
           "2.00e-03–4.00e-03 |" in lines
    assert "| 20us | mixed-precision | 3 | 1 | 80.0 ± 10.0 | 70.0–90.0 |" in text
    assert "| 2us |" not in text.split("Device metrics")[0] and "float" not in text
    # device metrics: Gmax/Gmin 5, 7, 9 → 7 ± 2; the single 2 µs device as it is
    assert any(line.startswith("| 20us | 3 | 7 ± 2 |") for line in lines)
    assert any(line.startswith("| 2us | 1 | 4 |") for line in lines)
    assert "![device population](figures/population.png)" in lines

    assert fig is not None and len(fig.axes) == 3
    gmax = fig.axes[0]
    points = sorted(y for line in gmax.lines if line.get_marker() == "o"
                    for y in np.asarray(line.get_ydata(), dtype=float))
    assert points == [4.0, 5.0, 7.0, 9.0]  # one point per device
    xs = [x for line in gmax.lines if line.get_marker() == "o"
          for x in np.asarray(line.get_xdata(), dtype=float)]
    assert len(set(xs)) == 4  # devices sharing a width are spread apart


def test_recipes_are_not_pooled() -> None:
    runs = _frame([("a", 2e-5, "sgd", 0, 0.5, 1e-3), ("b", 2e-5, "sgd", 0, 0.7, 1e-3),
                   ("a-t", 2e-5, "sgd", 0, 0.1, 1e-3), ("b-t", 2e-5, "sgd", 0, 0.3, 1e-3)],
                  recipe={"a-t": "thesis", "b-t": "thesis"})
    table = population_table(runs)
    assert list(table.recipe) == ["measured", "thesis"]
    assert list(table.final_test_acc_mean) == pytest.approx([0.6, 0.2])
    lines, _ = population_section(runs, [])
    assert any("| sgd (thesis) | 2 |" in line for line in lines)


def test_single_device_widths_give_no_section() -> None:
    runs = _frame([("dev-a", 2e-5, "sgd", 0, 0.9, 1e-3), ("dev-a", 2e-5, "sgd", 1, 0.5, 2e-3),
                   ("dev-d", 2e-6, "sgd", 0, 0.3, 5e-4)])  # seeds do not make a population
    assert population_section(runs, [_device("dev-a", 2e-5, 5.0, 0.1)]) == ([], None)
    assert population_section(runs.iloc[:0], []) == ([], None)


def test_sp_error_bar_stays_in_the_weight_range() -> None:
    """SPs 0.95, 0.6, 0.99: mean 0.847 + std 0.214 would reach 1.06; the bar stops at 1."""
    devices = [_device("dev-a", 2e-5, 5.0, 0.95), _device("dev-b", 2e-5, 7.0, 0.6),
               _device("dev-c", 2e-5, 9.0, 0.99), _device("dev-d", 2e-6, 4.0, 0.0)]
    _, fig = population_section(RUNS, devices)
    assert fig is not None
    tops = [float(np.max(np.asarray(seg)[:, 1])) for c in fig.axes[2].collections
            for seg in c.get_segments()]  # type: ignore[attr-defined]
    lows = [float(np.min(np.asarray(seg)[:, 1])) for c in fig.axes[2].collections
            for seg in c.get_segments()]  # type: ignore[attr-defined]
    std = float(np.std([0.95, 0.6, 0.99], ddof=1))
    assert tops and max(tops) == pytest.approx(1.0)
    assert min(lows) == pytest.approx(np.mean([0.95, 0.6, 0.99]) - std)
