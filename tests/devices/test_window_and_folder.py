"""Automatic windows, the response-fit fallback chain, and fitting a whole lab folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import fit_device, load_device
from pulsetrain.devices.response import fit_response
from pulsetrain.devices.window import auto_window
from pulsetrain.errors import InputError
from pulsetrain.measurements import UP, scan_folder
from pulsetrain.study import StudyConfig
from pulsetrain.workflows import SUMMARY_COLUMNS, fit_folder
from tests.conftest import soft_bounds_trace, wgfmu_rows, write_wgfmu


def _ramp_with_dead_ends(tmp_path: Path) -> Path:
    """A soft-bounds sweep with 8 sub-threshold pulses (G flat) before each branch and
    6 saturated pulses that drift back after each branch."""
    amps, w = soft_bounds_trace(40)
    down_a, down_w, up_a, up_w = amps[:40], w[:40], amps[40:], w[40:]
    a = np.concatenate([np.full(8, 0.05), down_a, np.full(6, 2.2),
                        np.full(8, -0.05), up_a, np.full(6, -2.2)])
    ws = np.concatenate([np.full(8, 0.9), down_w, down_w[-1] + 0.01 * np.arange(1, 7),
                         np.full(8, down_w[-1] + 0.06), up_w, up_w[-1] - 0.01 * np.arange(1, 7)])
    path = tmp_path / "run_20240101120000" / "pulsedAmplitudeSweep_DCIV[_DEVA(1)]x.csv"
    write_wgfmu(path, wgfmu_rows(a, 1e-7 * (1.5 + ws)))
    return path


def test_auto_window_drops_subthreshold_and_saturated_pulses(tmp_path: Path) -> None:
    _ramp_with_dead_ends(tmp_path)
    (run,) = scan_folder(tmp_path).runs
    assert run.cutoff is None
    sweep = run.last
    win = auto_window(sweep)
    kept = np.flatnonzero(win.keep)
    down = kept[sweep.direction[kept] != UP]
    up = kept[sweep.direction[kept] == UP]
    # one sub-threshold pulse kept before each branch (its read is the branch's start
    # state), none of the saturated tail
    assert (down[0], down[-1]) == (7, 47)
    assert (up[0], up[-1]) == (61, 101)
    fit = fit_device(run)
    assert fit.metrics.window.startswith("auto") and fit.clean.window is not None
    assert fit.clean.window.source == "auto"
    assert fit.metrics.n_up == 41 and fit.metrics.n_down == 41
    with pytest.raises(Exception, match="no cutoff window"):
        fit_device(run, window="cutoffs")


def test_response_fit_falls_back_and_says_so() -> None:
    grid = np.linspace(-1, 1, 16)
    state = np.linspace(0.2, 0.2 + 1e-9, 12)  # GCV spline: "the problem is ill-posed"
    step = 0.01 + 0.001 * np.sin(np.arange(12))
    fit = fit_response(state, step, grid, UP)
    assert fit.method == "polynomial" and "spline failed" in fit.note
    assert np.isfinite(fit.values).all() and (fit.values >= 0).all() and fit.values[-1] == 0
    two = fit_response(np.array([0.1, 0.1]), np.array([0.02, 0.04]), grid, UP)
    assert two.method == "constant" and two.values[0] == pytest.approx(0.03)
    good = fit_response(np.linspace(-1, 1, 30), np.linspace(0.02, 0.01, 30), grid, UP)
    assert good.method == "spline-gcv" and good.note == ""


def test_whole_shared_folder(hzo_dir: Path, tmp_path: Path) -> None:
    """Every run of every device: fitted, refused with a reason, or unreadable."""
    result = CliRunner().invoke(app, ["device", "fit", str(hzo_dir), "--out", str(tmp_path),
                                      "--no-figures", "--area-m2", "1e-10",
                                      "--thickness-m", "5e-9"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output + result.stderr
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    assert tuple(summary.columns[:7]) == SUMMARY_COLUMNS
    assert len(summary) == 21
    status = dict(zip(summary["run"].astype(str), summary["status"], strict=True))
    assert status["20240919130411"] == "fitted"  # LBE247_ID300YR1000Oct
    assert status["20240919162639"] == "fitted"  # LBE247_ID180XR1000Star: ramps back down
    assert status["20241024144733"] == "unreadable"  # ID185ZR500, header-only files
    assert (summary["reason"][summary["status"] != "fitted"] != "").all()
    fitted = summary[summary["status"] == "fitted"]
    assert len(fitted) == 10 and (fitted["window"].str.startswith("cutoffs")).all()
    # the published device's runs: identical to the built-ins' recipe
    dev_files = sorted((tmp_path / "ID161ZR15000" / "devices").glob("*.json"))
    assert len(dev_files) == 8
    dev = load_device(dev_files[0])
    assert dev.area_m2 == 1e-10 and dev.thickness_m == 5e-9
    assert dev.provenance["window"].startswith("cutoffs")
    assert Path(dev.provenance["source_file"]).is_file()
    # so a fitted device goes straight into a study (it is refused without the area)
    StudyConfig(devices=[str(dev_files[0])]).check()
    bare = tmp_path / "bare"
    assert CliRunner().invoke(app, ["device", "fit", str(hzo_dir), "--device", "ID161ZR15000",
                                    "--out", str(bare), "--no-figures"]).exit_code == 0
    with pytest.raises(InputError, match="area_m2"):
        StudyConfig(devices=[str(next((bare / "devices").glob("*.json")))]).check()
    # the devices without a cutoffs row: refused for what their data show
    reasons = dict(zip(summary["device_id"], summary["reason"], strict=False))
    assert "breakdown at pulse 37" in reasons["ID182ZR1000"]
    assert "no switching" in reasons["ID186ZR500"] and "shorted" in reasons["ID186ZR500"]


def test_folder_fit_without_cutoffs_uses_auto_windows(hzo_dir: Path, tmp_path: Path) -> None:
    """With a cutoffs file that matches nothing, every switching run still fits (auto),
    and the auto window of the 200 µs run gives the published run's Gmax/Gmin within 1 %."""
    cut = tmp_path / "cutoffs.csv"
    cut.write_text("device_id,run,VStartPos,VEndPos,VStartNeg,VEndNeg\nNONE,0,0,1,0,-1\n")
    done = fit_folder(hzo_dir, cutoffs=cut, figures=False)
    by_run = {o.run: o for o in done.outcomes}
    assert by_run["20241024112926"].fit is not None
    m = by_run["20241024112926"].fit.metrics
    assert m.window.startswith("auto") and m.gmax_gmin == pytest.approx(10.22, rel=0.01)
    assert [p.severity for p in done.problems].count("warning") == 1
