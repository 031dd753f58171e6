"""Issue 27's smaller items: polarity hint and exit status of `device fit`, one-line
missing-field message of a device file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import load_device
from pulsetrain.errors import InputError
from tests.conftest import soft_bounds_trace


def _positive_potentiating(tmp_path: Path) -> Path:
    """A device that potentiates with positive pulses, tidy CSV without `direction`."""
    amps, w = soft_bounds_trace(80, 0.06, 0.03)
    pd.DataFrame({"pulse_index": np.arange(w.size), "amplitude_v": -amps,
                  "pulse_width_s": 2e-8, "conductance_s": 1e-7 * (1.2 + w),
                  "device_id": "SYN", "run": "r1"}).to_csv(tmp_path / "syn.csv", index=False)
    return tmp_path


def test_no_run_fitted_hints_at_polarity_and_exits_2(tmp_path: Path) -> None:
    folder = _positive_potentiating(tmp_path)
    done = CliRunner().invoke(app, ["device", "fit", str(folder), "--json"])
    assert done.exit_code == 2, done.output
    runs = json.loads(done.stdout[:done.stdout.rindex("}") + 1])["runs"]
    reason = " ".join(str(v) for r in runs for v in r.values())
    assert "'direction' column" in reason and "positive pulses" in reason
    assert "none of the 1 runs could be fitted" in done.stderr


def test_missing_field_of_a_device_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    content = {"name": "x", "lut_up": [0.1] * 50, "w_min": -1.0}
    path.write_text(json.dumps(content))
    with pytest.raises(InputError) as err:
        load_device(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert "'lut_down'" in message
    assert "0.1, 0.1" not in message  # not the file's content


def test_scan_table_has_a_run_column(tmp_path: Path) -> None:
    folder = _positive_potentiating(tmp_path)
    done = CliRunner().invoke(app, ["device", "scan", str(folder)],
                              env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    header = next(line for line in done.stdout.splitlines() if "device" in line
                  and "pulses" in line)
    assert " run " in header
    row = next(line for line in done.stdout.splitlines() if "SYN" in line)
    assert row.split("│")[2].strip() == "r1"  # the run's name, right after the device


def test_own_device_report_labels_nothing_published(tmp_path: Path) -> None:
    from tests.devices.test_fit import _tidy_run

    (tmp_path / "in").mkdir()
    folder = _tidy_run(tmp_path / "in", 0.06, 0.03)  # the user's own device, SYN
    out = tmp_path / "fit"
    done = CliRunner().invoke(app, ["device", "fit", str(folder), "--out", str(out),
                                    "--no-figures"])
    assert done.exit_code == 0, done.output
    reports = list(out.rglob("report.md"))
    assert reports
    text = reports[0].read_text(encoding="utf-8")
    assert "Gmax/Gmin" in text and "| r1 |" in text  # the run was fitted and listed
    assert "(published)" not in text
