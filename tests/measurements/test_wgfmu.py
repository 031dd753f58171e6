from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from pulsetrain.devices import fit_device
from pulsetrain.measurements import UP, read_dciv, read_wgfmu_sweep, scan_folder
from pulsetrain.measurements.sweep import rising_mask

RUN_200US = "_ID161ZR15000/pulsedAmplitudeSweep_DCIV_20241024112926"


def test_single_repetition_file_is_typed(hzo_dir: Path) -> None:
    path = next((hzo_dir / RUN_200US).glob("*(1)]*.csv"))
    (sweep,) = read_wgfmu_sweep(path)
    assert sweep.device_id == "ID161ZR15000"
    assert sweep.run == "20241024112926"
    assert sweep.repetition == 1
    assert sweep.pulse_width_s == pytest.approx(2e-4)
    assert sweep.rise_time_s == pytest.approx(2e-8)
    assert sweep.started == datetime(2024, 10, 24, 11, 32, 36)
    assert sweep.n_pulses == 136
    # G = mean(1/R_low, 1/R_high), first row of the file: 8807003.329 / 10076612.485 ohm (rep 0)
    assert sweep.r_low_ohm is not None and sweep.r_high_ohm is not None
    np.testing.assert_allclose(sweep.conductance_s,
                               0.5 * (1 / sweep.r_low_ohm + 1 / sweep.r_high_ohm))
    # negative pulses potentiate
    assert np.all((sweep.amplitude_v < 0) == (sweep.direction == UP))


def test_all_file_splits_into_the_single_files(hzo_dir: Path) -> None:
    folder = hzo_dir / RUN_200US
    reps = read_wgfmu_sweep(next(folder.glob("*(ALL)*.csv")))
    assert [r.repetition for r in reps] == [0, 1]
    assert all(r.pulse_width_s == pytest.approx(2e-4) for r in reps)  # from a sibling file
    for rep in reps:
        (single,) = read_wgfmu_sweep(next(folder.glob(f"*({rep.repetition})]*.csv")))
        np.testing.assert_array_equal(rep.conductance_s, single.conductance_s)
        np.testing.assert_array_equal(rep.amplitude_v, single.amplitude_v)


def test_aborted_measurement_drops_trailing_marker_rows(hzo_dir: Path) -> None:
    folder = hzo_dir / "_ID161ZR15000/pulsedAmplitudeSweep_DCIV_20241024105622"
    (sweep,) = read_wgfmu_sweep(next(folder.glob("*(0)]*.csv")))
    assert sweep.n_pulses == 135
    assert len(sweep.dropped_rows) == 1
    assert np.all(sweep.conductance_s > 0)


def test_dciv_reader_converts_nanoamps(hzo_dir: Path) -> None:
    iv = read_dciv(next((hzo_dir / "_ID161ZR15000").glob("DCIV_*/*.csv")))
    assert iv.bias_v.shape == (21,)
    assert iv.bias_v[0] == pytest.approx(-1.6)
    assert iv.current_a[0] == pytest.approx(-29638.8e-9)
    assert iv.compliance_a == pytest.approx(0.1)


