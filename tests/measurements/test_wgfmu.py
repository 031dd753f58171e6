from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from pulsetrain.measurements import UP, read_dciv, read_wgfmu_sweep, scan_folder

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
                                 "ID186ZR500", "LBE247_ID300YR1000Oct"]
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
