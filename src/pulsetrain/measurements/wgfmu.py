"""Readers for Keysight B1500/WGFMU text files.

Two file kinds are understood:

* ``pulsedAmplitudeSweep`` files — a header block (``test date``, ``test time``,
  ``Device ID``, ``Count`` or ``N``, optionally a ``Measurement parameters``
  name row and value row), then ``Measurement Data`` and rows
  ``index, pulse amplitude (V), R_low (ohm), R_high (ohm)``.  Single-repetition
  files carry ``(k)`` in their name; all-repetition files carry ``(ALL)`` and
  hold the repetitions one after another (``N`` of them, equal length).
* ``IV_measR`` files (DC I–V sweeps in ``DCIV_*`` folders) with rows
  ``Index, Bias, SMU3 I (nA), SMU3 R (Mohm)``.

Every problem is reported as :class:`~pulsetrain.errors.DataFormatError`
naming the file and, where it belongs to one, the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from pulsetrain.errors import DataFormatError
from pulsetrain.measurements.sweep import DOWN, UP, IVSweep, PulseSweep, check_plausible

SWEEP_COLUMNS = ("index", "pulse amplitude (V)", "R_low (ohm)", "R_high (ohm)")
IV_COLUMNS = ("Index", "Bias", "SMU3 I (nA)")
_REP_RE = re.compile(r"\((ALL|-?\d+)\)")
_RUN_RE = re.compile(r"_(\d{14})$")


@dataclass(frozen=True)
class _RawFile:
    header: dict[str, str]
    params: dict[str, str]
    columns: list[str]
    column_line: int
    rows: list[tuple[int, list[str]]]  # (1-based line number, fields)


def read_text(path: Path) -> str:
    """A measurement file's text: UTF-8 (a BOM is dropped), else Latin-1.

    Raises
    ------
    DataFormatError
        If the file is missing, a folder, or binary (a NUL byte, or mostly
        control characters).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(path, "is a folder, expected a measurement file") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read ({exc.strerror})") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFormatError(path, f"binary content (NUL byte at offset {nul}); expected a "
                              "text measurement file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    control += sum(1 for ch in text if 127 <= ord(ch) < 160)
    if text and control > 0.05 * len(text):
        raise DataFormatError(path, "binary content (not UTF-8 text, "
                              f"{control} control bytes); expected a text measurement file")
    return text


def first_line(path: Path) -> str:
    """The first line of a text file ('' when it cannot be read; a BOM is dropped)."""
    try:
        with path.open("rb") as fh:
            raw = fh.readline(4096)
    except OSError:
        return ""
    return raw.decode("utf-8-sig", errors="replace").strip("\r\n")


def looks_binary(path: Path) -> bool:
    """Whether the first 4 KiB of a file hold a NUL byte (not a text file)."""
    try:
        with path.open("rb") as fh:
            return b"\x00" in fh.read(4096)
    except OSError:
        return False


def _read_lines(path: Path) -> list[str]:
    return read_text(path).splitlines()


def _parse_raw(path: Path) -> _RawFile:
    lines = _read_lines(path)
    if not lines:
        raise DataFormatError(path, "file is empty")
    header: dict[str, str] = {}
    params: dict[str, str] = {}
    k = 0
    data_at = None
    while k < len(lines):
        line = lines[k].strip()
        if line.startswith("Measurement Data"):
            data_at = k
            break
        if line.startswith("Measurement parameters"):
            if k + 2 >= len(lines):
                raise DataFormatError(path, "truncated 'Measurement parameters' block", row=k + 1)
            names = [s.strip() for s in lines[k + 1].split(",")]
            values = [s.strip() for s in lines[k + 2].split(",")]
            params = {n: v for n, v in zip(names, values, strict=False) if n}
            k += 3
            continue
        if "\t" in line:
            key, _, value = line.partition("\t")
            header[key.strip()] = value.strip()
        k += 1
    if data_at is None:
        raise DataFormatError(path, "no 'Measurement Data' line: not a WGFMU measurement file")
    if data_at + 1 >= len(lines) or not lines[data_at + 1].strip():
        raise DataFormatError(path, "missing the column-name line after 'Measurement Data'",
                              row=data_at + 2)
    columns = [c.strip() for c in lines[data_at + 1].split(",") if c.strip()]
    rows: list[tuple[int, list[str]]] = []
    for j in range(data_at + 2, len(lines)):
        if lines[j].strip():
            rows.append((j + 1, [s.strip() for s in lines[j].split(",")]))
    return _RawFile(header, params, columns, data_at + 2, rows)


def _check_columns(path: Path, raw: _RawFile, expected: tuple[str, ...]) -> None:
    got = [c.lower() for c in raw.columns]
    missing = [c for c in expected if c.lower() not in got]
    if missing:
        raise DataFormatError(
            path,
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"expected columns {', '.join(expected)}, found {', '.join(raw.columns) or 'none'}",
            row=raw.column_line,
        )


