"""Every kind of bad input gives one clear error naming the file (and line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.errors import DataFormatError, NoSweepsError, UnknownDeviceError
from pulsetrain.measurements import read_tidy_csv, read_wgfmu_sweep, scan_folder
from tests.conftest import WGFMU_HEADER, soft_bounds_trace, wgfmu_rows, write_wgfmu

HEADER_LINES = WGFMU_HEADER.count("\n")


def _good_rows() -> list[str]:
    amps, w = soft_bounds_trace(20)
    return wgfmu_rows(amps, 1e-7 * (1.5 + w))


def _case(tmp_path: Path, kind: str) -> tuple[Path, int | None]:
    rows = _good_rows()
    path = tmp_path / "run_20240101120000" / "pulsedAmplitudeSweep_DCIV[_DEVX(1)]x.csv"
    if kind == "truncated":
        rows[-1] = rows[-1][:9]  # the file stops in the middle of a row
        return write_wgfmu(path, rows), HEADER_LINES + len(rows)
    if kind == "missing_column":
        header = WGFMU_HEADER.replace(", R_high (ohm)", "")
        return write_wgfmu(path, [",".join(r.split(",")[:3]) for r in rows], header), \
            HEADER_LINES
    if kind == "nan":
        rows[5] = "    5,  0.350,nan,12345.0"
        return write_wgfmu(path, rows), HEADER_LINES + 6
    if kind == "header_only":
        return write_wgfmu(path, []), HEADER_LINES
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "words"),
    [("truncated", "expected 4 comma-separated values"),
     ("missing_column", "missing column(s) 'R_high (ohm)'"),
     ("nan", "not finite"),
     ("header_only", "header only")],
)
def test_bad_wgfmu_file(tmp_path: Path, kind: str, words: str) -> None:
    path, line = _case(tmp_path, kind)
    with pytest.raises(DataFormatError) as info:
        read_wgfmu_sweep(path)
    assert info.value.path == path
    assert info.value.row == line
    assert words in str(info.value)
    assert str(path) in str(info.value)
    # and through the CLI: one line, naming the file, exit code 2
    result = CliRunner().invoke(app, ["device", "scan", str(path.parent)])
    assert result.exit_code == 2
    msg = result.stderr.strip()
    assert msg.startswith("error:") and path.name in msg and words in msg
    assert "Traceback" not in result.output + result.stderr


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(NoSweepsError, match="no pulse sweeps found"):
        scan_folder(tmp_path)
    result = CliRunner().invoke(app, ["device", "scan", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path) in result.stderr and "no pulse sweeps" in result.stderr


def test_unknown_device_id(hzo_dir: Path) -> None:
    with pytest.raises(UnknownDeviceError, match="devices found: ID161ZR15000"):
        scan_folder(hzo_dir).runs_of("NOPE")
    result = CliRunner().invoke(app, ["device", "fit", str(hzo_dir), "--device", "NOPE",
                                      "--no-figures"])
    assert result.exit_code == 2
    assert "'NOPE'" in result.stderr and result.stderr.count("\n") == 1


def test_unknown_builtin_name() -> None:
    result = CliRunner().invoke(app, ["device", "show", "no-such-device"])
    assert result.exit_code == 2
    assert "unknown device 'no-such-device'" in result.stderr
    assert "ID161ZR15000-200ns" in result.stderr  # lists what exists


def test_tidy_bad_direction_and_nonpositive(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("pulse_index,amplitude_v,pulse_width_s,conductance_s,direction\n"
                 "0,-1,2e-8,1e-7,up\n1,-1,2e-8,1.1e-7,sideways\n")
    with pytest.raises(DataFormatError, match=r"line 3: column 'direction': 'sideways'"):
        read_tidy_csv(p)
    p.write_text("pulse_index,amplitude_v,pulse_width_s,resistance_ohm\n0,-1,2e-8,-5\n")
    with pytest.raises(DataFormatError, match=r"line 2: column 'resistance_ohm': -5 must be > 0"):
        read_tidy_csv(p)
    p.write_text("pulse_index,amplitude_v,conductance_s\n0,-1,1e-7\n")
    with pytest.raises(DataFormatError, match=r"missing column.*pulse_width_s"):
        read_tidy_csv(p)
    p.write_text("pulse_index,amplitude_v,pulse_width_s,conductance_s\n")
    with pytest.raises(DataFormatError, match="header only"):
        read_tidy_csv(p)
