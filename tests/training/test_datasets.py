"""The dataset seam: registry, MNIST unchanged, Fashion-MNIST, CIFAR-10 and IDX folders,
split limits from the dataset, and a tiny end-to-end run on CIFAR-10-format data."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.errors import DataFormatError, InputError
from pulsetrain.study.config import StudyConfig
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import default_mnist_folder, load_mnist
from pulsetrain.training.datasets import (
    DATASETS,
    FASHION_MNIST_FOLDER,
    get_dataset,
    load_dataset,
)
from pulsetrain.training.driver import train_runs
from pulsetrain.training.layers import analog_layers
from pulsetrain.training.trainer import Trainer

needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")
needs_fashion = pytest.mark.skipif(
    not FASHION_MNIST_FOLDER.is_dir(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


def _digest(x: torch.Tensor, y: torch.Tensor) -> str:
    return hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes()).hexdigest()[:16]


# -- registry -------------------------------------------------------------------------

def test_registry_declares_shapes_classes_and_sizes() -> None:
    assert set(DATASETS) >= {"mnist", "fashion-mnist", "cifar10", "idx"}
    mnist, fashion = get_dataset("mnist"), get_dataset("fashion-mnist")
    assert (mnist.input_shape, mnist.n_classes, mnist.n_features) == ((1, 28, 28), 10, 784)
    assert (fashion.input_shape, fashion.n_classes) == ((1, 28, 28), 10)
    cifar = DATASETS["cifar10"]
    assert (cifar.input_shape, cifar.n_classes, cifar.train_size, cifar.test_size) == (
        (3, 32, 32), 10, 50_000, 10_000)
    assert (DATASETS["mnist"].train_size, DATASETS["mnist"].test_size) == (60_000, 10_000)


def test_unknown_dataset_suggests_the_closest() -> None:
    with pytest.raises(InputError, match=r"unknown dataset 'fashon-mnist'; did you mean "
                       r"'fashion-mnist'\?"):
        get_dataset("fashon-mnist")
    with pytest.raises(ValidationError, match=r"did you mean 'cifar10'"):
        TrainConfig(dataset="cifar-10")
    with pytest.raises(ValidationError, match=r"did you mean 'mnist'"):
        StudyConfig(dataset="mnst")


def test_datasets_without_default_files_need_data_dir() -> None:
    for name in ("cifar10", "idx"):
        with pytest.raises(InputError, match=f"dataset '{name}' needs data_dir"):
            get_dataset(name)
        with pytest.raises(ValidationError, match=f"data_dir: dataset '{name}' needs"):
            TrainConfig(dataset=name)
    with pytest.raises(ValidationError, match="data_dir: dataset 'cifar10' needs"):
        StudyConfig(dataset="cifar10")


# -- MNIST stays what it was ----------------------------------------------------------

def test_run_keys_of_existing_configs_unchanged() -> None:
    # stored-result guard: keys computed on main before the dataset seam (commit 2bd84bb);
    # stores and checkpoints written then are found under exactly these keys
    assert TrainConfig().key() == "779210b6ca393afb"
    assert TrainConfig(algorithm="sgd", val_size=500, train_subset=100).key() == \
        "f2f93919be37a0c6"
    assert TrainConfig(dataset="mnist").key() == TrainConfig().key()
    assert "dataset" not in TrainConfig().stored()
    other = TrainConfig(dataset="fashion-mnist")
    assert other.key() != TrainConfig().key() and other.stored()["dataset"] == "fashion-mnist"


@needs_mnist
def test_mnist_tensors_bit_identical() -> None:
    # stored-result guard: digests of these splits computed on main before the change
    data = load_mnist(val_size=1000, train_subset=1024, test_subset=500)
    assert [_digest(s.x, s.y) for s in (data.train, data.val, data.test)] == [
        "f2a779bc2a325480", "cd1bd153181e7a47", "a7e6e52d681a4e18"]
    again = load_dataset("mnist", None, 1000, train_subset=1024, test_subset=500)
    assert torch.equal(again.train.x, data.train.x) and torch.equal(again.val.y, data.val.y)


@needs_mnist
def test_mlp_sizes_from_the_dataset() -> None:
    layers = analog_layers(Trainer.build(TrainConfig(hidden=[16], algorithm="sgd")).model)
    assert [(la.in_features, la.out_features) for la in layers] == [(784, 16), (16, 10)]


# -- Fashion-MNIST --------------------------------------------------------------------

@needs_fashion
def test_fashion_mnist_loads_60k_and_10k() -> None:
    data = load_dataset("fashion-mnist", val_size=12_000)
    assert (len(data.train), len(data.val), len(data.test)) == (48_000, 12_000, 10_000)
    assert data.train.x.shape == (48_000, 784) and data.train.x.dtype == torch.float32
    assert float(data.test.x.min()) >= 0.0 and float(data.test.x.max()) == 1.0
    assert data.test.y.bincount().tolist() == [1000] * 10  # balanced test set
    mnist = default_mnist_folder()
    if mnist is not None:  # another dataset, not MNIST under another name
        assert not torch.equal(load_mnist(test_subset=100).test.x, data.test.x[:100])


# -- CIFAR-10 -------------------------------------------------------------------------

def _cifar_folder(folder: Path, per_batch: int = 80, n_test: int = 100) -> np.ndarray:
    """A CIFAR-10 python-batch folder; images of class k have three rows of channel
    k % 3 bright."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)

    def batch(n: int) -> dict[bytes, object]:
        labels = rng.integers(0, 10, n)
        img = rng.integers(0, 100, (n, 3, 32, 32), dtype=np.uint8)
        for k, label in enumerate(labels):  # rows 3·label … 3·label + 2 of one channel
            img[k, label % 3, 3 * label:3 * label + 3] += 150
        return {b"batch_label": b"x", b"labels": labels.tolist(),
                b"data": img.reshape(n, 3072), b"filenames": [b"f"] * n}

    for k in range(1, 6):
        (folder / f"data_batch_{k}").write_bytes(pickle.dumps(batch(per_batch), protocol=2))
    test = batch(n_test)
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
             b"horse", b"ship", b"truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    return np.asarray(test[b"data"])