def _numeric_table(path: Path, raw: _RawFile, what: str) -> np.ndarray:
    n_cols = len(raw.columns)
    if not raw.rows:
        raise DataFormatError(path, f"header only: no {what} rows after the column names",
                              row=raw.column_line)
    out = np.empty((len(raw.rows), n_cols))
    for i, (lineno, fields) in enumerate(raw.rows):
        if len(fields) == n_cols + 1 and fields[-1] == "":
            fields = fields[:-1]  # one trailing comma: harmless
        if len(fields) != n_cols:
            hint = ("truncated file?" if len(fields) < n_cols else
                    "a decimal comma, or a stray separator?")
            raise DataFormatError(
                path,
                f"expected {n_cols} comma-separated values (one per column: "
                f"{', '.join(raw.columns)}), got {len(fields)} ({hint})",
                row=lineno,
            )
        for c in range(n_cols):
            try:
                value = float(fields[c])
            except ValueError:
                raise DataFormatError(
                    path, f"column {raw.columns[c]!r}: {fields[c]!r} is not a number",
                    row=lineno) from None
            if not math.isfinite(value):
                raise DataFormatError(
                    path, f"column {raw.columns[c]!r}: value {fields[c]!r} is not finite "
                    "(NaN/inf); expected a measured number", row=lineno)
            out[i, c] = value
    return out


def _parse_started(header: dict[str, str]) -> datetime | None:
    date, time = header.get("test date"), header.get("test time")
    if not date or not time:
        return None
    try:
        return datetime.strptime(f"{date} {time}", "%d.%m.%Y %H:%M:%S")
    except ValueError:
        return None


def _device_id(path: Path, header: dict[str, str]) -> str:
    raw = header.get("Device ID", "").strip().strip("_")
    if not raw:
        m = re.search(r"\[_?([^\[\]()]+)\(", path.name)
        if not m:
            raise DataFormatError(path, "no 'Device ID' in the header and none in the file name")
        raw = m.group(1).strip("_")
    return raw


def _float_param(path: Path, params: dict[str, str], name: str) -> float | None:
    if name not in params:
        return None
    try:
        value = float(params[name])
    except ValueError:
        raise DataFormatError(path, f"measurement parameter {name!r} = {params[name]!r} "
                              "is not a number") from None
    return value


def run_id_for(path: Path, started: datetime | None) -> str:
    """Run identifier of a file: its folder's timestamp, else its own start time."""
    m = _RUN_RE.search(path.parent.name)
    if m:
        return m.group(1)
    if started is not None:
        return started.strftime("%Y%m%d%H%M%S")
    return path.stem


def is_pulse_sweep_file(path: Path) -> bool:
    """Whether a file looks like a WGFMU pulsed amplitude sweep (by its first line)."""
    first = first_line(path)
    return first.startswith("Setup title") and "pulsedAmplitudeSweep" in first


def is_iv_file(path: Path) -> bool:
    """Whether a file looks like a WGFMU/SMU DC I–V sweep (by its first line)."""
    first = first_line(path)
    return first.startswith("Setup title") and "IV_meas" in first


