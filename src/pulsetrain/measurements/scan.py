"""Find measured runs in a folder: group repetitions, attach cutoff windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pulsetrain.errors import NoSweepsError, UnknownDeviceError
from pulsetrain.measurements.sweep import Cutoff, IVSweep, PulseSweep, format_seconds
from pulsetrain.measurements.tidy import CutoffTable, read_cutoffs, read_tidy_csv
from pulsetrain.measurements.wgfmu import (
    is_iv_file,
    is_pulse_sweep_file,
    read_dciv,
    read_wgfmu_sweep,
)

CUTOFFS_NAME = "cutoffs.csv"


@dataclass
class MeasuredRun:
    """All repetitions of one measurement run of one device at one pulse width."""

    device_id: str
    run: str
    pulse_width_s: float
    repetitions: list[PulseSweep]
    cutoff: Cutoff | None = None

    @property
    def started(self) -> datetime | None:
        """Start time of the first repetition."""
        return self.repetitions[0].started

    @property
    def last(self) -> PulseSweep:
        """The last repetition (the cleanest one in the HZO data)."""
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
        }


@dataclass
class FolderScan:
    """What a folder holds: measured runs and DC I–V sweeps."""

    root: Path
    runs: list[MeasuredRun] = field(default_factory=list)
    iv_sweeps: list[IVSweep] = field(default_factory=list)
    cutoffs: CutoffTable | None = None

    def device_ids(self) -> list[str]:
        """Devices found, sorted."""
        return sorted({r.device_id for r in self.runs})

    def runs_of(self, device_id: str) -> list[MeasuredRun]:
        """Runs of one device, ordered by start time.

        Raises
        ------
        UnknownDeviceError
            If the folder holds no runs of that device (the message lists those it has).
        """
        wanted = device_id.strip().strip("_")
        runs = [r for r in self.runs if r.device_id == wanted]
        if not runs:
            have = ", ".join(self.device_ids()) or "none"
            raise UnknownDeviceError(f"{self.root}: no runs of device {device_id!r}; "
                                     f"devices found: {have}")
        return runs

    def iv_of(self, device_id: str) -> list[IVSweep]:
        """DC I–V sweeps of one device."""
        return [s for s in self.iv_sweeps if s.device_id == device_id.strip("_")]


def _is_tidy(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return False
    return "pulse_index" in first and "amplitude_v" in first


def scan_folder(root: str | Path, cutoffs: str | Path | None = None) -> FolderScan:
    """Scan a folder (recursively) for pulse sweeps, I–V sweeps and a cutoffs file.

    Single-repetition WGFMU files are preferred; an all-repetition file is
    used only for runs with no single-repetition files.  Tidy CSV files
    (see :mod:`pulsetrain.measurements.tidy`) are read too.

    Parameters
    ----------
    root
        Folder to scan.
    cutoffs
        Cutoffs CSV; default ``ROOT/cutoffs.csv`` when it exists.

    Raises
    ------
    NoSweepsError
        If the folder does not exist or holds no pulse sweeps.
    DataFormatError
        For the first file that cannot be read (names file and line).
    """
    root = Path(root)
    if not root.is_dir():
        raise NoSweepsError(f"{root}: not a folder")
    single: list[PulseSweep] = []
    all_files: list[PulseSweep] = []
    iv: list[IVSweep] = []
    for path in sorted(root.rglob("*.csv")):
        if path.name == CUTOFFS_NAME:
            continue
        if is_pulse_sweep_file(path):
            (all_files if "(ALL)" in path.name else single).extend(read_wgfmu_sweep(path))
        elif is_iv_file(path):
            iv.append(read_dciv(path))
        elif _is_tidy(path):
            single.extend(read_tidy_csv(path))
    have = {(s.device_id, s.run) for s in single}
    sweeps = single + [s for s in all_files if (s.device_id, s.run) not in have]
    if not sweeps:
        raise NoSweepsError(f"{root}: no pulse sweeps found (looked for WGFMU "
                            "'pulsedAmplitudeSweep' files and tidy CSVs with a 'pulse_index' "
                            "column)")
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
        cutoff = None
        if table is not None:
            for rep in reversed(reps):
                cutoff = table.lookup(rep)
                if cutoff is not None:
                    break
        runs.append(MeasuredRun(device, run, reps[0].pulse_width_s, reps, cutoff))
    runs.sort(key=lambda r: (r.device_id, r.started or datetime.min, r.run))
    return FolderScan(root, runs, iv, table)
