"""The CLI through its runner: help, scan, fit, list, show."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import load_device
from tests.conftest import DEVICE

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "device" in result.output
    result = runner.invoke(app, ["device", "--help"])
    for cmd in ("scan", "fit", "list", "show"):
        assert cmd in result.output


def test_scan_json(hzo_dir: Path) -> None:
    result = runner.invoke(app, ["device", "scan", str(hzo_dir), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    rows = [r for r in data["runs"] if r["device_id"] == DEVICE]
    assert len(rows) == 13 and len(data["runs"]) == 20
    assert [p["severity"] for p in data["problems"]] == ["error", "error"]
    row = next(r for r in rows if r["run"] == "20241024112926")
    assert row["pulse_width_s"] == 2e-4 and row["repetitions"] == 2 and row["pulses"] == 136
    assert row["time"] == "11:29:27" and row["has_cutoff"]


def test_fit_writes_everything(hzo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit"
    result = runner.invoke(app, ["device", "fit", str(hzo_dir), "--device", DEVICE,
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    status = [r["status"] for r in data["runs"]]
    assert len(status) == 13 and status.count("fitted") == 8 and status.count("refused") == 5
    assert all(r["reason"] for r in data["runs"] if r["status"] == "refused")
    metrics = pd.read_csv(out / "metrics.csv")
    for col in ("device_id", "run", "pulse_width_s", "gmax_gmin", "on_off", "n_up", "n_down",
                "dw_min", "asymmetry", "nl_ltp", "nl_ltd", "symmetry_point", "c2c_noise"):
        assert col in metrics.columns
    assert len(metrics) == 8
    files = sorted((out / "devices").glob("*.json"))
    assert len(files) == 8
    dev = load_device(files[0])
    assert dev.metrics["gmax_gmin"] > 1
    figs = {p.name for p in (out / "figures").glob("*.png")}
    assert "summary.png" in figs and len(figs) == 17
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns[:7]) == ["device_id", "run", "pulse_width_s", "status",
                                         "reason", "window", "quality"]
    assert len(summary) == 13
    assert "summary.png" in (out / "report.md").read_text()


def test_list_and_show() -> None:
    result = runner.invoke(app, ["device", "list", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    names = [d["name"] for d in listed]
    assert names[0] == "ID161ZR15000-20ns-a" and len(names) == 14
    assert [d["recipe"] for d in listed].count("thesis") == 7
    result = runner.invoke(app, ["device", "list", "--recipe", "measured", "--json"])
    assert len(json.loads(result.stdout)) == 7
    result = runner.invoke(app, ["device", "show", "ID161ZR15000-200us", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["pulse_width_s"] == 2e-4


def test_train_json_and_resume(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("algorithm: mixed-precision\nhidden: [16]\nval_size: 500\n"
                   "test_subset: 500\nbatch_size: 32\n")
    args = ["train", "--config", str(cfg), "--train-subset", "256", "--epochs", "2",
            "--out", str(tmp_path / "o"), "--json"]
    result = runner.invoke(app, args)
    if result.exit_code == 2 and "MNIST not found" in result.stderr:
        pytest.skip("MNIST files not installed")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [m["epoch"] for m in data["epochs"]] == [1, 2]
    # reading the array is counted and priced apart from programming
    first, second = data["epochs"]
    assert second["reads"]["adc_total"] == 2 * first["reads"]["adc_total"] > 0
    assert second["read_energy_total_j"] == pytest.approx(
        first["read_energy_j"] + second["read_energy_j"], rel=1e-12)
    assert 0 < first["read_array_total_j"] < first["read_energy_total_j"]
    assert data["config"]["hidden"] == [16] and data["config"]["train_subset"] == 256
    assert (tmp_path / "o" / "results.sqlite").is_file()
    assert (tmp_path / "o" / "checkpoints" / f"{data['key']}.pt").is_file()
    # resuming a finished run trains nothing more and reports the same numbers
    again = json.loads(runner.invoke(app, [*args, "--resume"]).stdout)
    assert again["epochs"] == data["epochs"]


def test_train_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--resume"])
    assert result.exit_code == 2 and "--resume needs --out" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = 3\nlearning_rate = 0.1\n")
    result = runner.invoke(app, ["train", "--config", str(bad)])
    assert result.exit_code == 2
    assert "key 'learning_rate': unknown key" in result.stderr and str(bad) in result.stderr
    result = runner.invoke(app, ["train", "--device", "missing.json"])
    assert result.exit_code == 2 and "missing.json" in result.stderr
    if not torch.cuda.is_available():  # asking for a GPU that is not there: one line
        result = runner.invoke(app, ["train", "--torch-device", "cuda", "--out",
                                     str(tmp_path / "o")])
        assert result.exit_code == 2
        assert "torch_device 'cuda': no CUDA device here" in result.stderr
        assert not (tmp_path / "o" / "results.sqlite").exists()  # nothing was recorded


def test_stack_option_rejects_bad_values(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("epochs: 1\n")
    for bad in ("0", "many"):
        result = runner.invoke(app, ["study", "run", str(cfg), "--stack", bad,
                                     "--out", str(tmp_path / "o")])
        assert result.exit_code == 2
        assert f"--stack: expected 'auto' or a positive integer, got '{bad}'" in result.stderr
    assert not (tmp_path / "o").exists()  # nothing ran