def read_wgfmu_sweep(path: str | Path, pulse_width_s: float | None = None) -> list[PulseSweep]:
    """Read a WGFMU ``pulsedAmplitudeSweep`` file.

    Parameters
    ----------
    path
        A single-repetition file (``…[ID(k)]…csv``) or an all-repetition file
        (``…_N[ID(ALL)]…csv``).
    pulse_width_s
        Pulse width to use when the file has no ``Measurement parameters``
        block (all-repetition files); if ``None`` the reader looks for a
        single-repetition file in the same folder and takes it from there.

    Returns
    -------
    list of PulseSweep
        One sweep for a single-repetition file, ``N`` for an all-repetition file.

    Raises
    ------
    DataFormatError
        Naming the file (and line) for truncated files, missing columns,
        non-numeric or non-finite values, header-only files, non-positive
        resistances that are not a trailing aborted-measurement marker.
    """
    path = Path(path)
    raw = _parse_raw(path)
    _check_columns(path, raw, SWEEP_COLUMNS)
    if len(raw.columns) != len(SWEEP_COLUMNS):
        raise DataFormatError(path, f"expected the {len(SWEEP_COLUMNS)} columns "
                              f"{', '.join(SWEEP_COLUMNS)}, found {len(raw.columns)}: "
                              f"{', '.join(raw.columns)}", row=raw.column_line)
    table = _numeric_table(path, raw, "pulse")
    linenos = [ln for ln, _ in raw.rows]

    # The instrument writes -1 for reads it could not take (aborted measurement):
    # a trailing block of such rows is dropped; anywhere else it is an error.
    bad = (table[:, 2] <= 0) | (table[:, 3] <= 0)
    dropped: tuple[int, ...] = ()
    if bad.any():
        first_bad = int(np.argmax(bad))
        if bad[first_bad:].all():
            dropped = tuple(linenos[first_bad:])
            table = table[:first_bad]
            if table.shape[0] == 0:
                raise DataFormatError(path, "every row has a non-positive resistance "
                                      "(instrument error marker); no usable pulses")
        else:
            raise DataFormatError(
                path, f"non-positive resistance {min(table[first_bad, 2:]):g} ohm; expected "
                "R_low and R_high > 0", row=linenos[first_bad])

    started = _parse_started(raw.header)
    device_id = _device_id(path, raw.header)
    run = run_id_for(path, started)
    m = _REP_RE.search(path.name)
    is_all = (m is not None and m.group(1) == "ALL") or ("N" in raw.header and not raw.params)

    pw = _float_param(path, raw.params, "pulseWidth")
    if pw is None:
        pw = pulse_width_s if pulse_width_s is not None else _sibling_pulse_width(path)
    if pw is None or not pw > 0:
        raise DataFormatError(path, "no pulse width: the file has no 'Measurement parameters' "
                              "with a positive 'pulseWidth' and no single-repetition file "
                              "beside it gives one")
    rise = _float_param(path, raw.params, "riseTime")
    fall = _float_param(path, raw.params, "fallTime")
    n_reps_param = _float_param(path, raw.params, "repetitions")

    def make(rep: int, rows: slice, n_reps: int | None) -> PulseSweep:
        amp = table[rows, 1].copy()
        r_low = table[rows, 2].copy()
        r_high = table[rows, 3].copy()
        g = 0.5 * (1.0 / r_low + 1.0 / r_high)
        direction = np.where(amp < 0, UP, DOWN).astype(np.int8)
        sweep = PulseSweep(
            device_id=device_id, run=run, repetition=rep, pulse_width_s=float(pw),
            amplitude_v=amp, conductance_s=g, direction=direction, started=started,
            rise_time_s=rise, fall_time_s=fall, r_low_ohm=r_low, r_high_ohm=r_high,
            n_repetitions=n_reps, source=path, dropped_rows=dropped,
        )
        check_plausible(sweep)
        return sweep

    if is_all:
        try:
            n = int(raw.header.get("N", "1"))
        except ValueError:
            raise DataFormatError(path, f"header 'N' = {raw.header.get('N')!r} is not an "
                                  "integer repetition count") from None
        if n < 1:
            raise DataFormatError(path, f"header 'N' = {n} must be a positive repetition count")
        # Repetitions restart the amplitude ramp at its first two values (a ramp
        # that comes back down to its first value, bothSides = 1, is no restart);
        # an aborted measurement leaves the last repetition short (or missing).
        amp = table[:, 1]
        head = amp[:2]
        starts = [i for i in range(len(amp))
                  if i == 0 or (i + head.size <= len(amp)
                                and bool(np.array_equal(amp[i:i + head.size], head)))]
        if len(starts) > n:
            raise DataFormatError(path, f"found {len(starts)} amplitude ramps but header says "
                                  f"N = {n} repetitions")
        bounds = [*starts, len(amp)]
        return [make(r, slice(bounds[r], bounds[r + 1]), n) for r in range(len(starts))]

    if m is not None:
        rep = int(m.group(1))
    else:
        try:
            rep = int(raw.header.get("Count", "0"))
        except ValueError:
            rep = 0
    return [make(max(rep, 0), slice(None), int(n_reps_param) if n_reps_param else None)]


def _sibling_pulse_width(path: Path) -> float | None:
    for other in sorted(path.parent.glob("*.csv")):
        if other == path or "(ALL)" in other.name:
            continue
        try:
            raw = _parse_raw(other)
        except DataFormatError:
            continue
        value = raw.params.get("pulseWidth")
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def read_dciv(path: str | Path) -> IVSweep:
    """Read a DC I–V sweep file (``IV_measR``; current in nA, converted to A).

    Raises
    ------
    DataFormatError
        Naming the file (and line) for the same problems as :func:`read_wgfmu_sweep`.
    """
    path = Path(path)
    raw = _parse_raw(path)
    _check_columns(path, raw, IV_COLUMNS)
    cols = [c.lower() for c in raw.columns]
    table = _numeric_table(path, raw, "I–V")
    bias = table[:, cols.index("bias")]
    current = table[:, cols.index("smu3 i (na)")] * 1e-9
    compliance = _float_param(path, raw.params, "compliance")
    started = _parse_started(raw.header)
    return IVSweep(device_id=_device_id(path, raw.header), bias_v=bias, current_a=current,
                   started=started, compliance_a=compliance, source=path)
