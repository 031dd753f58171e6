"""The seams later work plugs into: run keys that survive new options, stores written by
earlier versions, algorithms and MVM non-idealities as registered classes, no import
cycles."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from pulsetrain.crossbar.mvm import PERIPHERY, Periphery, register_periphery
from pulsetrain.study import RunTask, SerialExecutor, StudyConfig, run_study
from pulsetrain.training.algorithms import AnalogOptimizer, SymmetryShiftReport
from pulsetrain.training.config import TrainConfig, run_key
from pulsetrain.training.data import default_mnist_folder
from pulsetrain.training.driver import train, train_stacked
from pulsetrain.training.layers import AnalogLinear
from pulsetrain.training.records import EventSink
from pulsetrain.training.registry import ALGORITHMS, TrainingAlgorithm, register_algorithm

REPO = Path(__file__).resolve().parents[1]
LEGACY = REPO / "tests" / "data" / "legacy-store"
needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")
TINY = {"hidden": [4], "train_subset": 64, "val_size": 64, "test_subset": 64,
        "batch_size": 16}


class WithNewOption(TrainConfig):
    """TrainConfig as a later version might extend it."""

    new_option: float = 0.25


def test_new_option_with_a_default_keeps_every_key() -> None:
    for cfg in (TrainConfig(), TrainConfig(algorithm="sgd", bl=15, seed=3),
                TrainConfig(algorithm="float", hidden=[8])):
        extended = WithNewOption(**cfg.model_dump())
        assert run_key(extended) == cfg.key()
        assert run_key(WithNewOption(**cfg.model_dump(), new_option=0.5)) != cfg.key()
    # a set option that already existed changes the key, as before
    assert TrainConfig(seed=1).key() != TrainConfig().key()


def test_options_of_another_algorithm_are_an_error() -> None:
    with pytest.raises(ValueError, match="option 'bl' applies to sgd, mixed-precision and "
                                         "sp-shift, not to algorithm 'float'"):
        TrainConfig(algorithm="float", bl=15)
    with pytest.raises(ValueError, match="'sp_offset' applies to sp-shift"):
        TrainConfig(algorithm="sgd", sp_offset=0.1)
    with pytest.raises(ValueError, match="unknown algorithm 'tiki'"):
        TrainConfig(algorithm="tiki")


@needs_mnist
def test_a_store_written_before_resumes(tmp_path: Path) -> None:
    """tests/data/legacy-store: a 2-epoch run killed after epoch 1, written by the code of
    commit 0722e98 (before schema-2 keys, the registry and the single driver).  Today's
    code finds its key, keeps its stored epoch and ends with the numbers of an
    uninterrupted run."""
    store = tmp_path / "old"
    shutil.copytree(LEGACY, store)
    cfg = TrainConfig(device="ID161ZR15000-200us", algorithm="sgd", epochs=2, **TINY)
    assert (LEGACY / "checkpoints" / f"{cfg.key()}.pt").is_file()

    def rows() -> list[tuple[object, ...]]:
        with sqlite3.connect(store / "results.sqlite") as db:
            return db.execute("SELECT epoch, metrics FROM epochs WHERE key = ? ORDER BY "
                              "epoch", (cfg.key(),)).fetchall()

    before = rows()
    assert [r[0] for r in before] == [1]
    # today's code computes the stored epoch bit for bit (it only adds the read counters)
    old_epoch = json.loads(str(before[0][1]))
    new_epoch = dict(train(cfg.model_copy(update={"epochs": 2})).epochs[0])
    assert "reads" in new_epoch and "reads" not in old_epoch
    for m in (old_epoch, new_epoch):
        m.pop("wall_s")
        m.pop("reads", None)
    assert new_epoch == old_epoch
    resumed = train(cfg, store, resume=True)
    assert rows()[0] == before[0] and [r[0] for r in rows()] == [1, 2]
    fresh = train(cfg)

    def strip(epochs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # read counters start at the resume: the old checkpoint has none
        return [{k: v for k, v in e.items() if k not in ("wall_s", "reads")} for e in epochs]

    assert strip(resumed.epochs) == strip(fresh.epochs)
    assert 0 < resumed.epochs[1]["reads"]["adc_total"] < fresh.epochs[1]["reads"]["adc_total"]


class HalfGain(Periphery):
    """Test-only read-out: every forward output at half its ideal value."""

    name = "test-half-gain"

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return 0.5 * super().forward(x, weight)


def test_an_mvm_nonideality_is_one_class() -> None:
    register_periphery(HalfGain)
    try:
        gen = torch.Generator().manual_seed(0)
        from pulsetrain.devices import builtin_device

        dev = builtin_device("ID161ZR15000-2us")
        ideal = AnalogLinear(6, 3, dev, torch.Generator().manual_seed(0), bias=False)
        half = AnalogLinear(6, 3, dev, gen, bias=False, periphery=HalfGain())
        x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
        y_ideal, y_half = ideal(x), half(x)
        torch.testing.assert_close(y_half, 0.5 * y_ideal)
        y_half.sum().backward()
        assert half.last_x is not None and half.last_d is not None  # the update still sees x, δ
        cfg = TrainConfig(algorithm="sgd", periphery="test-half-gain")
        assert cfg.key() != TrainConfig(algorithm="sgd").key()
        with pytest.raises(ValueError, match="unknown periphery"):
            TrainConfig(periphery="no-such-periphery")
    finally:
        PERIPHERY.pop(HalfGain.name)


class SignUpdate(AnalogOptimizer):
    """Test-only rule: one pulse against the sign of the batch gradient, where it is large."""

    def update_layer(self, index: int, layer: AnalogLinear, x: torch.Tensor, d: torch.Tensor,
                     lr: float) -> None:
        grad = d.T @ x
        counts = torch.where(grad.abs() > 1e-3, -torch.sign(grad), torch.zeros_like(grad))
        layer.tile.apply_pulse_counts(counts.to(torch.int64), self.layer_seed(index))


class SignSGD(TrainingAlgorithm):
    name = "test-sign"
    default_lr = 0.01
    options: ClassVar[tuple[str, ...]] = ()

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        return SignUpdate(model, lr=lr, seed=cfg.seed), None


@needs_mnist
def test_an_algorithm_is_one_class() -> None:
    register_algorithm(SignSGD)
    try:
        cfg = TrainConfig(device="ID161ZR15000-2us", algorithm="test-sign", epochs=1, **TINY)
        assert cfg.learning_rate == 0.01
        (res,) = train_stacked([cfg, cfg.model_copy(update={"seed": 1})], mvm="batched")[:1]
        layers = res.final["layers"]
        assert res.final["pulses_total"] == sum(x["up"] + x["down"] for x in layers) > 0
        assert len(layers) == 2  # both analog layers counted
    finally:
        ALGORITHMS.pop(SignSGD.name)


def test_every_module_imports_alone() -> None:
    """Import each module first, in a fresh package state: an import cycle would fail."""
    code = """
