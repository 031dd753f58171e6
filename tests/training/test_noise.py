"""Cycle-to-cycle noise and device-to-device variation as train/study options, the
report lines that state them, and device objects in TrainConfig (issue 27)."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import builtin_device, save_device
from pulsetrain.devices.io import load_device
from pulsetrain.devices.lut import LutDevice
from pulsetrain.errors import DataWarning, InputError
from pulsetrain.training.config import TrainConfig, device_ref
from pulsetrain.training.data import default_mnist_folder
from pulsetrain.training.layers import analog_layers
from pulsetrain.training.trainer import Trainer, training_device

needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")
DEVICE = "ID161ZR15000-200ns"
TINY = {"hidden": [16], "epochs": 1, "train_subset": 256, "val_size": 256, "test_subset": 256}


def _tiles(cfg: TrainConfig) -> list:  # type: ignore[type-arg]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return [layer.tile for layer in analog_layers(Trainer.build(cfg).model)]


def _relative_steps(cfg: TrainConfig) -> torch.Tensor:
    """One up pulse on every device of the first tile from w = 0: the weight change over
    the device's noise-free step there (1 everywhere without c2c noise)."""
    tile = _tiles(cfg)[0]
    tile.set_weight(torch.zeros(tile.shape))
    nominal = tile.dt.step(tile.w.clone(), True)
    tile.apply_pulse_counts(torch.ones(tile.shape, dtype=torch.int32), seed=12345)
    return (tile.w / nominal).flatten()


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_measured_noise_is_applied(backend: str) -> None:
    # 256 x 784 = 200,704 single pulses: the std of their relative step has a standard
    # error of 0.25 / sqrt(2 n) = 4e-4, so 0.01 is 25 standard errors (a wrong noise level,
    # e.g. the built-in estimate 0.064 or none, is off by > 0.18)
    pytest.importorskip("numba") if backend == "numba" else None
    dev = builtin_device(DEVICE).with_options(c2c_noise_estimate=0.25)
    rel = _relative_steps(TrainConfig(device=dev, c2c_noise="measured", hidden=[256],
                                      backend=backend))
    assert rel.numel() == 256 * 784
    assert abs(float(rel.std()) - 0.25) < 0.01
    assert abs(float(rel.mean()) - 1.0) < 0.005  # 1 + 0.25 z: unbiased (SE 6e-4)
    set_rel = _relative_steps(TrainConfig(device=dev, c2c_noise=0.1, hidden=[256],
                                          backend=backend))
    assert abs(float(set_rel.std()) - 0.1) < 0.004  # SE 1.6e-4
    quiet = _relative_steps(TrainConfig(device=dev, hidden=[256], backend=backend))
    assert float((quiet - 1).abs().max()) < 1e-5  # default: noise-free as before


def test_measured_picks_the_estimate_and_needs_one(tmp_path: Path) -> None:
    dev = builtin_device(DEVICE)
    assert dev.c2c_noise == 0 and dev.c2c_noise_estimate is not None
    used = training_device(TrainConfig(c2c_noise="measured"))
    assert used is not None and used.c2c_noise == dev.c2c_noise_estimate
    assert TrainConfig(c2c_noise="measured").noise(dev).source == "measured"
    bare = save_device(dev.with_options(name="bare", c2c_noise_estimate=None),
                       tmp_path / "bare.json")
    with pytest.raises(InputError, match=r"c2c_noise: measured, but device '.*bare\.json' "
                       r"carries no c2c noise estimate"):
        training_device(TrainConfig(device=str(bare), c2c_noise="measured"))
    with pytest.raises(ValidationError):
        TrainConfig(c2c_noise="fitted")  # type: ignore[arg-type]


