"""The generic tidy CSV format and the cutoffs file.

Tidy pulse CSV (one row per applied pulse; for instruments other than the WGFMU)::

    pulse_index,amplitude_v,pulse_width_s,conductance_s,direction,device_id,run
    0,-1.2,2e-08,1.1e-07,up,DEV1,run1
    1,-1.2,2e-08,1.2e-07,up,DEV1,run1

Required: ``pulse_index``, ``amplitude_v``, ``pulse_width_s`` and one of
``conductance_s`` (siemens) or ``resistance_ohm`` (ohms).  Optional:
``direction`` (``up``/``down``, ``potentiation``/``depression`` or ``+1``/``-1``;
default: negative amplitude = up, the convention of the HZO devices),
``device_id`` (default: the file stem), ``run`` (default ``"0"``) and
``repetition`` (default 0).  Rows are ordered by ``pulse_index`` within each run.

Cutoffs CSV (one row per run: the voltage window with clean switching)::

    device_id,test_date,test_time,VStartPos,VEndPos,VStartNeg,VEndNeg
    ID161ZR15000,24.10.2024,11:32:36,0.1,3.2,-0.1,-3.2

A row is matched to a sweep by ``device_id`` and the sweep's start
``test_date``/``test_time``, or by a ``run`` column instead of date and time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pulsetrain.errors import DataFormatError
from pulsetrain.measurements.sweep import DOWN, UP, Cutoff, PulseSweep

TIDY_REQUIRED = ("pulse_index", "amplitude_v", "pulse_width_s")
CUTOFF_WINDOW = ("VStartPos", "VEndPos", "VStartNeg", "VEndNeg")
_DIRECTIONS = {"up": UP, "potentiation": UP, "+1": UP, "1": UP, "down": DOWN,
               "depression": DOWN, "-1": DOWN}


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataFormatError(path, "file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, "file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, f"not a valid CSV file ({exc})") from None


def _number(path: Path, df: pd.DataFrame, i: int, col: str, positive: bool = False) -> float:
    text = str(df.iloc[i][col]).strip()
    try:
        value = float(text)
    except ValueError:
        raise DataFormatError(path, f"column {col!r}: {text!r} is not a number",
                              row=i + 2) from None
    if not math.isfinite(value):
        raise DataFormatError(path, f"column {col!r}: {text!r} is not finite (NaN/inf)",
                              row=i + 2)
    if positive and value <= 0:
        raise DataFormatError(path, f"column {col!r}: {value:g} must be > 0", row=i + 2)
    return value


def read_tidy_csv(path: str | Path) -> list[PulseSweep]:
    """Read pulses in the tidy CSV format; one :class:`PulseSweep` per (device, run, repetition).

    Raises
    ------
    DataFormatError
        Naming the file and line for a missing column, a header-only file,
        non-numeric, non-finite or non-positive values, unknown direction words,
        or mixed pulse widths within one run.
    """
    path = Path(path)
    df = _read_csv(path)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in TIDY_REQUIRED if c not in df.columns]
    if "conductance_s" not in df.columns and "resistance_ohm" not in df.columns:
        missing.append("conductance_s or resistance_ohm")
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found "
                              f"{', '.join(df.columns)}", row=1)
    if len(df) == 0:
        raise DataFormatError(path, "header only: no pulse rows", row=1)
    g_col = "conductance_s" if "conductance_s" in df.columns else "resistance_ohm"
    n = len(df)
    idx = np.array([_number(path, df, i, "pulse_index") for i in range(n)])
    amp = np.array([_number(path, df, i, "amplitude_v") for i in range(n)])
    pw = np.array([_number(path, df, i, "pulse_width_s", positive=True) for i in range(n)])
    gr = np.array([_number(path, df, i, g_col, positive=True) for i in range(n)])
    g = gr if g_col == "conductance_s" else 1.0 / gr
    if "direction" in df.columns:
        words = df["direction"].astype(str).str.strip().str.lower()
        direction = np.empty(n, dtype=np.int8)
        for i, word in enumerate(words):
            if word not in _DIRECTIONS:
                raise DataFormatError(path, f"column 'direction': {word!r} is not one of "
                                      "up/down, potentiation/depression, +1/-1", row=i + 2)
            direction[i] = _DIRECTIONS[word]
    else:
        direction = np.where(amp < 0, UP, DOWN).astype(np.int8)
    device = (df["device_id"].astype(str).str.strip() if "device_id" in df.columns
              else pd.Series([path.stem] * n))
    run = df["run"].astype(str).str.strip() if "run" in df.columns else pd.Series(["0"] * n)
    rep = (np.array([_number(path, df, i, "repetition") for i in range(n)]).astype(int)
           if "repetition" in df.columns else np.zeros(n, dtype=int))

    out: list[PulseSweep] = []
    keys = pd.DataFrame({"d": device.values, "r": run.values, "k": rep})
    for (d, r, k), group in keys.groupby(["d", "r", "k"], sort=False):
        rows = group.index.to_numpy()
        rows = rows[np.argsort(idx[rows], kind="stable")]
        widths = np.unique(pw[rows])
        if widths.size > 1:
            raise DataFormatError(path, f"run {r!r} of device {d!r} mixes pulse widths "
                                  f"{', '.join(f'{w:g}' for w in widths)} s; give each pulse "
                                  "width its own run", row=int(rows[0]) + 2)
        out.append(PulseSweep(
            device_id=str(d), run=str(r), repetition=int(str(k)), pulse_width_s=float(widths[0]),
            amplitude_v=amp[rows], conductance_s=g[rows], direction=direction[rows],
            source=path))
    return out


@dataclass(frozen=True)
class CutoffTable:
    """Cutoff windows keyed by device and start time or run id."""

    by_time: dict[tuple[str, datetime], Cutoff]
    by_run: dict[tuple[str, str], Cutoff]
    source: Path | None = None

    def lookup(self, sweep: PulseSweep) -> Cutoff | None:
        """The window for a sweep, matched by start time first, then by run id."""
        if sweep.started is not None:
            hit = self.by_time.get((sweep.device_id, sweep.started))
            if hit is not None:
                return hit
        return self.by_run.get((sweep.device_id, sweep.run))


def read_cutoffs(path: str | Path) -> CutoffTable:
    """Read a cutoffs CSV (see module docstring).

    Raises
    ------
    DataFormatError
        Naming the file and line for missing columns, unparsable dates/times,
        non-numeric values or windows with the wrong sign.
    """
    path = Path(path)
    df = _read_csv(path)
    df.columns = [str(c).strip() for c in df.columns]
    has_time = {"test_date", "test_time"} <= set(df.columns)
    missing = [c for c in ("device_id", *CUTOFF_WINDOW) if c not in df.columns]
    if not has_time and "run" not in df.columns:
        missing.append("test_date+test_time or run")
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found "
                              f"{', '.join(df.columns)}", row=1)
    by_time: dict[tuple[str, datetime], Cutoff] = {}
    by_run: dict[tuple[str, str], Cutoff] = {}
    for i in range(len(df)):
        v = [_number(path, df, i, c) for c in CUTOFF_WINDOW]
        if not (v[0] >= 0 and v[1] > v[0] and v[2] <= 0 and v[3] < v[2]):
            raise DataFormatError(path, "window must satisfy 0 <= VStartPos < VEndPos and "
                                  f"VEndNeg < VStartNeg <= 0, got {v}", row=i + 2)
        cut = Cutoff(*v)
        device = str(df.iloc[i]["device_id"]).strip().strip("_")
        if has_time and str(df.iloc[i]["test_date"]).strip():
            text = f"{str(df.iloc[i]['test_date']).strip()} {str(df.iloc[i]['test_time']).strip()}"
            try:
                when = datetime.strptime(text, "%d.%m.%Y %H:%M:%S")
            except ValueError:
                raise DataFormatError(path, f"date/time {text!r} is not 'DD.MM.YYYY HH:MM:SS'",
                                      row=i + 2) from None
            by_time[(device, when)] = cut
        if "run" in df.columns and str(df.iloc[i]["run"]).strip():
            by_run[(device, str(df.iloc[i]["run"]).strip())] = cut
    return CutoffTable(by_time, by_run, path)
