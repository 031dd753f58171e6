"""Energy-per-pulse models: ``energy_per_pulse_j(pulse_width_s, amplitude_v) → joules``.

=======================  ===================================================================
model                    assumptions
=======================  ===================================================================
``SchottkyUpperBound``   Schottky emission current density through the whole device area for
                         the whole pulse (DOMAIN.md §5, the thesis's model); ignores that the
                         film is mostly insulating: an upper bound, overestimates strongly
``IVModel``              the DC I–V curve measured on the device holds during the pulse
                         (quasi-static), E = |V·I(V)|·t; beyond the measured bias the current
                         is extrapolated by a Schottky-like ln|I| ∝ √|V| fit, with a warning
``CapacitiveSwitching``  charging the capacitor plus switching a fraction of the remanent
                         polarisation: E = C V² + 2 Pr A |V| f; independent of pulse width
``EnergyTable``          user-measured energies per (pulse width, signed amplitude); linear
                         in log(pulse width) and amplitude between entries, no extrapolation
=======================  ===================================================================
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pulsetrain.devices.lut import LutDevice
from pulsetrain.errors import InputError
from pulsetrain.measurements.sweep import IVSweep

Q_E = 1.602176634e-19  # C
EPS0 = 8.8541878128e-12  # F/m
K_B_EV = 8.617333262e-5  # eV/K


class ExtrapolationWarning(UserWarning):
    """An energy model was evaluated outside the range its data covers."""


class EnergyModel(Protocol):
    """Anything that gives the energy of one pulse."""

    @property
    def name(self) -> str:
        """Short model name."""
        ...

    def energy_per_pulse_j(self, pulse_width_s: float, amplitude_v: float) -> float:
        """Energy of one pulse, joules."""
        ...


def _check(pulse_width_s: float, amplitude_v: float) -> None:
    if not (math.isfinite(pulse_width_s) and pulse_width_s > 0):
        raise ValueError(f"pulse_width_s must be > 0, got {pulse_width_s}")
    if not math.isfinite(amplitude_v):
        raise ValueError(f"amplitude_v must be finite, got {amplitude_v}")


@dataclass(frozen=True)
class SchottkyUpperBound:
    """``J = α T^1.5 (V/d) μ exp(−(φB − √(q(V/d)/(4π ε0 εr)))/kT)``, ``E = |V|·J·A·t``.

    Constants as in the thesis (DOMAIN.md §5); ``area_m2`` and ``thickness_m`` from the
    device.  An upper bound: it assumes emission through the full area all pulse long.
    """

    area_m2: float
    thickness_m: float = 5e-9
    alpha: float = 3e-4
    mu: float = 8.9e-3
    phi_b_ev: float = 0.19
    eps_r: float = 18.2
    temperature_k: float = 300.0
    name: str = "schottky-upper-bound"

    def current_density_a_m2(self, amplitude_v: float) -> float:
        """Current density at bias ``amplitude_v`` (A/m²)."""
        field = abs(amplitude_v) / self.thickness_m
        lowering = math.sqrt(Q_E * field / (4 * math.pi * EPS0 * self.eps_r))  # volts
        kt = K_B_EV * self.temperature_k
        return float(self.alpha * self.temperature_k**1.5 * field * self.mu
                     * math.exp(-(self.phi_b_ev - lowering) / kt))

    def energy_per_pulse_j(self, pulse_width_s: float, amplitude_v: float) -> float:
        _check(pulse_width_s, amplitude_v)
        return (abs(amplitude_v) * self.current_density_a_m2(amplitude_v) * self.area_m2
                * pulse_width_s)


@dataclass(frozen=True)
class IVModel:
    """Energy from the measured DC I–V curve: ``E = |V·I(V)|·t_pw``.

    Inside the measured bias range ``ln|I|`` is interpolated linearly; outside, per
    polarity, a line ``ln|I| = a + b√|V|`` fitted to the outer half of that polarity's
    points (at least 2) is used and an :class:`ExtrapolationWarning` is issued.
    """

    bias_v: tuple[float, ...]
    abs_current_a: tuple[float, ...]
    fit_pos: tuple[float, float]
    fit_neg: tuple[float, float]
    name: str = "iv"

    @classmethod
    def fit(cls, sweep: IVSweep) -> IVModel:
        """Fit to a DC I–V sweep (needs ≥ 2 points of each polarity, non-zero currents)."""
        v = np.asarray(sweep.bias_v, float)
        i = np.abs(np.asarray(sweep.current_a, float))
        ok = (i > 0) & (v != 0)
        v, i = v[ok], i[ok]
        order = np.argsort(v)
        v, i = v[order], i[order]
        fits = []
        for sign in (1, -1):
            sel = np.sign(v) == sign
            if sel.sum() < 2:
                raise InputError(f"{sweep.source}: I–V sweep needs at least 2 points of "
                                 f"{'positive' if sign > 0 else 'negative'} bias")
            vs, is_ = np.abs(v[sel]), i[sel]
            outer = np.argsort(vs)[-max(2, vs.size // 2):]  # the outer half, >= 2 points
            b, a = np.polyfit(np.sqrt(vs[outer]), np.log(is_[outer]), 1)
            fits.append((float(a), float(b)))
        return cls(tuple(map(float, v)), tuple(map(float, i)), fits[0], fits[1])

    def current_at(self, amplitude_v: float) -> float:
        """|I| at bias ``amplitude_v`` (A)."""
        v = np.asarray(self.bias_v)
        if v[0] <= amplitude_v <= v[-1]:
            return float(np.exp(np.interp(amplitude_v, v, np.log(self.abs_current_a))))
        warnings.warn(f"I–V model: {amplitude_v:g} V is outside the measured bias "
                      f"[{v[0]:g}, {v[-1]:g}] V; current extrapolated (Schottky-like fit)",
                      ExtrapolationWarning, stacklevel=3)
        a, b = self.fit_pos if amplitude_v > 0 else self.fit_neg
        return float(math.exp(a + b * math.sqrt(abs(amplitude_v))))

    def energy_per_pulse_j(self, pulse_width_s: float, amplitude_v: float) -> float:
        _check(pulse_width_s, amplitude_v)
        return abs(amplitude_v) * self.current_at(amplitude_v) * pulse_width_s


@dataclass(frozen=True)
class CapacitiveSwitching:
    """``E = C V² + 2 Pr A |V| f`` with ``C = ε0 εr A / d`` (ferroelectric capacitor).

    ``remanent_polarization_c_m2`` Pr, ``switched_fraction`` f of the domains switched
    per pulse.  Pulse-width independent.
    """

    area_m2: float
    thickness_m: float = 5e-9
    eps_r: float = 18.2
    remanent_polarization_c_m2: float = 0.2
    switched_fraction: float = 0.01
    name: str = "capacitive"

    def energy_per_pulse_j(self, pulse_width_s: float, amplitude_v: float) -> float:
        _check(pulse_width_s, amplitude_v)
        c = EPS0 * self.eps_r * self.area_m2 / self.thickness_m
        return (c * amplitude_v**2 + 2 * self.remanent_polarization_c_m2 * self.area_m2
                * abs(amplitude_v) * self.switched_fraction)


@dataclass(frozen=True)
class EnergyTable:
    """User-given energy per pulse at (pulse width, signed amplitude) points.

    Between amplitudes of one pulse width the energy is interpolated linearly; between
    pulse widths linearly in log(pulse width).  Amplitudes are signed (negative pulses
    potentiate the HZO devices), so give entries for the polarities you use.
    """

    pulse_width_s: tuple[float, ...]
    amplitude_v: tuple[float, ...]
    energy_j: tuple[float, ...]
    name: str = "table"

    def energy_per_pulse_j(self, pulse_width_s: float, amplitude_v: float) -> float:
        _check(pulse_width_s, amplitude_v)
        pw = np.asarray(self.pulse_width_s, dtype=float)
        amp = np.asarray(self.amplitude_v, dtype=float)
        e = np.asarray(self.energy_j, dtype=float)
        rows = np.isclose(pw, pulse_width_s, rtol=1e-6, atol=0.0)
        if rows.any():
            a, ee = amp[rows], e[rows]
            order = np.argsort(a)
            a, ee = a[order], ee[order]
            if a[0] - 1e-9 <= amplitude_v <= a[-1] + 1e-9:
                return float(np.interp(amplitude_v, a, ee))
            raise InputError(f"energy table: no entry covering {amplitude_v:g} V at pulse "
                             f"width {pulse_width_s:g} s (has {a[0]:g} … {a[-1]:g} V; no "
                             "extrapolation)")
        widths = np.unique(pw)
        if widths.min() < pulse_width_s < widths.max():
            lo = float(widths[widths < pulse_width_s].max())
            hi = float(widths[widths > pulse_width_s].min())
            e_lo = self.energy_per_pulse_j(lo, amplitude_v)
            e_hi = self.energy_per_pulse_j(hi, amplitude_v)
            t = (math.log(pulse_width_s) - math.log(lo)) / (math.log(hi) - math.log(lo))
            return e_lo + t * (e_hi - e_lo)
        raise InputError(f"energy table has no entry covering pulse width {pulse_width_s:g} s "
                         f"at {amplitude_v:g} V (no extrapolation)")


def energy_model_for(device: LutDevice, kind: str = "schottky") -> EnergyModel:
    """The energy model of a device from the parameters it carries (area, thickness)."""
    area = device.area_m2
    if area is None:
        raise InputError(f"device {device.name!r} has no area_m2; the {kind} model needs it")
    if kind == "schottky":
        return SchottkyUpperBound(area_m2=area, thickness_m=device.thickness_m or 5e-9)
    if kind == "capacitive":
        return CapacitiveSwitching(area_m2=area, thickness_m=device.thickness_m or 5e-9)
    raise InputError(f"energy model {kind!r} needs more than the device file holds; build it "
                     "from data (IVModel.fit, EnergyTable)")