def test_variation_spreads_per_device_steps_with_the_stated_std() -> None:
    # 200,704 devices per first tile: SE of a std s is s / sqrt(2 n) <= 3.2e-4; the
    # tolerances are >= 10 SE; the clamps (at 0 and 0.1) sit >= 5 sigma away
    spec = {"step": 0.2, "bounds": 0.1, "up_down": 0.05}
    dev = builtin_device(DEVICE)
    cfg = TrainConfig(device_variation=spec, hidden=[256, 128])
    first, second, _ = _tiles(cfg)
    gu, gd = first.dt.gain_up, first.dt.gain_down
    gain, r = (gu + gd) / 2, (gu - gd) / (gu + gd)
    assert abs(float(gain.mean()) - 1) < 0.005 and abs(float(gain.std()) - 0.2) < 0.005
    assert abs(float(r.std()) - 0.05) < 0.002
    assert abs(float((first.dt.w_max / dev.w_max).std()) - 0.1) < 0.003
    assert abs(float((first.dt.w_min / dev.w_min).std()) - 0.1) < 0.003
    # drawn once per tile from the run's seed: tiles differ, the same seed repeats them
    assert not torch.equal(second.dt.gain_up[:16, :16], first.dt.gain_up[:16, :16])
    again = _tiles(TrainConfig(device_variation=spec, hidden=[256, 128]))[0]
    assert torch.equal(again.dt.gain_up, gu)
    other = _tiles(TrainConfig(device_variation=spec, hidden=[256, 128], seed=1))[0]
    assert not torch.equal(other.dt.gain_up, gu)
    # a number: the step size only
    plain = _tiles(TrainConfig(device_variation=0.2, hidden=[256]))[0]
    assert abs(float(plain.dt.gain_up.std()) - 0.2) < 0.005
    assert torch.equal(plain.dt.gain_up, plain.dt.gain_down)
    assert bool((plain.dt.w_max == dev.w_max).all())
    assert cfg.noise(dev).variation_text == "step 0.2, bounds 0.1, up/down 0.05"


def test_device_variation_replaces_the_std_overrides() -> None:
    with pytest.raises(ValidationError, match="device_variation replaces step_gain_std"):
        TrainConfig(device_variation=0.1, step_gain_std=0.1)
    with pytest.raises(ValidationError):
        TrainConfig(device_variation={"steps": 0.1})
    with pytest.raises(ValidationError):
        TrainConfig(device_variation=-0.1)


def test_new_options_keyed_only_when_set() -> None:
    # keys of the pre-change code (main at 2bd84bb) for these configs
    assert TrainConfig().key() == "779210b6ca393afb"
    assert TrainConfig(c2c_noise=0).key() == "17ce4c5f61caf579"
    assert TrainConfig(**TINY).key() == "5e716573b0aa4b1c"
    keys = {TrainConfig(c2c_noise="measured").key(), TrainConfig(device_variation=0.1).key(),
            TrainConfig(device_variation={"step": 0.1}).key(), TrainConfig().key()}
    assert len(keys) == 4
    assert "device_variation" not in TrainConfig().stored()


@needs_mnist
def test_default_runs_are_bit_identical(tmp_path: Path) -> None:
    from pulsetrain.training.driver import train
    from pulsetrain.training.trainer import checkpoint_path, read_checkpoint

    # run key, digest of the final device states, train loss and pulses of these tiny runs
    # as the code before this change (main at 2bd84bb) gave them
    before = {
        "sgd": ("f45f034e7b91849b", "393cf4f810908f91", 2.318711221218109, 278),
        "sgd-noisy": ("a9b7de77ef131f79", "6cf56e2acf54139f", 2.4052118062973022, 253),
    }
    noisy = {"c2c_noise": 0.1, "step_gain_std": 0.1, "bound_std": 0.05, "up_down_std": 0.05}
    same_draws = {"c2c_noise": 0.1, "device_variation": {"step": 0.1, "bounds": 0.05,
                                                          "up_down": 0.05}}
    for name, extra in (("sgd", {}), ("sgd-noisy", noisy), ("sgd-noisy", same_draws)):
        cfg = TrainConfig(algorithm="sgd", **TINY, **extra)  # type: ignore[arg-type]
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            result = train(cfg, out)
        digest = hashlib.sha256()
        for w in read_checkpoint(checkpoint_path(cfg, out)).device_states:
            digest.update(w.numpy().tobytes())
        key, weights, loss, pulses = before[name]
        if "device_variation" not in extra:
            assert cfg.key() == key
        assert digest.hexdigest()[:16] == weights
        assert (result.final["train_loss"], result.final["pulses_total"]) == (loss, pulses)


def test_ignored_estimate_warns() -> None:
    estimate = builtin_device(DEVICE).c2c_noise_estimate
    assert estimate is not None
    with pytest.warns(DataWarning, match=rf"{DEVICE}: carries a measured c2c noise estimate "
                      rf"of {estimate:.3g} that this run ignores"):
        training_device(TrainConfig())
    for quiet in (TrainConfig(c2c_noise=0), TrainConfig(c2c_noise="measured")):
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)
            training_device(quiet)
    assert TrainConfig().noise(builtin_device(DEVICE)).describe() == (
        f"c2c noise 0 (device's; estimate {estimate:.3g} ignored), d2d variation none")


