"""Whole-or-nothing file writes: results and checkpoints survive an interruption."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    A reader (or a resumed run) sees either the old file or the complete new one.
    """
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)
    return path
