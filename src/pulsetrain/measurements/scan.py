"""Find measured runs in a folder: group repetitions, attach cutoff windows, list problems.

A real lab folder holds aborted runs, emptied files and files of other
instruments.  One bad file never hides the others: every file that cannot be
read is listed in :attr:`FolderScan.problems` (file, line, reason) and the
scan goes on; readable input that looks wrong (units, cutoff rows that match
nothing) is listed there too, as a warning.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pulsetrain.errors import DataFormatError, DataWarning, NoSweepsError, UnknownDeviceError
from pulsetrain.measurements.cutoffs import CutoffTable, read_cutoffs
from pulsetrain.measurements.sweep import Cutoff, IVSweep, PulseSweep, format_seconds
from pulsetrain.measurements.tidy import read_tidy_csv
from pulsetrain.measurements.wgfmu import (
    first_line,
    is_iv_file,
    is_pulse_sweep_file,
    looks_binary,
    read_dciv,
    read_wgfmu_sweep,
)

CUTOFFS_NAME = "cutoffs.csv"
_FILE_DEVICE_RE = re.compile(r"\[_*([^\[\]()]+)\(")
_FOLDER_RUN_RE = re.compile(r"_(\d{14})$")


@dataclass(frozen=True)
class FileProblem:
    """A file the scan could not use (``error``) or used with a doubt (``warning``)."""

    path: Path
    reason: str
    severity: Literal["error", "warning"]
    row: int | None = None
    device_id: str | None = None
    """Device the file belongs to, read from its name where possible."""
    run: str | None = None
    """Run the file belongs to, read from its folder name where possible."""

    def __str__(self) -> str:
        where = f"{self.path}" if self.row is None else f"{self.path}, line {self.row}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"file": str(self.path), "line": self.row, "severity": self.severity,
                "reason": self.reason, "device_id": self.device_id, "run": self.run}


@dataclass
class MeasuredRun:
    """All repetitions of one measurement run of one device at one pulse width."""

    device_id: str
    run: str
    pulse_width_s: float
    repetitions: list[PulseSweep]
    cutoff: Cutoff | None = None
    """The window of the run: its last repetition's cutoffs row, else another's."""
    cutoffs: dict[int, Cutoff] = field(default_factory=dict)
    """Cutoffs rows matched per repetition index."""
    problems: list[FileProblem] = field(default_factory=list)
    """Files of this run that could not be read (e.g. an emptied repetition)."""

    @property
    def started(self) -> datetime | None:
        """Start time of the first repetition."""
        return self.repetitions[0].started

    @property
    def last(self) -> PulseSweep:
        """The last repetition."""
        return self.repetitions[-1]

    def repetition(self, index: int | None = None) -> PulseSweep:
        """Repetition by index; ``None`` or ``-1`` gives the last one."""
        if index is None or index == -1:
            return self.last
        for rep in self.repetitions:
            if rep.repetition == index:
                return rep
        have = ", ".join(str(r.repetition) for r in self.repetitions)
        raise UnknownDeviceError(f"run {self.run} of {self.device_id} has no repetition "
                                 f"{index}; it has {have}")

    def cutoff_for(self, sweep: PulseSweep) -> Cutoff | None:
        """The window for one repetition: its own cutoffs row, else the run's."""
        return self.cutoffs.get(sweep.repetition, self.cutoff)

    def summary(self) -> dict[str, Any]:
        """One row of the scan table (JSON-friendly)."""
        rep = self.last
        amp = rep.amplitude_v
        started = self.started
        return {
            "device_id": self.device_id,
            "run": self.run,
            "date": started.strftime("%Y-%m-%d") if started else None,
            "time": started.strftime("%H:%M:%S") if started else None,
            "pulse_width_s": self.pulse_width_s,
            "pulse_width": format_seconds(self.pulse_width_s),
            "pulses": rep.n_pulses,
            "amplitude_min_v": float(np.min(amp)),
            "amplitude_max_v": float(np.max(amp)),
            "repetitions": len(self.repetitions),
            "has_cutoff": self.cutoff is not None,
            "files": sorted({str(r.source) for r in self.repetitions if r.source}),
            "problems": [str(p) for p in self.problems],
        }


@dataclass
class FolderScan:
    """What a folder holds: measured runs, DC I–V sweeps, and the files it could not use."""

    root: Path
    runs: list[MeasuredRun] = field(default_factory=list)
    iv_sweeps: list[IVSweep] = field(default_factory=list)
    cutoffs: CutoffTable | None = None
    problems: list[FileProblem] = field(default_factory=list)

    def device_ids(self) -> list[str]:
        """Devices with readable runs, sorted."""
        return sorted({r.device_id for r in self.runs})

    def runs_of(self, device_id: str) -> list[MeasuredRun]:
        """Runs of one device, ordered by start time.

        ``device_id`` may be the instrument's Device ID (``LBE247_ID300YR1000Oct``)
        or its part after the sample name (``ID300YR1000Oct``).

        Raises
        ------
        UnknownDeviceError
            If the folder holds no readable runs of that device (the message lists
            those it has, and the unreadable files of that device).
        """
        wanted = device_id.strip().lstrip("_")
        runs = [r for r in self.runs if r.device_id == wanted]
        if not runs:
            runs = [r for r in self.runs if r.device_id.endswith(f"_{wanted}")]
        if not runs:
            have = ", ".join(self.device_ids()) or "none"
            bad = [p for p in self.problems if p.severity == "error" and p.device_id and
                   (p.device_id == wanted or p.device_id.endswith(f"_{wanted}"))]
            extra = ("; its files could not be read: " + "; ".join(str(p) for p in bad)
                     if bad else "")
            raise UnknownDeviceError(f"{self.root}: no readable runs of device {device_id!r}"
                                     f"{extra}; devices found: {have}")
        return runs

    def iv_of(self, device_id: str) -> list[IVSweep]:
        """DC I–V sweeps of one device."""
        return [s for s in self.iv_sweeps if s.device_id == device_id.strip("_")]

    def unreadable_runs(self) -> dict[tuple[str, str], list[FileProblem]]:
        """Runs (device, run) none of whose files could be read, with the problems."""
        have = {(r.device_id, r.run) for r in self.runs}
        out: dict[tuple[str, str], list[FileProblem]] = {}
        for p in self.problems:
            if p.severity == "error" and p.device_id and p.run and \
                    (p.device_id, p.run) not in have:
                out.setdefault((p.device_id, p.run), []).append(p)
        return out