import importlib, pkgutil, sys
import pulsetrain
names = [m.name for m in pkgutil.walk_packages(pulsetrain.__path__, 'pulsetrain.')]
for name in names:
    for loaded in [k for k in sys.modules if k == 'pulsetrain' or k.startswith('pulsetrain.')]:
        del sys.modules[loaded]
    importlib.import_module(name)
print(len(names))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) >= 50


class ReverseOrder(SerialExecutor):
    """Test-only executor: the tasks in reverse order, in this process."""

    def run(self, tasks: Sequence[RunTask], emit: EventSink) -> Iterator[list[dict[str, Any]]]:
        yield from super().run(list(tasks)[::-1], emit)


@needs_mnist
def test_executors_are_peers_and_the_driver_writes_the_store(tmp_path: Path) -> None:
    """A custom executor gives the store the serial executor gives (row for row; the
    driver writes it from the runs' events) and progress for every epoch."""
    cfg = StudyConfig(devices=["ID161ZR15000-2us", "ID161ZR15000-20us"],
                      algorithms=[{"name": "sgd"}, {"name": "mixed-precision"}], epochs=2,
                      hidden=[8], train_subset=256, val_size=100, test_subset=100, stack=1)
    seen: list[int] = []
    run_study(cfg, tmp_path / "serial")
    run_study(cfg, tmp_path / "reverse", executor=ReverseOrder(),
              on_epoch=lambda m: seen.append(m["epoch"]))
    assert sorted(seen) == [1] * 4 + [2] * 4

    def rows(path: Path) -> list[tuple[object, ...]]:
        with sqlite3.connect(path / "results.sqlite") as db:
            out = []
            for key, epoch, text in db.execute("SELECT key, epoch, metrics FROM epochs "
                                               "ORDER BY key, epoch"):
                metrics = json.loads(text)
                metrics.pop("wall_s")
                out.append((key, epoch, metrics))
            return out

    assert rows(tmp_path / "reverse") == rows(tmp_path / "serial")
    assert len(rows(tmp_path / "serial")) == 8
