"""Clean a measured run and extract its per-pulse response Δw(w) for each direction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.devices.window import Window, auto_window, cutoff_window, longest_block
from pulsetrain.errors import FitError
from pulsetrain.measurements.scan import MeasuredRun
from pulsetrain.measurements.sweep import DOWN, UP, PulseSweep

POLARITY_HINT = ("; pulses without a direction count as potentiation (up) when negative "
                 "(the HZO convention): for a device that potentiates with positive pulses, "
                 "give the tidy CSV a 'direction' column (up/down per pulse)")
"""Added to the refusal of a run with no pulses of one direction."""


@dataclass(frozen=True)
class Branch:
    """Consecutive pulses of one direction inside the cutoff window.

    ``w`` holds the weight after each pulse; ``state`` and ``step`` are the
    state before each pulse and the magnitude of the change it caused
    (positive = in the branch's direction).
    """

    direction: int
    index: NDArray[np.int64]  # row index in the repetition
    amplitude_v: NDArray[np.float64]
    w: NDArray[np.float64]

    @property
    def state(self) -> NDArray[np.float64]:
        """Weight before each pulse that caused a recorded step."""
        return self.w[:-1]

    @property
    def step(self) -> NDArray[np.float64]:
        """Step per pulse in the branch's direction (can be < 0 for noisy reads)."""
        return np.diff(self.w) * self.direction

    @property
    def n_pulses(self) -> int:
        """Pulses in the branch."""
        return int(self.w.shape[0])


@dataclass(frozen=True)
class CleanRun:
    """A cleaned repetition: what the device model is fitted to."""

    sweep: PulseSweep
    """The repetition used (cut before a breakdown, if one happened)."""
    keep: NDArray[np.bool_]
    mapping: WeightMapping
    up: Branch
    down: Branch
    window: Window | None = None
    """The switching window and where it came from."""
    notes: tuple[str, ...] = ()
    """What was passed over on the way (unusable repetitions, a breakdown, unreadable files)."""


BREAKDOWN_RATIO = 100.0
"""A conductance jump by this factor or more between two reads is a breakdown."""
MIN_SWITCHING = 1.05
"""A repetition whose Gmax/Gmin (before any breakdown) is below this does not switch."""
SHORTED_OHM = 1e4
"""Resistances below this (ohms) are named as a likely short in refusals."""


def usable_part(sweep: PulseSweep) -> tuple[PulseSweep, str | None, str | None]:
    """Cut a repetition before a breakdown and say whether the rest can be fitted.

    Returns ``(sweep, note, refusal)``: the repetition up to the last read
    before a conductance jump of :data:`BREAKDOWN_RATIO` or more (``note``
    says where), and the reason it cannot be fitted (no pulses of a
    direction, or Gmax/Gmin below :data:`MIN_SWITCHING`), else ``None``.
    """
    g = sweep.conductance_s
    note = None
    if g.size > 1:
        jumps = np.flatnonzero(g[1:] >= BREAKDOWN_RATIO * g[:-1])
        if jumps.size:
            k = int(jumps[0]) + 1
            note = (f"breakdown at pulse {k} ({sweep.amplitude_v[k]:.3g} V): R "
                    f"{1 / g[k - 1]:.3g} → {1 / g[k]:.3g} Ω; pulses from there on dropped")
            sweep = replace(
                sweep, amplitude_v=sweep.amplitude_v[:k], conductance_s=g[:k],
                direction=sweep.direction[:k],
                r_low_ohm=None if sweep.r_low_ohm is None else sweep.r_low_ohm[:k],
                r_high_ohm=None if sweep.r_high_ohm is None else sweep.r_high_ohm[:k])
            g = sweep.conductance_s
    missing = [name for d, name in ((UP, "potentiation (up)"), (DOWN, "depression (down)"))
               if not (sweep.direction == d).any()]
    if missing:
        return sweep, note, (f"no {' or '.join(missing)} pulses" + (f" ({note})" if note else "")
                             + POLARITY_HINT)
    ratio = float(g.max() / g.min())
    if ratio < MIN_SWITCHING:
        short = float(1 / g.max())
        hint = f"; R ≈ {short:.3g} Ω: shorted device?" if short < SHORTED_OHM else ""
        return sweep, note, (f"no switching: Gmax/Gmin {ratio:.4f} over the repetition "
                             f"(< {MIN_SWITCHING}){hint}")
    return sweep, note, None


def choose_repetition(run: MeasuredRun, repetition: int | None = None
                      ) -> tuple[PulseSweep, list[str]]:
    """The repetition to fit: ``repetition`` if given, else the last usable one.

    Returns the (possibly breakdown-cut) repetition and notes on what was
    passed over.

    Raises
    ------
    FitError
        If the requested repetition, or every repetition, cannot be fitted
        (the message gives each repetition's reason).
    """
    notes = [f"unreadable file: {p}" for p in run.problems]
    reps = [run.repetition(repetition)] if repetition is not None else run.repetitions[::-1]
    refusals: list[tuple[int, str]] = []
    for rep in reps:
        sweep, note, refusal = usable_part(rep)
        if refusal is None:
            skipped = [f"repetition {r}: {why}" for r, why in refusals]
            return sweep, notes + skipped + ([note] if note else [])
        refusals.append((rep.repetition, refusal))
    label = run.repetitions[-1].label
    if len(refusals) == 1:
        raise FitError(f"{label}: repetition {refusals[0][0]}: {refusals[0][1]}")
    raise FitError(f"{label}: no usable repetition (" +
                   "; ".join(f"{r}: {why}" for r, why in refusals) + ")")


WindowMode = Literal["prefer-cutoffs", "cutoffs", "auto"]
"""``prefer-cutoffs``: the cutoffs row where one matches, else automatic;
``cutoffs``: a cutoffs row is required; ``auto``: always automatic."""


def clean_run(run: MeasuredRun, repetition: int | None = None, min_pulses: int = 10,
              drop_first: int = 0, window: WindowMode = "prefer-cutoffs") -> CleanRun:
    """Select a repetition, find the switching window, normalise G to weights.

    Parameters
    ----------
    run
        The measured run.
    repetition
        Repetition to use; default the last usable one (see :func:`choose_repetition`).
    min_pulses
        Minimum pulses per direction inside the window (the hard floor).
    drop_first
        Pulses to drop at the start of each branch (unstable first pulses);
        the window already removes the sub-threshold ones.
    window
        Where the switching window comes from (see :data:`WindowMode`).

    Raises
    ------
    FitError
        If no repetition can be fitted, a required cutoffs row is missing, or a
        direction has too few pulses inside the window.
    """
    sweep, notes = choose_repetition(run, repetition)
    cutoff = run.cutoff_for(sweep)
    if window == "cutoffs" and cutoff is None:
        raise FitError(f"{sweep.label}: no cutoff window for this run (add a row for it to "
                       "cutoffs.csv, or use the automatic window)")
    win = (cutoff_window(sweep, cutoff) if cutoff is not None and window != "auto"
           else auto_window(sweep))
    keep = win.keep
    branches = {}
    for direction in (UP, DOWN):
        idx = longest_block(keep & sweep.rising & (sweep.direction == direction))[drop_first:]
        name = "potentiation (up)" if direction == UP else "depression (down)"
        if idx.size < min_pulses:
            raise FitError(f"{sweep.label}: only {idx.size} {name} pulses inside the "
                           f"{win.source} window, need at least {min_pulses}"
                           + (f" ({'; '.join(notes)})" if notes else "")
                           + (POLARITY_HINT if idx.size == 0 else ""))
        branches[direction] = idx
    sel = np.concatenate([branches[UP], branches[DOWN]])
    g = sweep.conductance_s[sel]
    if not float(g.max()) > float(g.min()):
        raise FitError(f"{sweep.label}: conductance is constant inside the {win.source} "
                       "window")
    mapping = WeightMapping(float(g.min()), float(g.max()))
    made = {
        d: Branch(d, branches[d], sweep.amplitude_v[branches[d]],
                  mapping.to_weight(sweep.conductance_s[branches[d]]))
        for d in (UP, DOWN)
    }
    return CleanRun(sweep, keep, mapping, made[UP], made[DOWN], win, tuple(notes))
