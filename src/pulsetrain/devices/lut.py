"""The lookup-table device model the training engine runs on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pulsetrain.devices.mapping import WeightMapping


@dataclass(frozen=True)
class Variation:
    """Device-to-device variation, drawn once per device (relative standard deviations).

    Attributes
    ----------
    step_gain_std
        Std of a log-normal-ish multiplicative gain on both step tables.
    bound_std
        Std of a multiplicative factor on ``w_min`` and ``w_max``.
    up_down_std
        Std of the up/down ratio: up steps × (1 + r), down steps × (1 − r).
    """

    step_gain_std: float = 0.0
    bound_std: float = 0.0
    up_down_std: float = 0.0

    def __post_init__(self) -> None:
        for name in ("step_gain_std", "bound_std", "up_down_std"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"Variation.{name} must be a finite number >= 0, got {value}")


@dataclass(frozen=True)
class LutDevice:
    """A device whose step size per pulse depends on its state through two lookup tables.

    ``lut_up[k]`` / ``lut_down[k]`` are the magnitudes of one up / down pulse's
    step at weight ``grid[k]`` (``grid = linspace(w_min, w_max, n_points)``);
    between nodes the step is linearly interpolated.  Weights are clipped to
    ``[w_min, w_max]``.

    Attributes
    ----------
    name
        Device name (built-in name or file stem).
    lut_up, lut_down
        Step magnitudes at the grid nodes, weight units, ``>= 0``.
    w_min, w_max
        Bounds in weight units.
    mapping
        Weight ↔ conductance (siemens) map of the measured run.
    pulse_width_s
        Programming pulse width, seconds.
    amplitude_up_v, amplitude_down_v
        Mean pulse amplitude (volts) of the measured branches: the pulse the
        model stands for (used by energy models).
    variation
        Device-to-device variation (default none).
    c2c_noise
        Relative cycle-to-cycle step noise used in simulation (default 0).
    c2c_noise_estimate
        The relative step noise estimated from the fit residuals.
    area_m2, thickness_m
        Device area (m²) and ferroelectric film thickness (m), for energy models.
    device_id, run
        Where the model came from.
    metrics
        Metrics of the measured run (see :mod:`pulsetrain.devices.metrics`).
    provenance
        Free-form provenance (source, licence, date, command).
    """

    name: str
    lut_up: NDArray[np.float64]
    lut_down: NDArray[np.float64]
    w_min: float = -1.0
    w_max: float = 1.0
    mapping: WeightMapping | None = None
    pulse_width_s: float | None = None
    amplitude_up_v: float | None = None
    amplitude_down_v: float | None = None
    variation: Variation = field(default_factory=Variation)
    c2c_noise: float = 0.0
    c2c_noise_estimate: float | None = None
    area_m2: float | None = None
    thickness_m: float | None = None
    device_id: str | None = None
    run: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        up = np.asarray(self.lut_up, dtype=float)
        down = np.asarray(self.lut_down, dtype=float)
        object.__setattr__(self, "lut_up", up)
        object.__setattr__(self, "lut_down", down)
        if up.ndim != 1 or up.shape != down.shape or up.size < 2:
            raise ValueError(f"{self.name}: lut_up and lut_down must be 1-D of equal length "
                             f">= 2, got shapes {up.shape} and {down.shape}")
        if not (np.isfinite(up).all() and np.isfinite(down).all()):
            raise ValueError(f"{self.name}: lookup tables must be finite")
        if (up < 0).any() or (down < 0).any():
            raise ValueError(f"{self.name}: lookup tables must be >= 0 (step magnitudes)")
        if not self.w_min < self.w_max:
            raise ValueError(f"{self.name}: need w_min < w_max, got {self.w_min}, {self.w_max}")
        if not (np.isfinite(self.c2c_noise) and self.c2c_noise >= 0):
            raise ValueError(f"{self.name}: c2c_noise must be >= 0, got {self.c2c_noise}")

    @property
    def n_points(self) -> int:
        """Number of lookup-table nodes."""
        return int(self.lut_up.shape[0])

    @property
    def grid(self) -> NDArray[np.float64]:
        """Weights of the lookup-table nodes."""
        return np.linspace(self.w_min, self.w_max, self.n_points)

    def step_up(self, w: ArrayLike) -> NDArray[np.float64]:
        """Magnitude of one up pulse's step at weight(s) ``w`` (noise-free)."""
        return np.asarray(np.interp(np.asarray(w, dtype=float), self.grid, self.lut_up), float)

    def step_down(self, w: ArrayLike) -> NDArray[np.float64]:
        """Magnitude of one down pulse's step at weight(s) ``w`` (noise-free)."""
        return np.asarray(np.interp(np.asarray(w, dtype=float), self.grid, self.lut_down),
                          float)

    def pulse(self, w: ArrayLike, direction: ArrayLike) -> NDArray[np.float64]:
        """Weight after one noise-free pulse per element (``direction`` ±1), clipped to bounds."""
        w = np.asarray(w, dtype=float)
        d = np.asarray(direction)
        new = np.where(d > 0, w + self.step_up(w), w - self.step_down(w))
        return np.clip(new, self.w_min, self.w_max)

    @property
    def dw_min(self) -> float:
        """Step at ``w = 0`` (or the grid centre) in the smaller direction: the granularity."""
        centre = 0.0 if self.w_min < 0 < self.w_max else 0.5 * (self.w_min + self.w_max)
        return float(min(self.step_up(centre), self.step_down(centre)))

    def with_options(self, **changes: Any) -> LutDevice:
        """A copy with some fields changed, e.g. ``dev.with_options(c2c_noise=0.1)``."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        pw = f", pulse_width_s={self.pulse_width_s:g}" if self.pulse_width_s else ""
        extra = ""
        if self.variation != Variation():
            extra += f", variation={self.variation}"
        if self.c2c_noise:
            extra += f", c2c_noise={self.c2c_noise}"
        return (f"LutDevice(name={self.name!r}{pw}, n_points={self.n_points}, "
                f"bounds=[{self.w_min:g}, {self.w_max:g}], dw_min={self.dw_min:.4g}{extra})")
