"""The generic tidy CSV format (one row per applied pulse; for instruments other than the WGFMU).

::

    pulse_index,amplitude_v,pulse_width_s,conductance_s,direction,device_id,run
    0,-1.2,2e-08,1.1e-07,up,DEV1,run1
    1,-1.2,2e-08,1.2e-07,up,DEV1,run1

Required: ``pulse_index``, ``amplitude_v``, ``pulse_width_s`` and one of
``conductance_s`` (siemens) or ``resistance_ohm`` (ohms).  Optional:
``direction`` (``up``/``down``, ``potentiation``/``depression`` or ``+1``/``-1``;
default: negative amplitude = up, the convention of the HZO devices),
``device_id`` (default: the file stem), ``run`` (default ``"0"``) and
``repetition`` (default 0).  Within a run and repetition ``pulse_index`` must
strictly increase down the file (rows are pulses in the order applied).
Every row has exactly as many fields as the header; a UTF-8 BOM is accepted.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from pulsetrain.errors import DataFormatError
from pulsetrain.measurements.sweep import DOWN, UP, PulseSweep, check_plausible
from pulsetrain.measurements.wgfmu import read_text

TIDY_REQUIRED = ("pulse_index", "amplitude_v", "pulse_width_s")
_DIRECTIONS = {"up": UP, "potentiation": UP, "+1": UP, "1": UP, "down": DOWN,
               "depression": DOWN, "-1": DOWN}


def read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and rows ``(line number, fields)`` of a strict CSV file.

    Blank lines are skipped; a row with more or fewer fields than the header
    is an error naming its line (a decimal comma ``2,060`` is caught here).

    Raises
    ------
    DataFormatError
        For an empty, binary or ragged file.
    """
    text = read_text(path)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataFormatError(path, "file is empty")
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            lineno = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            fields = [f.strip() for f in fields]
            if header is None:
                header = fields
                continue
            if len(fields) != len(header):
                hint = ("a decimal comma, or a stray separator?" if len(fields) > len(header)
                        else "truncated row?")
                raise DataFormatError(path, f"expected {len(header)} comma-separated values "
                                      f"(one per column: {', '.join(header)}), got "
                                      f"{len(fields)} ({hint})", row=lineno)
            rows.append((lineno, fields))
    except csv.Error as exc:
        raise DataFormatError(path, f"not a valid CSV file ({exc})",
                              row=reader.line_num) from None
    assert header is not None
    return header, rows


def parse_number(path: Path, value: str, line: int, col: str, positive: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        raise DataFormatError(path, f"column {col!r}: {value!r} is not a number",
                              row=line) from None
    if not math.isfinite(number):
        raise DataFormatError(path, f"column {col!r}: {value!r} is not finite (NaN/inf)",
                              row=line)
    if positive and number <= 0:
        raise DataFormatError(path, f"column {col!r}: {number:g} must be > 0", row=line)
    return number


def read_tidy_csv(path: str | Path) -> list[PulseSweep]:
    """Read pulses in the tidy CSV format; one :class:`PulseSweep` per (device, run, repetition).

    Raises
    ------
    DataFormatError
        Naming the file and line for a missing column, a header-only file, a
        row with the wrong number of fields, non-numeric, non-finite or
        non-positive values, unknown direction words, a ``pulse_index`` that
        repeats or goes backwards within a run, or mixed pulse widths within a run.
    """
    path = Path(path)
    header, rows = read_csv_rows(path)
    col = {name: k for k, name in enumerate(header)}
    missing = [c for c in TIDY_REQUIRED if c not in col]
    if "conductance_s" not in col and "resistance_ohm" not in col:
        missing.append("conductance_s or resistance_ohm")
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found "
                              f"{', '.join(header)}", row=1)
    if not rows:
        raise DataFormatError(path, "header only: no pulse rows", row=1)
    g_col = "conductance_s" if "conductance_s" in col else "resistance_ohm"

    def num(fields: list[str], line: int, name: str, positive: bool = False) -> float:
        return parse_number(path, fields[col[name]], line, name, positive)

    groups: dict[tuple[str, str, int], list[tuple[int, float, float, float, float, int]]] = {}
    for line, fields in rows:
        index = num(fields, line, "pulse_index")
        amp = num(fields, line, "amplitude_v")
        pw = num(fields, line, "pulse_width_s", positive=True)
        gr = num(fields, line, g_col, positive=True)
        g = gr if g_col == "conductance_s" else 1.0 / gr
        if "direction" in col:
            word = fields[col["direction"]].lower()
            if word not in _DIRECTIONS:
                raise DataFormatError(path, f"column 'direction': {word!r} is not one of "
                                      "up/down, potentiation/depression, +1/-1", row=line)
            direction = _DIRECTIONS[word]
        else:
            direction = UP if amp < 0 else DOWN
        device = fields[col["device_id"]] if "device_id" in col else path.stem
        run = fields[col["run"]] if "run" in col else "0"
        rep = int(num(fields, line, "repetition")) if "repetition" in col else 0
        groups.setdefault((device, run, rep), []).append((line, index, amp, pw, g, direction))

    out: list[PulseSweep] = []
    for (device, run, rep), items in groups.items():
        indices = np.array([it[1] for it in items])
        back = np.flatnonzero(np.diff(indices) <= 0)
        if back.size:
            k = int(back[0]) + 1
            what = "repeats" if indices[k] == indices[k - 1] else "goes backwards"
            raise DataFormatError(path, f"run {run!r} of device {device!r}: pulse_index "
                                  f"{indices[k]:g} {what} (previous row has "
                                  f"{indices[k - 1]:g}); "
                                  "expected strictly increasing pulse_index in the order the "
                                  "pulses were applied", row=items[k][0])
        widths = np.unique([it[3] for it in items])
        if widths.size > 1:
            raise DataFormatError(path, f"run {run!r} of device {device!r} mixes pulse widths "
                                  f"{', '.join(f'{w:g}' for w in widths)} s; give each pulse "
                                  "width its own run", row=items[0][0])
        sweep = PulseSweep(
            device_id=device, run=run, repetition=rep, pulse_width_s=float(widths[0]),
            amplitude_v=np.array([it[2] for it in items]),
            conductance_s=np.array([it[4] for it in items]),
            direction=np.array([it[5] for it in items], dtype=np.int8), source=path)
        check_plausible(sweep)
        out.append(sweep)
    return out
