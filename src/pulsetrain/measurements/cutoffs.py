"""The cutoffs file: per run, the voltage window with clean switching.

::

    device_name,device_id,test_date,test_time,VStartPos,VEndPos,VStartNeg,VEndNeg
    LBE247,ID161ZR15000,24.10.2024,11:32:36,0.1,3.2,-0.1,-3.2

Required: ``device_id`` and the four window columns (volts), and either
``test_date`` + ``test_time`` or a ``run`` column.  Optional: ``device_name``
(the sample).

Matching rule (a row → a run): the instrument's Device ID, with leading
underscores removed, must be ``<device_id>`` or ``<device_name>_<device_id>``
(so ``_ID161ZR15000``, ``ID161ZR15000`` and ``LBE247_ID300YR1000Oct`` all match
their rows), and the row's date and time must equal the start time of any
repetition of the run (or its ``run`` must equal the run id).  A row that
matches no run is reported as a :class:`~pulsetrain.errors.DataWarning`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pulsetrain.errors import DataFormatError
from pulsetrain.measurements.sweep import Cutoff, PulseSweep
from pulsetrain.measurements.tidy import parse_number, read_csv_rows

CUTOFF_WINDOW = ("VStartPos", "VEndPos", "VStartNeg", "VEndNeg")


@dataclass(frozen=True)
class CutoffRow:
    """One row of a cutoffs file."""

    line: int
    device_id: str
    device_name: str | None
    started: datetime | None
    run: str | None
    cutoff: Cutoff

    def matches_device(self, instrument_id: str) -> bool:
        """Whether an instrument Device ID names this row's device (see module docs)."""
        ident = instrument_id.strip().lstrip("_")
        if ident == self.device_id:
            return True
        return bool(self.device_name) and ident == f"{self.device_name}_{self.device_id}"

    @property
    def label(self) -> str:
        """``device date time`` (or ``device run``) for messages."""
        when = self.started.strftime("%d.%m.%Y %H:%M:%S") if self.started else f"run {self.run}"
        name = f"{self.device_name}/" if self.device_name else ""
        return f"{name}{self.device_id} {when}"


@dataclass
class CutoffTable:
    """The rows of a cutoffs file, with a record of which rows were used."""

    rows: list[CutoffRow]
    source: Path | None = None
    used: set[int] = field(default_factory=set)

    def lookup(self, sweep: PulseSweep) -> Cutoff | None:
        """The window for one repetition: by its start time first, then by run id."""
        for row in self.rows:
            if (row.started is not None and sweep.started is not None
                    and row.started == sweep.started and row.matches_device(sweep.device_id)):
                self.used.add(row.line)
                return row.cutoff
        for row in self.rows:
            if row.run is not None and row.run == sweep.run and \
                    row.matches_device(sweep.device_id):
                self.used.add(row.line)
                return row.cutoff
        return None

    def unused(self) -> list[CutoffRow]:
        """Rows no :meth:`lookup` has matched so far."""
        return [r for r in self.rows if r.line not in self.used]


def read_cutoffs(path: str | Path) -> CutoffTable:
    """Read a cutoffs CSV (see module docstring).

    Raises
    ------
    DataFormatError
        Naming the file and line for missing columns, rows with the wrong
        number of fields, unparsable dates/times, non-numeric values or
        windows with the wrong sign.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "cutoffs file not found")
    header, raw_rows = read_csv_rows(path)
    col = {name: k for k, name in enumerate(header)}
    has_time = {"test_date", "test_time"} <= set(col)
    missing = [c for c in ("device_id", *CUTOFF_WINDOW) if c not in col]
    if not has_time and "run" not in col:
        missing.append("test_date+test_time or run")
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found "
                              f"{', '.join(header)}", row=1)
    rows: list[CutoffRow] = []
    for line, fields in raw_rows:
        v = [parse_number(path, fields[col[c]], line, c) for c in CUTOFF_WINDOW]
        if not (v[0] >= 0 and v[1] > v[0] and v[2] <= 0 and v[3] < v[2]):
            raise DataFormatError(path, "window must satisfy 0 <= VStartPos < VEndPos and "
                                  f"VEndNeg < VStartNeg <= 0, got {v}", row=line)
        device = fields[col["device_id"]].strip().lstrip("_")
        if not device:
            raise DataFormatError(path, "column 'device_id' is empty", row=line)
        name = fields[col["device_name"]].strip() if "device_name" in col else ""
        started = None
        if has_time and fields[col["test_date"]]:
            text = f"{fields[col['test_date']]} {fields[col['test_time']]}"
            try:
                started = datetime.strptime(text, "%d.%m.%Y %H:%M:%S")
            except ValueError:
                raise DataFormatError(path, f"date/time {text!r} is not 'DD.MM.YYYY HH:MM:SS'",
                                      row=line) from None
        run = fields[col["run"]] or None if "run" in col else None
        if started is None and run is None:
            raise DataFormatError(path, "row has neither test_date/test_time nor run",
                                  row=line)
        rows.append(CutoffRow(line, device, name or None, started, run, Cutoff(*v)))
    return CutoffTable(rows, path)