def test_scan_groups_runs_and_attaches_cutoffs(hzo_dir: Path) -> None:
    scan = scan_folder(hzo_dir)
    assert scan.device_ids() == ["ID161ZR15000", "ID165ZR10000", "ID182ZR1000", "ID185ZR500",
                                 "ID186ZR500", "LBE247_ID180XR1000Star", "LBE247_ID300YR1000Oct"]
    runs = scan.runs_of("ID161ZR15000")
    assert len(runs) == 13
    with_cut = [r for r in runs if r.cutoff is not None]
    assert len(with_cut) == 8
    widths = sorted({r.pulse_width_s for r in with_cut})
    np.testing.assert_allclose(widths, [2e-8, 2e-7, 2e-6, 2e-5, 2e-4, 2e-3])
    run = next(r for r in runs if r.run == "20241024110755")
    assert run.cutoff is not None and run.cutoff.v_end_pos == pytest.approx(4.2)  # 11:11:32 row
    assert len(scan.iv_of("ID161ZR15000")) == 1
    # the sample-name prefix: found by either name, its cutoffs row (device_name LBE247,
    # device_id ID300YR1000Oct) matched to repetition 0's start time
    (lbe,) = scan.runs_of("ID300YR1000Oct")
    assert lbe.device_id == "LBE247_ID300YR1000Oct" and set(lbe.cutoffs) == {0}
    assert lbe.cutoff is not None and lbe.cutoff.v_end_neg == pytest.approx(-2.1)
    # the header-only files of ID185ZR500 are listed, not fatal; every cutoffs row is used
    errors = [p for p in scan.problems if p.severity == "error"]
    assert {p.path.name for p in errors} == {
        "pulsedAmplitudeSweep_DCIV[_ID185ZR500(0)]20241024144734.csv",
        "pulsedAmplitudeSweep_DCIV_N[_ID185ZR500(ALL)]20241024144733.csv"}
    assert all("header only" in p.reason and p.run == "20241024144733" for p in errors)
    assert scan.unreadable_runs().keys() == {("ID185ZR500", "20241024144733")}
    assert not [p for p in scan.problems if p.severity == "warning"]


def test_rising_mask_marks_the_falling_half_of_each_polarity() -> None:
    v = np.array([0.0, 0.1, 0.2, 0.3, 0.2, 0.1, 0.0, 0.0, -0.1, -0.2, -0.1, 0.0])
    assert rising_mask(v).tolist() == [True, True, True, True, False, False, False, False,
                                       True, True, False, False]
    # ramps that only rise and fixed-amplitude trains are all rising
    assert rising_mask(np.array([0.5, 1.0, 1.5, -0.5, -1.0])).all()
    assert rising_mask(np.full(7, -1.2)).all()
    # float amplitudes as a ramp generator writes them (0.1 + 0.05 k) stay rising
    assert rising_mask(np.concatenate([0.1 + 0.05 * np.arange(80),
                                       -0.1 - 0.05 * np.arange(80)])).all()


def test_sweep_that_ramps_back_down(hzo_dir: Path) -> None:
    """LBE247_ID180XR1000Star (bothSides = 1): 0 → 2.5 → 0 V, then 0 → −2 → 0 V per
    repetition; the all-repetitions file splits into the header's N = 2 repetitions that
    equal the single-repetition files, and only the rising halves are branch pulses."""
    (run,) = scan_folder(hzo_dir).runs_of("ID180XR1000Star")
    assert [r.n_pulses for r in run.repetitions] == [92, 92]
    folder = next((hzo_dir / "LBE247_ID180XR1000Star").iterdir())
    all_reps = read_wgfmu_sweep(next(folder.glob("*(ALL)*.csv")))
    assert len(all_reps) == 2
    singles = sorted((read_wgfmu_sweep(f)[0] for f in folder.glob("*[(][01][)]*.csv")),
                     key=lambda s: s.repetition)
    for whole, single in zip(all_reps, singles, strict=True):
        np.testing.assert_array_equal(whole.amplitude_v, single.amplitude_v)
    rep = run.repetitions[1]
    rising = rep.rising
    # 0…2.5 V and −0.1…−2 V (the 0 V pulse before the negative ramp ends the positive
    # one's fall): the 46 rising pulses the thesis kept; the falling halves stay in the sweep
    assert int(rising.sum()) == 26 + 20
    assert np.all(np.diff(rep.amplitude_v[rising & (rep.amplitude_v > 0)]) > 0)
    assert set(run.cutoffs) == {0, 1}  # both cutoff rows matched
    fit = fit_device(run)
    kept = np.concatenate([fit.clean.up.index, fit.clean.down.index])
    assert rising[kept].all() and kept.size == fit.clean.up.n_pulses + fit.clean.down.n_pulses
    assert fit.clean.up.n_pulses == 20 and fit.clean.down.n_pulses == 25
