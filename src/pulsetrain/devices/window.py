"""The switching window of a sweep: from a cutoffs row, or found from the data alone.

Automatic rule (:func:`auto_window`), per polarity branch (the longest block
of consecutive pulses of one direction, in the order applied):

1. progress ``p_i`` = conductance change since the read before the branch's
   first pulse, signed so that the expected direction is positive (negative
   pulses raise G, positive pulses lower it on the HZO devices; a tidy CSV's
   ``direction`` column decides elsewhere);
2. the window ends at the pulse where ``p`` is largest (later pulses only
   saturate or move back);
3. it starts one pulse before ``p`` first reaches ``onset`` (2 %) of that
   largest progress — earlier pulses are sub-threshold and move nothing.

A branch with no progress at all gets no window (the fit then refuses the run
for too few pulses).  Windows are pulse ranges, so fixed-amplitude pulse
trains work as well as amplitude ramps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from pulsetrain.measurements.sweep import DOWN, UP, Cutoff, PulseSweep

AUTO_ONSET = 0.02
"""Share of a branch's largest progress that marks the end of its sub-threshold pulses."""


def longest_block(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Indices of the longest run of consecutive True values (the first, on ties)."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    if edges.size == 0:
        return np.arange(0, dtype=np.int64)
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return np.arange(starts[k], ends[k], dtype=np.int64)


@dataclass(frozen=True)
class Window:
    """Which pulses of a sweep show clean switching."""

    keep: NDArray[np.bool_]
    """Mask over the sweep's pulses."""
    source: Literal["cutoffs", "auto"]
    """Where the window came from."""
    volts: tuple[float, float, float, float]
    """``(start_pos, end_pos, start_neg, end_neg)`` amplitudes bounding the kept pulses
    (the cutoffs row for ``cutoffs``; NaN for a branch with no window)."""

    def describe(self) -> str:
        """``auto 0.33…3.12 V / -0.28…-3.12 V`` style text."""
        a, b, c, d = self.volts
        return f"{self.source} {a:.2f}…{b:.2f} V / {c:.2f}…{d:.2f} V"


def cutoff_window(sweep: PulseSweep, cutoff: Cutoff) -> Window:
    """The window of a cutoffs row."""
    return Window(cutoff.keep(sweep.amplitude_v), "cutoffs",
                  (cutoff.v_start_pos, cutoff.v_end_pos, cutoff.v_start_neg, cutoff.v_end_neg))


def _branch_window(sweep: PulseSweep, direction: int, onset: float) -> NDArray[np.int64]:
    idx = longest_block(sweep.rising & (sweep.direction == direction))
    if idx.size == 0:
        return idx
    g = sweep.conductance_s
    before = g[idx[0] - 1] if idx[0] > 0 else g[idx[0]]
    progress = direction * (g[idx] - before)
    top = float(progress.max())
    if not top > 0:
        return idx[:0]
    end = int(np.argmax(progress))
    first = int(np.argmax(progress >= onset * top))
    start = max(min(first, end) - 1, 0)
    return idx[start:end + 1]


def auto_window(sweep: PulseSweep, onset: float = AUTO_ONSET) -> Window:
    """The clean switching window found from the data alone (rule in the module docs)."""
    keep = np.zeros(sweep.n_pulses, dtype=bool)
    volts = []
    for direction in (DOWN, UP):
        idx = _branch_window(sweep, direction, onset)
        keep[idx] = True
        if idx.size:
            volts += [float(sweep.amplitude_v[idx[0]]), float(sweep.amplitude_v[idx[-1]])]
        else:
            volts += [float("nan"), float("nan")]
    return Window(keep, "auto", (volts[0], volts[1], volts[2], volts[3]))
