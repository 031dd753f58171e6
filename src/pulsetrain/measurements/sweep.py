"""Typed containers for measured pulse sweeps, DC I–V sweeps and cutoff windows."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pulsetrain.errors import DataWarning

UP = 1
"""Direction code of a potentiating pulse (conductance goes up)."""
DOWN = -1
"""Direction code of a depressing pulse (conductance goes down)."""


@dataclass(frozen=True)
class PulseSweep:
    """One repetition of a pulsed sweep: one row per applied pulse.

    Attributes
    ----------
    device_id
        Device identifier as written by the instrument, without decoration
        (e.g. ``"ID161ZR15000"``).
    run
        Identifier of the measurement run this repetition belongs to
        (for WGFMU folders the folder timestamp, e.g. ``"20241024104555"``).
    repetition
        0-based repetition index within the run.
    pulse_width_s
        Programming pulse width in seconds.
    amplitude_v
        Pulse amplitude per pulse, volts, shape ``(n,)``.
    conductance_s
        Conductance read after each pulse, siemens, shape ``(n,)``.
    direction
        ``+1`` (potentiation, up) or ``-1`` (depression, down) per pulse, shape ``(n,)``.
    started
        Start time of the repetition, when known.
    rise_time_s, fall_time_s
        Pulse edges in seconds, when known.
    r_low_ohm, r_high_ohm
        The two resistance reads per pulse (WGFMU files), ohms.
    n_repetitions
        Number of repetitions in the run, when known.
    source
        File the sweep was read from.
    dropped_rows
        1-based file lines dropped because the instrument marked them invalid
        (trailing ``-1`` resistance sentinels of an aborted measurement).
    """

    device_id: str
    run: str
    repetition: int
    pulse_width_s: float
    amplitude_v: NDArray[np.float64]
    conductance_s: NDArray[np.float64]
    direction: NDArray[np.int8]
    started: datetime | None = None
    rise_time_s: float | None = None
    fall_time_s: float | None = None
    r_low_ohm: NDArray[np.float64] | None = None
    r_high_ohm: NDArray[np.float64] | None = None
    n_repetitions: int | None = None
    source: Path | None = None
    dropped_rows: tuple[int, ...] = field(default_factory=tuple)

    @property
    def n_pulses(self) -> int:
        """Number of pulses (rows) in the sweep."""
        return int(self.amplitude_v.shape[0])

    @property
    def rising(self) -> NDArray[np.bool_]:
        """Mask of the pulses on the rising half of their polarity's ramp.

        See :func:`rising_mask`; all True for a sweep whose ramps only rise.
        """
        return rising_mask(self.amplitude_v)

    @property
    def label(self) -> str:
        """Short human label: device, pulse width, run."""
        return f"{self.device_id} {format_seconds(self.pulse_width_s)} run {self.run}"


@dataclass(frozen=True)
class IVSweep:
    """A DC current–voltage sweep.

    Attributes
    ----------
    device_id
        Device identifier.
    bias_v
        Applied bias per point, volts.
    current_a
        Measured current per point, amperes.
    started
        Start time, when known.
    compliance_a
        Current compliance of the sweep, amperes, when known.
    source
        File the sweep was read from.
    """

    device_id: str
    bias_v: NDArray[np.float64]
    current_a: NDArray[np.float64]
    started: datetime | None = None
    compliance_a: float | None = None
    source: Path | None = None


@dataclass(frozen=True)
class Cutoff:
    """Voltage window with clean switching for one run (volts).

    Positive pulses are kept when ``v_start_pos <= V <= v_end_pos``; negative
    pulses when ``v_end_neg <= V <= v_start_neg`` (``v_start_neg`` is the
    smaller magnitude, e.g. ``-0.1``; ``v_end_neg`` the larger, e.g. ``-3.5``).
    """

    v_start_pos: float
    v_end_pos: float
    v_start_neg: float
    v_end_neg: float

    def keep(self, amplitude_v: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Boolean mask of the pulses inside the window."""
        tol = 1e-9
        pos = (amplitude_v > 0) & (amplitude_v >= self.v_start_pos - tol)
        pos &= amplitude_v <= self.v_end_pos + tol
        neg = (amplitude_v < 0) & (amplitude_v <= self.v_start_neg + tol)
        neg &= amplitude_v >= self.v_end_neg - tol
        return np.asarray(pos | neg)


def rising_mask(amplitude_v: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which pulses lie on the rising half of their polarity's amplitude ramp.

    A sweep may ramp each polarity up and back down (WGFMU ``bothSides`` = 1:
    0 → 2.5 → 0 V, then 0 → −2 → 0 V).  A pulse is on the *falling* half when
    its magnitude is below the largest magnitude applied so far in its
    polarity's ramp (a maximal run of pulses of one sign; a 0 V pulse belongs
    to the run before it).  Everything else is rising, so amplitude ramps that
    only rise and fixed-amplitude pulse trains are all rising.
    """
    v = np.asarray(amplitude_v, dtype=float)
    if v.size == 0:
        return np.zeros(0, dtype=bool)
    sign = np.sign(v)
    nonzero = np.flatnonzero(sign)
    # a 0 V pulse takes the sign of the last signed pulse before it
    last = np.maximum.accumulate(np.where(sign != 0, np.arange(v.size), -1))
    filled = np.where(last >= 0, sign[np.maximum(last, 0)], 0.0)
    run = np.concatenate([[0], np.cumsum(filled[1:] != filled[:-1])])
    mag = np.abs(v)
    offset = run * (float(mag.max()) + 1.0) if nonzero.size else np.zeros(v.size)
    shifted = mag + offset  # runs stacked above each other: one running maximum serves all
    return np.asarray(shifted >= np.maximum.accumulate(shifted))


MAX_PULSE_WIDTH_S = 1.0
"""Pulse widths above this (seconds) are implausible for a programming pulse: a warning."""
CONDUCTANCE_RANGE_S = (1e-15, 1.0)
"""Conductances outside this range (siemens) are implausible: a warning (units off?)."""


def check_plausible(sweep: PulseSweep) -> None:
    """Warn (:class:`~pulsetrain.errors.DataWarning`) about implausible units.

    A pulse width above :data:`MAX_PULSE_WIDTH_S` or conductances outside
    :data:`CONDUCTANCE_RANGE_S` usually mean a unit slip (µs written as s, µS as S).
    """
    where = sweep.source or Path(sweep.device_id)
    if sweep.pulse_width_s > MAX_PULSE_WIDTH_S:
        warnings.warn(DataWarning(where, f"{sweep.label}: pulse width {sweep.pulse_width_s:g} s "
                                  f"is above {MAX_PULSE_WIDTH_S:g} s; expected seconds "
                                  "(e.g. 2e-08 for 20 ns)"), stacklevel=2)
    g = sweep.conductance_s
    lo, hi = CONDUCTANCE_RANGE_S
    if g.size and (float(g.min()) < lo or float(g.max()) > hi):
        warnings.warn(DataWarning(where, f"{sweep.label}: conductance {float(g.min()):.3g} … "
                                  f"{float(g.max()):.3g} S lies outside {lo:g} … {hi:g} S; "
                                  "expected siemens (units off?)"), stacklevel=2)


def format_seconds(seconds: float) -> str:
    """Format a pulse width the way people say it: ``2e-8`` → ``"20ns"``."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("ps", 1e-12)):
        if seconds >= scale * 0.9999:
            value = seconds / scale
            text = f"{value:.3g}"
            return f"{text}{unit}"
    return f"{seconds:.3g}s"
