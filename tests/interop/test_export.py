"""Export/import of device parameters (AIHWKit, NeuroSim) — no AIHWKit needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import LutDevice, Variation, builtin_device, symmetry_point_analytic
from pulsetrain.interop import (
    aihwkit_granularity,
    from_piecewise_step,
    to_neurosim,
    to_piecewise_step,
)


def test_piecewise_export_round_trips_every_builtin() -> None:
    for name in ("ID161ZR15000-20ns-a", "ID161ZR15000-200us"):
        dev = builtin_device(name).with_options(
            c2c_noise=0.1, variation=Variation(step_gain_std=0.2, bound_std=0.05,
                                               up_down_std=0.1))
        params = to_piecewise_step(dev)
        # AIHWKit's step: dw_min·piecewise → our table, node by node
        np.testing.assert_allclose(np.asarray(params["piecewise_up"]) * params["dw_min"],
                                   dev.lut_up, rtol=1e-12)
        assert params["dw_min"] == pytest.approx(dev.dw_min)
        assert (params["dw_min_std"], params["dw_min_dtod"], params["up_down_dtod"],
                params["w_max_dtod"]) == (0.1, 0.2, 0.1, 0.05)
        back = from_piecewise_step(params)
        np.testing.assert_allclose(back.lut_up, dev.lut_up, rtol=1e-12)
        np.testing.assert_allclose(back.lut_down, dev.lut_down, rtol=1e-12)
        assert back.variation == dev.variation and back.c2c_noise == 0.1
        assert aihwkit_granularity(dev) == pytest.approx(dev.lut_up[16])


def test_import_folds_up_down_like_aihwkit() -> None:
    """up_down = 0.2: up keeps dw_min, down × 0.8; up_down = −0.2: the reverse."""
    dev = from_piecewise_step({"dw_min": 0.01, "up_down": 0.2, "w_min": -1, "w_max": 1})
    assert dev.step_up(0.0) == pytest.approx(0.01) and dev.step_down(0.0) == pytest.approx(0.008)
    dev = from_piecewise_step({"dw_min": 0.01, "up_down": -0.2, "w_min": -1, "w_max": 1})
    assert dev.step_up(0.0) == pytest.approx(0.008) and dev.step_down(0.0) == pytest.approx(0.01)


def test_export_import_reject_what_the_other_side_cannot_hold() -> None:
    with pytest.raises(ValueError, match="w_min <= 0 <= w_max"):
        to_piecewise_step(LutDevice("pos", [0.1, 0.1], [0.1, 0.1], w_min=0.2, w_max=1.0))
    with pytest.raises(ValueError, match="unknown PiecewiseStepDevice field"):
        from_piecewise_step({"dw_min": 0.01, "gamma_up": 0.5})
    with pytest.raises(ValueError, match="same length"):
        from_piecewise_step({"piecewise_up": [1, 2], "piecewise_down": [1, 2, 3]})


def test_neurosim_export_uses_the_measured_run() -> None:
    dev = builtin_device("ID161ZR15000-200ns")
    p = to_neurosim(dev)
    assert p["maxNumLevelLTP"] == dev.metrics["n_up"]
    assert p["maxNumLevelLTD"] == dev.metrics["n_down"]
    assert p["A_LTP_normalised"] == pytest.approx(1 / dev.metrics["nl_ltp"])
    assert p["A_LTD_normalised"] < 0
    assert p["minConductance"] == pytest.approx(dev.mapping.g_min_s)  # type: ignore[union-attr]
    assert p["writePulseWidthLTP"] == pytest.approx(2e-7)


def test_neurosim_export_of_a_model_without_metrics() -> None:
    """Constant step 0.02 on [−1, 1]: 99 pulses reach within 1 % of the far bound, and the
    sweep is linear (1/A → 0, i.e. |A| huge)."""
    p = to_neurosim(LutDevice("lin", [0.02, 0.02], [0.02, 0.02]))
    assert p["maxNumLevelLTP"] == 99 and p["maxNumLevelLTD"] == 99
    assert abs(p["A_LTP_normalised"]) > 50


def test_two_node_tables_have_an_analytic_symmetry_point() -> None:
    """Soft bounds as a 2-node table: up a(1 − w), down b(1 + w) → SP (a − b)/(a + b)."""
    dev = LutDevice("sb", [0.06, 0.0], [0.0, 0.02])
    assert symmetry_point_analytic(dev) == pytest.approx(0.5)
    assert symmetry_point_analytic(LutDevice("sym", [0.02, 0.02], [0.02, 0.02])) == 0.0


def test_cli_export_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    res = CliRunner().invoke(app, ["device", "export", "ID161ZR15000-2us", "--to", "aihwkit",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    params = json.loads(out.read_text())
    assert params["class"] == "PiecewiseStepDevice" and len(params["piecewise_up"]) == 32
    res = CliRunner().invoke(app, ["device", "export", "ID161ZR15000-2us", "--to", "neurosim"])
    assert res.exit_code == 0 and json.loads(res.stdout)["maxNumLevelLTP"] > 10
    res = CliRunner().invoke(app, ["device", "export", "ID161ZR15000-2us", "--to", "spice"])
    assert res.exit_code == 2


def test_cli_export_of_a_thesis_recipe_device_gives_its_own_parameters(tmp_path: Path) -> None:
    """A device fitted by the ``thesis`` recipe exports the recipe's dw_min/up_down/bounds."""
    from pulsetrain.devices import ThesisRecipe, save_device
    from pulsetrain.measurements import Cutoff, MeasuredRun, PulseSweep

    amps = np.r_[np.linspace(0.1, 2.0, 40), -np.linspace(0.1, 2.0, 40)]
    w, ws = 0.9, []
    for v in amps:
        w = w - 0.05 * (1 + w) if v > 0 else w + 0.08 * (1 - w)
        ws.append(w)
    sweep = PulseSweep("SYN", "r1", 1, 2e-7, amps, 1e-7 * (1.5 + np.array(ws)),
                       np.where(amps < 0, 1, -1).astype(np.int8))
    run = MeasuredRun("SYN", "r1", 2e-7, [sweep], cutoffs={1: Cutoff(0.1, 2.0, -0.1, -2.0)})
    dev = ThesisRecipe().fit(run).device
    path = save_device(dev, tmp_path / "thesis.json")
    out = tmp_path / "aihwkit.json"
    res = CliRunner().invoke(app, ["device", "export", str(path), "--to", "aihwkit",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    params = json.loads(out.read_text())
    rec = dev.provenance["recipe"]
    for key in ("dw_min", "up_down", "w_min", "w_max", "piecewise_up", "piecewise_down"):
        assert params[key] == rec[key], key
    assert params["up_down"] != 0.0
