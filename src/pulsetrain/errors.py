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

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


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


def and_list(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to a mistyped ``word`` (difflib),
    or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_in(tp: Any) -> type[BaseModel] | None:
    """The pydantic model ``tp`` is (or, for a union, the first one it allows)."""
    from pydantic import BaseModel

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if get_origin(tp) in (Union, UnionType):
        for arg in get_args(tp):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def _step(tp: Any, part: str | int) -> Any:
    """The type found one location step (field name, list index, dict key) inside ``tp``;
    ``None`` where it cannot be followed."""
    if get_origin(tp) in (Union, UnionType):
        for arg in get_args(tp):
            if (inner := _step(arg, part)) is not None:
                return inner
        return None
    model = _model_in(tp)
    if model is not None:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        return None if field is None else field.annotation
    args = get_args(tp)
    if get_origin(tp) in (list, tuple, set, frozenset) and isinstance(part, int) and args:
        return args[0]
    if get_origin(tp) is dict and len(args) == 2:
        return args[1]
    return None


def known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model that holds the key at ``loc`` (a pydantic error location)
    inside ``model``; empty where the location does not lead to a model."""
    tp: Any = model
    for part in loc[:-1]:
        tp = _step(tp, part)
        if tp is None:
            return []
    found = _model_in(tp)
    return list(found.model_fields) if found is not None else []


def validation_problems(exc: ValidationError, noun: str = "key",
                        model: type[BaseModel] | None = None) -> list[str]:
    """Every problem of a pydantic error, one line each: ``key 'x.y': what was expected
    (got v)``; an unknown key gets ``; did you mean 'z'?`` (the closest field of
    ``model`` at that place), and a message of several lines (a validator that
    collected several problems) gives one line per problem."""
    lines: list[str] = []
    for err in exc.errors():
        loc = err["loc"]
        where = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(str(loc[-1]), known_keys(model, loc)) if model and loc else ""
            lines.append(f"{noun} {where!r}: unknown key (got {err.get('input')!r}){hint}"[:300])
            continue
        msg = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for our validators
        parts = [m for m in msg.splitlines() if m.strip()] or [msg]
        if not loc:  # a model-level check: the input is the whole mapping, not worth echoing
            lines += [m[:300] for m in parts]
        elif len(parts) == 1:
            lines.append(f"{noun} {where!r}: {msg} (got {err.get('input')!r})"[:300])
        else:
            lines += [f"{noun} {where!r}: {m}"[:300] for m in parts]
    return lines


def describe_validation_error(exc: ValidationError, noun: str = "key",
                              model: type[BaseModel] | None = None) -> str:
    """Every problem of a pydantic error, one line each (:func:`validation_problems`):
    ``key 'x': msg (got y)``, one line when there is one problem."""
    return "\n".join(validation_problems(exc, noun, model))