def test_device_object_in_config(tmp_path: Path) -> None:
    dev = builtin_device(DEVICE)
    cfg = TrainConfig(device=dev)
    assert cfg.key() == TrainConfig(device=builtin_device(DEVICE)).key()  # equal parameters
    assert cfg.key() != TrainConfig(device=dev.with_options(w_max=0.9)).key()
    assert cfg.stored()["device"] == device_ref(dev) == cfg.device_label
    assert device_ref(dev).startswith(f"{DEVICE}@sha256:")
    json.dumps(cfg.stored())
    # a device file's content gives the same reference once loaded
    assert device_ref(load_device(save_device(dev, tmp_path / "d.json"))) == device_ref(dev)
    used = training_device(cfg.model_copy(update={"c2c_noise": 0.0}))
    assert isinstance(used, LutDevice) and used.lut_up.tolist() == dev.lut_up.tolist()
    with pytest.raises(ValidationError):
        TrainConfig(device=3.5)  # type: ignore[arg-type]


@needs_mnist
def test_reports_state_the_noise(tmp_path: Path) -> None:
    import pandas as pd

    estimate = builtin_device(DEVICE).c2c_noise_estimate
    assert estimate is not None
    (tmp_path / "t.yaml").write_text("algorithm: sgd\nc2c_noise: measured\nhidden: [8]\n"
                                     "epochs: 1\ntrain_subset: 128\nval_size: 128\n"
                                     "test_subset: 128\n")
    result = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "t.yaml"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    noise = json.loads(result.stdout)["noise"]
    assert noise["c2c_noise"] == estimate and noise["c2c_source"] == "measured"
    assert noise["variation"] == {"step_gain_std": 0, "bound_std": 0, "up_down_std": 0}

    study = (f"name: n\ndevices: [{DEVICE}]\nalgorithms: [{{name: sgd, lr: 0.1}}]\n"
             "epochs: 1\nhidden: [8]\ntrain_subset: 128\nval_size: 128\ntest_subset: 128\n")
    (tmp_path / "s.yaml").write_text(study + "train: {c2c_noise: measured, "
                                     "device_variation: 0.05}\n")
    result = CliRunner().invoke(app, ["study", "run", str(tmp_path / "s.yaml"), "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "o" / "report.md").read_text()
    assert (f"Noise: c2c noise {estimate:.3g} (measured), d2d variation step 0.05, "
            "bounds 0, up/down 0") in md
    assert "**Warning:**" not in md
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert runs.c2c_noise.tolist() == [pytest.approx(estimate)]
    assert runs.device_variation.tolist() == ["step 0.05, bounds 0, up/down 0"]
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert summary.c2c_noise.tolist() == [pytest.approx(estimate)]
    table = [line for line in md.splitlines() if line.startswith("| sgd |")]
    assert len(table) == 1 and table[0].endswith(
        f"| {estimate:.3g} | step 0.05, bounds 0, up/down 0 |")


def test_report_warns_of_ignored_estimates() -> None:
    from pulsetrain.report.study_report import noise_lines
    from pulsetrain.study import StudyConfig

    estimates = sorted(builtin_device(d).c2c_noise_estimate or 0
                       for d in ("ID161ZR15000-20us", "ID161ZR15000-200us"))
    cfg = StudyConfig(devices=["ID161ZR15000-20us", "ID161ZR15000-200us"],
                      algorithms=["sgd", "float"])
    lines = noise_lines(cfg)
    assert lines[0].startswith("Noise: c2c noise 0 (device), d2d variation none (")
    assert (f"**Warning:** 2 device(s) carry a measured c2c noise estimate "
            f"({estimates[0]:.3g}–{estimates[1]:.3g}) that these runs ignore") in lines[2]
    quiet = StudyConfig(devices=["ID161ZR15000-20us"], algorithms=["sgd"],
                        train={"c2c_noise": 0})
    assert not any("Warning" in line for line in noise_lines(quiet))
    assert noise_lines(quiet)[0].startswith("Noise: c2c noise 0 (set)")
