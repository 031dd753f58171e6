"""Damaged lab folders: every bad file is one line naming it (and its line), never hides the
good ones, and readable-but-implausible input is a warning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import fit_device
from pulsetrain.errors import DataFormatError, DataWarning
from pulsetrain.measurements import read_tidy_csv, read_wgfmu_sweep, scan_folder
from tests.conftest import WGFMU_HEADER, soft_bounds_trace, wgfmu_rows, write_wgfmu

HEADER_LINES = WGFMU_HEADER.count("\n")
runner = CliRunner()


def _good_rows(n: int = 30) -> list[str]:
    amps, w = soft_bounds_trace(n)
    return wgfmu_rows(amps, 1e-7 * (1.5 + w))


def _good_run(folder: Path, rep: int = 1, stamp: str = "20240101120000") -> Path:
    path = folder / f"run_{stamp}" / f"pulsedAmplitudeSweep_DCIV[_DEVX({rep})]x.csv"
    return write_wgfmu(path, _good_rows())


def _tidy(path: Path, rows: list[str], header: str = "pulse_index,amplitude_v,pulse_width_s,"
          "conductance_s,run") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _tidy_rows(n: int = 40, pw: float = 2e-8, g_scale: float = 1e-7) -> list[str]:
    amps, w = soft_bounds_trace(n // 2)
    return [f"{i},{a:.3f},{pw:g},{g_scale * (1.5 + x):.6g},r1"
            for i, (a, x) in enumerate(zip(amps, w, strict=True))]


def _scan_cli(folder: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["device", "scan", str(folder)])
    return result.exit_code, result.stdout, result.stderr


def _one_line_about(stderr: str, name: str) -> str:
    lines = [line for line in stderr.splitlines() if name in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_decimal_comma_is_an_error_naming_the_line(tmp_path: Path) -> None:
    rows = _good_rows()
    rows[7] = "    7,  2,060,12345.0,12345.0"  # "2,060 V" with a decimal comma
    path = write_wgfmu(tmp_path / "run_20240101120000" /
                       "pulsedAmplitudeSweep_DCIV[_DEVX(1)]x.csv", rows)
    with pytest.raises(DataFormatError, match=r"got 5 .*decimal comma") as info:
        read_wgfmu_sweep(path)
    assert info.value.row == HEADER_LINES + 8
    # alone in its folder: exit 2, one line naming the file and line
    code, _, stderr = _scan_cli(tmp_path)
    assert code == 2
    assert f"{path.name}, line {HEADER_LINES + 8}" in _one_line_about(stderr, path.name)
    # beside a good run of another device: the good run is listed, the bad file too
    good = tmp_path / "other" / "run_20240101130000" / "pulsedAmplitudeSweep_DCIV[_DEVY(1)]x.csv"
    write_wgfmu(good, _good_rows(), WGFMU_HEADER.replace("_DEVX", "_DEVY"))
    code, stdout, stderr = _scan_cli(tmp_path)
    assert code == 0 and "DEVY" in stdout
    assert "unreadable" in _one_line_about(stderr, path.name)
    # and `fit` of the good device works; of the bad one it is a one-line error
    result = runner.invoke(app, ["device", "fit", str(tmp_path), "--device", "DEVY",
                                 "--no-figures", "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["device", "fit", str(tmp_path), "--device", "DEVX"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "decimal comma" in result.stderr and path.name in result.stderr


def test_extra_and_missing_fields_in_a_tidy_csv(tmp_path: Path) -> None:
    rows = _tidy_rows()
    rows[3] += ",surplus"
    path = _tidy(tmp_path / "t.csv", rows)
    with pytest.raises(DataFormatError, match=r"line 5: expected 5 comma-separated values .*"
                       r"got 6"):
        read_tidy_csv(path)
    rows = _tidy_rows()
    rows[9] = ",".join(rows[9].split(",")[:3])
    _tidy(path, rows)
    with pytest.raises(DataFormatError, match=r"line 11: expected 5 .*got 3 \(truncated row"):
        read_tidy_csv(path)


def test_utf8_bom_is_read(tmp_path: Path) -> None:
    """An Excel re-save puts a BOM before the first line: both formats still read."""
    wg = _good_run(tmp_path / "a")
    wg.write_bytes(b"\xef\xbb\xbf" + wg.read_bytes())
    tidy = _tidy(tmp_path / "b" / "t.csv", _tidy_rows())
    tidy.write_bytes(b"\xef\xbb\xbf" + tidy.read_bytes())
    for folder, device in ((tmp_path / "a", "DEVX"), (tmp_path / "b", "t")):
        scan = scan_folder(folder)
        assert scan.device_ids() == [device] and not scan.problems
        assert scan.runs[0].last.n_pulses in (40, 60)


def test_emptied_repetition_is_listed_and_the_run_keeps_the_good_one(tmp_path: Path) -> None:
    _good_run(tmp_path, rep=0)
    empty = write_wgfmu(tmp_path / "run_20240101120000" /
                        "pulsedAmplitudeSweep_DCIV[_DEVX(1)]y.csv", [])
    scan = scan_folder(tmp_path)
    (run,) = scan.runs
    assert [r.repetition for r in run.repetitions] == [0]
    (problem,) = scan.problems
    assert problem.path == empty and problem.severity == "error"
    assert problem.row == HEADER_LINES and "header only" in problem.reason
    assert run.problems == [problem]
    # the fit uses repetition 0 and says why in its quality flags
    cutoffs = tmp_path / "cutoffs.csv"
    cutoffs.write_text("device_id,run,VStartPos,VEndPos,VStartNeg,VEndNeg\n"
                       "DEVX,20240101120000,0,9,0,-9\n")
    fit = fit_device(scan_folder(tmp_path).runs[0])
    assert fit.metrics.repetition == 0
    assert any(empty.name in q and "header only" in q for q in fit.quality)
    code, _, stderr = _scan_cli(tmp_path)
    assert code == 0 and "header only" in _one_line_about(stderr, empty.name)


def test_header_only_file_alone_is_a_one_line_error(tmp_path: Path) -> None:
    path = write_wgfmu(tmp_path / "run_20240101120000" /
                       "pulsedAmplitudeSweep_DCIV[_DEVX(0)]x.csv", [])
    code, _, stderr = _scan_cli(tmp_path)
    assert code == 2 and stderr.count("\n") == 1
    assert "no pulse sweeps found" in stderr and "header only" in stderr
    assert f"{path.name}, line {HEADER_LINES}" in stderr


def test_binary_garbage_never_hides_the_good_files(tmp_path: Path) -> None:
    _good_run(tmp_path)
    junk = tmp_path / "run_20240101120000" / "pulsedAmplitudeSweep_DCIV[_DEVX(2)]z.csv"
    junk.write_bytes(b"Setup title\tpulsedAmplitudeSweep\n" +
                     bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8)))
    other = tmp_path / "photo.csv"
    other.write_bytes(bytes(range(256)) * 4)
    scan = scan_folder(tmp_path)
    assert len(scan.runs) == 1
    reasons = {p.path.name: p.reason for p in scan.problems}
    assert reasons[junk.name].startswith("binary content")
    assert reasons[other.name].startswith("binary content")
    code, stdout, stderr = _scan_cli(tmp_path)
    assert code == 0 and "DEVX" in stdout
    assert "binary content" in _one_line_about(stderr, junk.name)


@pytest.mark.parametrize(("indices", "words", "line"),
                         [((0, 1, 2, 2, 4), "pulse_index 2 repeats", 5),
                          ((0, 1, 3, 2, 4), "pulse_index 2 goes backwards", 5)])
def test_duplicate_and_swapped_tidy_indices(tmp_path: Path, indices: tuple[int, ...],
                                            words: str, line: int) -> None:
    rows = _tidy_rows(10)[:5]
    rows = [f"{k}," + r.split(",", 1)[1] for k, r in zip(indices, rows, strict=True)]
    path = _tidy(tmp_path / "t.csv", rows)
    with pytest.raises(DataFormatError, match=words) as info:
        read_tidy_csv(path)
    assert info.value.row == line
    code, _, stderr = _scan_cli(tmp_path)
    assert code == 2 and words in stderr and f"t.csv, line {line}" in stderr


def test_units_off_by_a_million_warn(tmp_path: Path) -> None:
    """A pulse width in µs written as seconds, conductances in nS written as siemens."""
    path = _tidy(tmp_path / "us.csv", _tidy_rows(pw=200.0))
    with pytest.warns(DataWarning, match=r"pulse width 200 s is above 1 s"):
        read_tidy_csv(path)
    _tidy(tmp_path / "ns.csv", _tidy_rows(g_scale=100.0))
    scan = scan_folder(tmp_path)
    assert len(scan.runs) == 2  # read, with warnings
    warned = {p.path.name: p.reason for p in scan.problems if p.severity == "warning"}
    assert "above 1 s" in warned["us.csv"]
    assert "outside 1e-15 … 1 S" in warned["ns.csv"]
    code, _, stderr = _scan_cli(tmp_path)
    assert code == 0 and "warning" in _one_line_about(stderr, "us.csv")


def test_cutoffs_row_that_matches_nothing_warns(tmp_path: Path) -> None:
    _good_run(tmp_path)
    (tmp_path / "cutoffs.csv").write_text(
        "device_name,device_id,test_date,test_time,VStartPos,VEndPos,VStartNeg,VEndNeg\n"
        "LAB,DEVX,24.10.2024,11:32:36,0.1,3.0,-0.1,-3.0\n"   # header time: matches
        "LAB,DEVQ,24.10.2024,11:32:36,0.1,3.0,-0.1,-3.0\n")  # no such device
    scan = scan_folder(tmp_path)
    assert scan.runs[0].cutoff is not None
    (warn,) = scan.problems
    assert warn.severity == "warning" and warn.row == 3 and "LAB/DEVQ" in warn.reason
    result = runner.invoke(app, ["device", "scan", str(tmp_path), "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["problems"][0]["line"] == 3


@pytest.mark.parametrize("instrument_id", ["_DEVX", "DEVX", "LAB_DEVX"])
def test_cutoffs_match_the_forms_real_files_use(tmp_path: Path, instrument_id: str) -> None:
    path = tmp_path / "run_20240101120000" / "pulsedAmplitudeSweep_DCIV[x(1)]x.csv"
    write_wgfmu(path, _good_rows(), WGFMU_HEADER.replace("_DEVX", instrument_id))
    (tmp_path / "cutoffs.csv").write_text(
        "device_name,device_id,test_date,test_time,VStartPos,VEndPos,VStartNeg,VEndNeg\n"
        "LAB,DEVX,24.10.2024,11:32:36,0.1,3.0,-0.1,-3.0\n")
    scan = scan_folder(tmp_path)
    assert scan.runs[0].cutoff is not None and not scan.problems
    assert scan.runs_of("DEVX")[0].device_id == instrument_id.lstrip("_")


def test_no_usable_run_is_one_line_listing_each_run(tmp_path: Path) -> None:
    amps, w = soft_bounds_trace(30)
    down_only = wgfmu_rows(amps[:30], 1e-7 * (1.5 + w[:30]))  # aborted: positive ramp only
    write_wgfmu(tmp_path / "run_20240101120000" / "pulsedAmplitudeSweep_DCIV[_DEVX(0)]a.csv",
                down_only)
    flat = wgfmu_rows(amps, np.full(amps.size, 1.4e-3))  # shorted: 714 ohm, no switching
    write_wgfmu(tmp_path / "run_20240101130000" / "pulsedAmplitudeSweep_DCIV[_DEVX(0)]b.csv",
                flat)
    result = runner.invoke(app, ["device", "fit", str(tmp_path), "--device", "DEVX"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    msg = result.stderr
    assert "20240101120000: repetition 0: no potentiation (up) pulses" in msg
    assert "20240101130000: repetition 0: no switching" in msg and "shorted" in msg
