"""Exceptions raised by pulsetrain.

The tree::

    PulsetrainError                 base of everything pulsetrain raises on purpose
    ├── InputError                  bad user input (files, folders, names, values)
    │   ├── DataFormatError         a data file that cannot be read as expected (names file and row)
    │   ├── NoSweepsError           a folder with no pulse sweeps in it
    │   └── UnknownDeviceError      a device id / built-in name / device file that does not exist
    └── FitError                    a run that cannot be turned into a device model

    DataWarning (UserWarning)       readable input that looks wrong (units, unmatched rows)

The CLI turns every ``PulsetrainError`` into one line on stderr and exit code 2, and
prints every ``DataWarning`` as one line naming the file (and line).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class PulsetrainError(Exception):
    """Base class for errors pulsetrain raises deliberately."""


class InputError(PulsetrainError):
    """Bad user input."""


class _AboutFile:
    """Mixin: a message about a file (and a line in it), kept as ``path``, ``row``, ``detail``."""

    def __init__(self, path: str | Path, message: str, row: int | None = None) -> None:
        self.path = Path(path)
        self.row = row
        self.detail = message
        where = f"{self.path}" if row is None else f"{self.path}, line {row}"
        super().__init__(f"{where}: {message}")  # type: ignore[call-arg]


class DataFormatError(_AboutFile, InputError):
    """A data file whose content is not what the reader expects.

    Parameters
    ----------
    path
        The file that was being read.
    message
        What was wrong and what was expected.
    row
        1-based line number in the file, where the problem is tied to a line.
    """


class DataWarning(_AboutFile, UserWarning):
    """Input that was read but looks implausible (units, unmatched cutoff rows, ...).

    Parameters
    ----------
    path
        The file concerned.
    message
        What looks wrong and what was expected.
    row
        1-based line number in the file, where the problem is tied to a line.
    """


class NoSweepsError(InputError):
    """A folder that holds no pulse sweep files."""


class UnknownDeviceError(InputError):
    """A device id, built-in device name or device file that does not exist."""


class FitError(PulsetrainError):
    """A measured run that cannot be turned into a device model."""


def describe_validation_error(exc: ValidationError, noun: str = "key") -> str:
    """One line for the first problem of a pydantic error: ``key 'x': msg (got y)``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    msg = msg.removeprefix("Value error, ")  # pydantic's prefix for our own validators
    return f"{noun} {where!r}: {msg} (got {err.get('input')!r})"[:300]