def test_cifar10_folder_loads_channels_first(tmp_path: Path) -> None:
    test_data = _cifar_folder(tmp_path)
    spec = get_dataset("cifar10", tmp_path)
    assert (spec.input_shape, spec.n_features, spec.n_classes) == ((3, 32, 32), 3072, 10)
    data = spec.load(val_size=40)
    assert (len(data.train), len(data.val), len(data.test)) == (360, 40, 100)
    assert data.train.x.shape == (360, 3072)
    assert torch.equal((data.test.x * 255).round().to(torch.uint8),
                       torch.from_numpy(test_data))
    img = data.test.x.reshape(-1, *spec.input_shape)  # C, H, W: the bright channel
    assert torch.equal(img.mean(dim=(2, 3)).argmax(dim=1), data.test.y % 3)
    with pytest.raises(InputError, match="val_size must be between 1 and 399"):
        spec.load(val_size=400)


def test_truncated_cifar_batch_is_one_line(tmp_path: Path) -> None:
    _cifar_folder(tmp_path)
    path = tmp_path / "data_batch_3"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataFormatError) as info:
        load_dataset("cifar10", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ") and "truncated" in msg
    path.unlink()
    with pytest.raises(InputError, match=r"no data_batch_3 \(expected the CIFAR-10"):
        load_dataset("cifar10", tmp_path)


def test_cifar_batch_of_wrong_shape_or_foreign_objects(tmp_path: Path) -> None:
    _cifar_folder(tmp_path)
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros((4, 1024), np.uint8),
                                   b"labels": [0, 1, 2, 3]}))
    with pytest.raises(DataFormatError, match=r"test_batch: data: expected N × 3072 uint8, "
                       r"got uint8 \(4, 1024\)"):
        load_dataset("cifar10", tmp_path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8),
                                   b"labels": [0, 10]}))
    with pytest.raises(DataFormatError, match=r"labels: expected 0 … 9, got 0 … 10"):
        load_dataset("cifar10", tmp_path)
    path.write_bytes(pickle.dumps({b"data": Path("x")}))  # any class but numpy's: refused
    with pytest.raises(DataFormatError, match="refusing to load pathlib"):
        load_dataset("cifar10", tmp_path)


