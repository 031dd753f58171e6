"""Symmetry points of every device of a tile, estimated the way a chip would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from pulsetrain.crossbar.device_tensors import DeviceTensors


@dataclass(frozen=True)
class TileSymmetryPoints:
    """Per-device SP estimates of one tile."""

    value: torch.Tensor
    """SP per device, shape ``(out, in)``, weight units."""
    pulses: int
    """Pulses spent estimating them (all devices, alternation + probes)."""
    converged_fraction: float
    """Share of devices whose alternation settled within ``max_pulses``."""


@dataclass(frozen=True)
class SymmetryProgress:
    """How far an SP estimation has got (passed to a progress callback while it runs)."""

    rounds: int
    """Up/down pulse pairs applied so far (to the devices still alternating)."""
    settled: float
    """Share of devices whose orbit has settled (0 … 1)."""
    pulses: int
    """Alternation pulses spent so far (all devices)."""
    finished: bool = False
    """True for the last report of a tile (estimation done)."""
    layer: int = 0
    """Index of the tile among those being estimated (0-based)."""
    layers: int = 1
    """Number of tiles being estimated."""


SymmetryProgressCallback = Callable[[SymmetryProgress], None]
PROGRESS_EVERY = 10
"""Rounds between two progress reports of :func:`estimate_symmetry_points`."""


def _pulse(dt: DeviceTensors, w: torch.Tensor, up: bool) -> torch.Tensor:
    step = dt.step(w, up)
    new = w + step if up else w - step
    return torch.minimum(torch.maximum(new, dt.w_min), dt.w_max)


def estimate_symmetry_points(dt: DeviceTensors, w0: torch.Tensor | None = None,
                             tol: float = 1e-6, max_pulses: int = 4000,
                             on_progress: SymmetryProgressCallback | None = None
                             ) -> TileSymmetryPoints:
    """Alternate up/down pulses on every device (noise-free) until each orbit settles,
    then refine with two probe pulses (as
    :func:`pulsetrain.devices.symmetry_point_by_pulses`, vectorised over devices).

    Each device stops (and stops being counted) once its low point moves less
    than ``tol`` between pairs.  Returns the estimates and the pulses spent.
    ``on_progress`` hears a :class:`SymmetryProgress` every :data:`PROGRESS_EVERY`
    rounds and once at the end (``finished``).
    """
    w = torch.zeros_like(dt.gain_up) if w0 is None else w0.clone()
    low_prev = torch.full_like(w, float("inf"))
    done = torch.zeros_like(w, dtype=torch.bool)
    n_pairs = torch.zeros_like(w, dtype=torch.int64)
    low = w.clone()
    high = w.clone()
    rounds = 0
    for rounds in range(1, max_pulses // 2 + 1):
        h = _pulse(dt, w, True)
        lo = _pulse(dt, h, False)
        live = ~done
        high = torch.where(live, h, high)
        low = torch.where(live, lo, low)
        n_pairs += live.long()
        done |= (lo - low_prev).abs() < tol
        low_prev = torch.where(live, lo, low_prev)
        w = low
        if bool(done.all()):
            break
        if on_progress is not None and rounds % PROGRESS_EVERY == 0:
            on_progress(SymmetryProgress(rounds, float(done.float().mean()),
                                         int(2 * n_pairs.sum())))
    if on_progress is not None:
        on_progress(SymmetryProgress(rounds, float(done.float().mean()),
                                     int(2 * n_pairs.sum()), finished=True))
    diff_low = (high - low) - (low - _pulse(dt, low, False))
    diff_high = (_pulse(dt, high, True) - high) - (high - low)
    denom = diff_low - diff_high
    secant = low + (high - low) * diff_low / torch.where(denom == 0, torch.ones_like(denom),
                                                          denom)
    value = torch.where(denom == 0, 0.5 * (low + high), secant)
    value = torch.minimum(torch.maximum(value, dt.w_min), dt.w_max)
    pulses = int(2 * n_pairs.sum()) + 2 * w.numel()
    return TileSymmetryPoints(value, pulses, float(done.float().mean()))