def _is_tidy(path: Path) -> bool:
    first = first_line(path)
    return "pulse_index" in first and "amplitude_v" in first


def _owner(path: Path) -> tuple[str | None, str | None]:
    """(device, run) a WGFMU file belongs to, from its name and folder."""
    m = _FILE_DEVICE_RE.search(path.name)
    r = _FOLDER_RUN_RE.search(path.parent.name)
    return (m.group(1).strip("_") if m else None), (r.group(1) if r else None)


def _read_file(path: Path) -> tuple[str, list[PulseSweep] | IVSweep | None]:
    if is_pulse_sweep_file(path):
        return ("all" if "(ALL)" in path.name else "single"), read_wgfmu_sweep(path)
    if is_iv_file(path):
        return "iv", read_dciv(path)
    if _is_tidy(path):
        return "single", read_tidy_csv(path)
    return "other", None


def scan_folder(root: str | Path, cutoffs: str | Path | None = None) -> FolderScan:
    """Scan a folder (recursively) for pulse sweeps, I–V sweeps and a cutoffs file.

    Single-repetition WGFMU files are preferred; an all-repetition file is
    used only for runs with no readable single-repetition file.  Tidy CSV
    files (see :mod:`pulsetrain.measurements.tidy`) are read too.  Files that
    cannot be read, ``.csv`` files of no known kind, implausible units and
    cutoff rows that match no run are listed in :attr:`FolderScan.problems`.

    Parameters
    ----------
    root
        Folder to scan.
    cutoffs
        Cutoffs CSV; default ``ROOT/cutoffs.csv`` when it exists.

    Raises
    ------
    NoSweepsError
        If the folder does not exist or holds no readable pulse sweeps (the
        message lists the files that could not be read).
    DataFormatError
        For an unreadable cutoffs file (it concerns every run).
    """
    root = Path(root)
    if not root.is_dir():
        raise NoSweepsError(f"{root}: not a folder")
    single: list[PulseSweep] = []
    all_files: list[PulseSweep] = []
    iv: list[IVSweep] = []
    problems: list[FileProblem] = []
    for path in sorted(root.rglob("*.csv")):
        if path.name == CUTOFFS_NAME:
            continue
        device, run = _owner(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            try:
                kind, got = _read_file(path)
            except DataFormatError as exc:
                problems.append(FileProblem(path, exc.detail, "error", exc.row, device, run))
                continue
        for w in caught:
            if isinstance(w.message, DataWarning):
                problems.append(FileProblem(path, w.message.detail, "warning",
                                            w.message.row, device, run))
        if kind == "other":
            what = ("binary content, not a text measurement file" if looks_binary(path)
                    else "not a recognised measurement file (WGFMU pulse sweep, I–V sweep or "
                    "tidy pulse CSV)")
            problems.append(FileProblem(path, f"{what}; ignored", "warning", None, device, run))
        elif kind == "iv":
            assert isinstance(got, IVSweep)
            iv.append(got)
        elif isinstance(got, list):
            (all_files if kind == "all" else single).extend(got)
    have = {(s.device_id, s.run) for s in single}
    sweeps = single + [s for s in all_files if (s.device_id, s.run) not in have]
    if not sweeps:
        listed = "; ".join(str(p) for p in problems if p.severity == "error")
        raise NoSweepsError(f"{root}: no pulse sweeps found (looked for WGFMU "
                            "'pulsedAmplitudeSweep' files and tidy CSVs with a 'pulse_index' "
                            "column)" + (f"; unreadable: {listed}" if listed else ""))
    table = None
    cut_path = Path(cutoffs) if cutoffs is not None else root / CUTOFFS_NAME
    if cutoffs is not None or cut_path.is_file():
        table = read_cutoffs(cut_path)

    grouped: dict[tuple[str, str], list[PulseSweep]] = {}
    for s in sweeps:
        grouped.setdefault((s.device_id, s.run), []).append(s)
    runs = []
    for (device, run), reps in grouped.items():
        reps.sort(key=lambda s: s.repetition)
        per_rep: dict[int, Cutoff] = {}
        if table is not None:
            for rep in reps:
                hit = table.lookup(rep)
                if hit is not None:
                    per_rep[rep.repetition] = hit
        cutoff = next((per_rep[r.repetition] for r in reversed(reps)
                       if r.repetition in per_rep), None)
        mine = [p for p in problems if p.severity == "error" and p.run == run and
                p.device_id == device]
        runs.append(MeasuredRun(device, run, reps[0].pulse_width_s, reps, cutoff, per_rep,
                                mine))
    if table is not None:
        for row in table.unused():
            problems.append(FileProblem(cut_path, f"cutoffs row {row.label} matches no run "
                                        "(by Device ID and the start time of a repetition)",
                                        "warning", row.line, row.device_id, row.run))
    runs.sort(key=lambda r: (r.device_id, r.started or datetime.min, r.run))
    return FolderScan(root, runs, iv, table, problems)
