"""Clean a measured run and extract its per-pulse response Δw(w) for each direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.errors import FitError
from pulsetrain.measurements.scan import MeasuredRun
from pulsetrain.measurements.sweep import DOWN, UP, PulseSweep


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
    keep: NDArray[np.bool_]
    mapping: WeightMapping
    up: Branch
    down: Branch


def _longest_block(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Indices of the longest run of consecutive True values."""
    best: tuple[int, int] = (0, 0)
    start = None
    for i, m in enumerate([*mask.tolist(), False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return np.arange(best[0], best[1])


def clean_run(run: MeasuredRun, repetition: int | None = None, min_pulses: int = 10,
              drop_first: int = 0) -> CleanRun:
    """Select a repetition, apply the cutoff window, normalise G to weights.

    Parameters
    ----------
    run
        The measured run.
    repetition
        Repetition to use; default the last one (the cleanest in the HZO data).
    min_pulses
        Minimum pulses per direction inside the window.
    drop_first
        Pulses to drop at the start of each branch (unstable first pulses);
        the cutoff window already removes the sub-threshold ones.

    Raises
    ------
    FitError
        If the run has no cutoff window or too few pulses in a direction.
    """
    sweep = run.repetition(repetition)
    if run.cutoff is None:
        raise FitError(f"{sweep.label}: no cutoff window for this run (add a row for it to "
                       "cutoffs.csv)")
    keep = run.cutoff.keep(sweep.amplitude_v)
    branches = {}
    for direction in (UP, DOWN):
        idx = _longest_block(keep & (sweep.direction == direction))[drop_first:]
        name = "potentiation (up)" if direction == UP else "depression (down)"
        if idx.size < min_pulses:
            raise FitError(f"{sweep.label}: only {idx.size} {name} pulses inside the cutoff "
                           f"window, need at least {min_pulses}")
        branches[direction] = idx
    sel = np.concatenate([branches[UP], branches[DOWN]])
    g = sweep.conductance_s[sel]
    mapping = WeightMapping(float(g.min()), float(g.max()))
    made = {
        d: Branch(d, branches[d], sweep.amplitude_v[branches[d]],
                  mapping.to_weight(sweep.conductance_s[branches[d]]))
        for d in (UP, DOWN)
    }
    return CleanRun(sweep, keep, mapping, made[UP], made[DOWN])
