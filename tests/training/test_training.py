"""Training loop: learning, determinism, resume, counters, configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pulsetrain.devices import LutDevice, save_device
from pulsetrain.errors import InputError
from pulsetrain.store import ResultStore
from pulsetrain.training.config import TrainConfig, load_config_file
from pulsetrain.training.data import MNIST, load_mnist
from pulsetrain.training.driver import train
from pulsetrain.training.layers import analog_layers
from pulsetrain.training.trainer import Trainer

SMALL = {"hidden": [32], "train_subset": 1024, "test_subset": 1000, "val_size": 1000,
         "batch_size": 32}


@pytest.fixture(scope="module")
def mnist() -> MNIST:
    try:
        return load_mnist(val_size=1000, train_subset=1024, test_subset=1000)
    except InputError as exc:
        pytest.skip(str(exc))


def test_mnist_shapes(mnist: MNIST) -> None:
    assert mnist.train.x.shape == (1024, 784) and mnist.val.x.shape == (1000, 784)
    assert float(mnist.train.x.max()) == 1.0 and float(mnist.train.x.min()) == 0.0
    assert set(mnist.test.y.tolist()) == set(range(10))


@pytest.fixture(scope="module")
def fine_device(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fine-grained, mildly asymmetric soft-bounds device (1000 states, SP = 0.2):
    analog SGD on it should behave close to float SGD."""
    grid = np.linspace(-1, 1, 33)
    dev = LutDevice("fine", 0.0015 * (1 - grid), 0.001 * (1 + grid))
    return str(save_device(dev, tmp_path_factory.mktemp("dev") / "fine.json"))


@pytest.mark.parametrize("algorithm", ["float", "mixed-precision", "sgd", "sp-shift"])
def test_each_algorithm_learns_and_counts(algorithm: str, mnist: MNIST,
                                          fine_device: str) -> None:
    cfg = TrainConfig(algorithm=algorithm, epochs=3, device=fine_device, lr=0.5, **SMALL)
    res = train(cfg, data=mnist)
    # 1024 training images, 3 epochs, seed 0 (deterministic): measured float 0.79, MP 0.74,
    # SGD 0.51, SP shift 0.55; chance is 0.10 and a sign error drives accuracy below it
    assert res.final["test_acc"] > 0.4, res.final
    if algorithm == "float":
        assert res.final["pulses_total"] == 0
        return
    per_epoch = sum(m["pulses"] for m in res.epochs)
    assert per_epoch == res.final["pulses_total"] > 0
    for layer in res.final["layers"]:
        assert layer["up_total"] > 0 and layer["down_total"] > 0
    if algorithm == "mixed-precision":
        # one multiply-add per weight per sample: 3 epochs × 1024 × (784·32 + 32·10)
        assert res.final["digital_updates_total"] == 3 * 1024 * (784 * 32 + 32 * 10)
    if algorithm == "sp-shift":
        assert res.sp_report is not None and res.sp_report["pulses"] > 0


def test_same_seed_same_numbers(mnist: MNIST) -> None:
    cfg = TrainConfig(algorithm="sgd", epochs=2, lr=0.1, **SMALL)
    a, b = train(cfg, data=mnist), train(cfg, data=mnist)
    assert a.epochs == [{**m, "wall_s": a.epochs[i]["wall_s"]} for i, m in enumerate(b.epochs)]
    c = train(cfg.model_copy(update={"seed": 1}), data=mnist)
    assert c.final["pulses_total"] != a.final["pulses_total"]


def test_resume_reproduces_uninterrupted_run(mnist: MNIST, tmp_path: Path) -> None:
    cfg = TrainConfig(algorithm="mixed-precision", epochs=3, **SMALL)
    full = train(cfg, out=tmp_path / "full", data=mnist)
    # "kill" after epoch 1: run a 1-epoch job writing the same checkpoint key? No — the key
    # includes epochs; instead stop the loop via an exception from the epoch callback.
    class Stop(Exception):
        pass

    def stop_after_first(m: dict[str, object]) -> None:
        if m["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        train(cfg, out=tmp_path / "cut", data=mnist, on_epoch=stop_after_first)
    store = ResultStore(tmp_path / "cut" / "results.sqlite")
    assert [m["epoch"] for m in store.epochs(cfg.key())] == [1]  # epoch 1 kept
    resumed = train(cfg, out=tmp_path / "cut", resume=True, data=mnist)
    strip = [{k: v for k, v in m.items() if k != "wall_s"} for m in full.epochs]
    assert [{k: v for k, v in m.items() if k != "wall_s"} for m in resumed.epochs] == strip
    assert [m["epoch"] for m in store.epochs(cfg.key())] == [1, 2, 3]
    assert store.run_status(cfg.key()) == "done"


def test_sp_shift_keeps_weights_and_sets_references() -> None:
    cfg = TrainConfig(algorithm="sp-shift", device="ID161ZR15000-2us", **SMALL)
    plain = Trainer.build(cfg.model_copy(update={"algorithm": "sgd"}))
    shifted = Trainer.build(cfg)
    for a, b in zip(analog_layers(plain.model), analog_layers(shifted.model), strict=True):
        torch.testing.assert_close(a.tile.weight, b.tile.weight, atol=1e-6, rtol=0)
        sp = float(b.tile.ref.mean())
        assert sp == pytest.approx(b.tile.device.metrics["symmetry_point"], abs=0.01)
        assert float(b.tile.w.mean()) == pytest.approx(sp, abs=0.01)  # devices sit at SP
    assert shifted.sp_report is not None and shifted.sp_report.reference_error < 1e-3
    off = Trainer.build(cfg.model_copy(update={"sp_offset": 0.1}))
    assert off.sp_report is not None
    assert off.sp_report.reference_error == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize(
    ("text", "words"),
    [("epochs: 3\ncolour: red\n", "key 'colour': unknown key"),
     ("epochs: three\n", "key 'epochs'"),
     ("algorithm: adam\n", "key 'algorithm'"),
     ("lr: -1\n", "key 'lr'"),
     ("torch_device: gpu\n", "key 'torch_device': expected cpu, cuda or cuda:N (got 'gpu')"),
     ("torch_device: cuda\nbackend: numba\n", "backend 'numba' runs on CPU tensors only")],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, words: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as info:
        load_config_file(p)
    assert words in str(info.value) and str(p) in str(info.value)


def test_toml_config(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('algorithm = "sgd"\nepochs = 4\nhidden = [64]\n')
    cfg = load_config_file(p)
    assert isinstance(cfg, TrainConfig)
    assert cfg.epochs == 4 and cfg.learning_rate == 0.05


def _idx(path: Path, magic: int, dims: list[int], data: bytes) -> None:
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(head + data)


def test_user_idx_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for stem, n in (("train", 60), ("t10k", 20)):
        _idx(tmp_path / f"{stem}-images-idx3-ubyte", 2051, [n, 28, 28],
             rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes())
        _idx(tmp_path / f"{stem}-labels-idx1-ubyte", 2049, [n],
             (np.arange(n) % 10).astype(np.uint8).tobytes())
    data = load_mnist(tmp_path, val_size=10)
    assert (len(data.train), len(data.val), len(data.test)) == (50, 10, 20)
    assert float(data.train.x.max()) <= 1.0 and data.test.y.tolist()[:3] == [0, 1, 2]
    _idx(tmp_path / "t10k-labels-idx1-ubyte", 1234, [20], bytes(20))
    with pytest.raises(InputError, match="bad IDX magic number 1234"):
        load_mnist(tmp_path, val_size=10)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(InputError, match="no t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, val_size=10)
