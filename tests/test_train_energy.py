"""``pulsetrain train`` reports every cost, per epoch and in total (progress and --json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import builtin_device, save_device
from pulsetrain.energy.accounting import pulse_energies_j
from pulsetrain.energy.costs import DEFAULT_DIGITAL_OP_J
from pulsetrain.energy.models import energy_model_for
from pulsetrain.training.data import default_mnist_folder

needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")
TINY = ["--epochs", "2", "--train-subset", "512", "--val-size", "128", "--test-subset", "128"]


def _config(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text("hidden: [16]\n")
    return str(path)


@needs_mnist
def test_json_has_per_epoch_and_total_energy(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["train", "--config", _config(tmp_path), "--device",
                                   "ID161ZR15000-200us", "--algorithm", "mixed-precision",
                                   *TINY, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    epochs, energy = data["epochs"], data["energy"]
    dev = builtin_device("ID161ZR15000-200us")
    e_up, e_down = pulse_energies_j(dev, energy_model_for(dev))
    ups = sum(layer["up_total"] for layer in epochs[-1]["layers"])
    downs = sum(layer["down_total"] for layer in epochs[-1]["layers"])
    assert ups + downs == epochs[-1]["pulses_total"] > 0
    assert energy["programming_j"] == pytest.approx(ups * e_up + downs * e_down)
    # mixed precision's accumulator: batch × out × in multiply-adds per step
    assert energy["digital_j"] == pytest.approx(
        epochs[-1]["digital_updates_total"] * DEFAULT_DIGITAL_OP_J)
    assert energy["digital_j"] > energy["programming_j"]  # the dominant cost here
    assert energy["read_j"] > 0 and energy["sp_estimation_j"] == 0
    assert energy["total_j"] == pytest.approx(sum(m["energy_j"] for m in epochs))
    assert energy["total_j"] == pytest.approx(epochs[-1]["energy_total_j"])
    assert all(m["energy_j"] > 0 for m in epochs)


@needs_mnist
def test_progress_lines_show_energy_and_a_note_without_area(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["train", "--config", _config(tmp_path), "--device",
                                   "ID161ZR15000-200us", "--algorithm", "sgd", *TINY])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and all(" energy " in line and "(total " in line for line in lines)
    assert re.search(r", [0-9.]+ [mµnp]?J in all", res.stdout), res.stdout
    path = save_device(builtin_device("ID161ZR15000-2us").with_options(area_m2=None),
                       tmp_path / "no-area.json")
    res = CliRunner().invoke(app, ["train", "--config", _config(tmp_path), "--device",
                                   str(path), "--algorithm", "sgd", *TINY, "--json"])
    assert res.exit_code == 0, res.output
    note = json.loads(res.stdout)["energy"]["note"]
    assert note.startswith("no energy:") and "area_m2" in note