def test_tiny_mlp_trains_on_cifar10_folder(tmp_path: Path) -> None:
    _cifar_folder(tmp_path / "cifar", per_batch=80, n_test=100)  # 400 train images
    cfg = TrainConfig(dataset="cifar10", data_dir=str(tmp_path / "cifar"), hidden=[32],
                      algorithm="mixed-precision", epochs=1, val_size=50, batch_size=16)
    layers = analog_layers(Trainer.build(cfg).model)
    assert [(la.in_features, la.out_features) for la in layers] == [(3072, 32), (32, 10)]
    (result,) = train_runs([cfg], out=tmp_path / "out")
    assert result.config["dataset"] == "cifar10" and result.final["pulses_total"] > 0
    assert (tmp_path / "out" / "results.sqlite").is_file()
    # images and labels reach the network intact: the float baseline learns the bright
    # rows in one epoch of 350 images (guessing: 10 %)
    (digital,) = train_runs([cfg.model_copy(update={"algorithm": "float", "batch_size": 8})])
    assert digital.final["test_acc"] > 0.5, digital.final["test_acc"]


# -- any IDX folder -------------------------------------------------------------------

def _idx(path: Path, magic: int, dims: list[int], data: bytes) -> None:
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(head + data)


def _idx_folder(folder: Path, size: int = 14, classes: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem, n in (("train", 40), ("t10k", 12)):
        _idx(folder / f"{stem}-images-idx3-ubyte", 2051, [n, size, size],
             rng.integers(0, 256, n * size * size, dtype=np.uint8).tobytes())
        _idx(folder / f"{stem}-labels-idx1-ubyte", 2049, [n],
             (np.arange(n) % classes).astype(np.uint8).tobytes())


def test_idx_folder_shape_and_classes_from_its_files(tmp_path: Path) -> None:
    _idx_folder(tmp_path / "KMNIST" / "raw")  # torchvision's layout
    spec = get_dataset("idx", tmp_path / "KMNIST")
    assert (spec.input_shape, spec.n_classes) == ((1, 14, 14), 5)
    data = spec.load(val_size=8)
    assert (len(data.train), len(data.val), len(data.test)) == (32, 8, 12)
    assert data.train.x.shape == (32, 196)


def test_idx_header_disagreeing_with_size(tmp_path: Path) -> None:
    _idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataFormatError, match=r"expected 7840 bytes of data after the "
                       r"header, got 7830 \(truncated file\?\)"):
        load_dataset("idx", tmp_path)
    _idx_folder(tmp_path)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, [11], bytes(11))
    with pytest.raises(DataFormatError, match=r"t10k-labels-idx1-ubyte: expected 12 labels"):
        load_dataset("idx", tmp_path)
    _idx_folder(tmp_path, size=28)
    _idx(tmp_path / "t10k-images-idx3-ubyte", 2051, [12, 14, 14], bytes(12 * 196))
    with pytest.raises(DataFormatError, match=r"expected 28×28 images, got 14×14"):
        load_dataset("idx", tmp_path)


# -- split limits from the dataset ----------------------------------------------------

def test_val_size_limit_comes_from_the_dataset(tmp_path: Path) -> None:
    assert TrainConfig(val_size=59_999).val_size == 59_999
    with pytest.raises(ValidationError, match=r"val_size: expected 1 … 59999 \(dataset "
                       r"'mnist' has 60000 training images\), got 60000"):
        TrainConfig(val_size=60_000)
    cifar = str(tmp_path)
    assert TrainConfig(dataset="cifar10", data_dir=cifar, val_size=49_999).val_size == 49_999
    with pytest.raises(ValidationError, match=r"val_size: expected 1 … 49999 \(dataset "
                       r"'cifar10'"):
        TrainConfig(dataset="cifar10", data_dir=cifar, val_size=50_000)
    with pytest.raises(ValidationError, match=r"val_size: expected 1 … 49999"):
        StudyConfig(dataset="cifar10", train={"data_dir": cifar}, val_size=50_000)
    study = StudyConfig(dataset="fashion-mnist", seeds=[0], algorithms=["sgd"],
                        pulse_widths_s=[2e-6])
    assert {r.dataset for r in study.runs()} == {"fashion-mnist"}


# -- CLI ------------------------------------------------------------------------------

def test_cli_bad_dataset_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(app, ["train", "--dataset", "cifar", "--epochs", "1"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown dataset 'cifar'" in lines[0]
    assert "did you mean 'cifar10'" in lines[0]
    result = CliRunner().invoke(app, ["train", "--dataset", "cifar10", "--epochs", "1"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "data_dir: dataset 'cifar10' needs" in result.stderr
