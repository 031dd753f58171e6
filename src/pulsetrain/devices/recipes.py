"""Device-model recipes: the ways a measured run becomes a :class:`LutDevice`.

A recipe is a small object with a ``name``, a validated parameters object
(``recipe.params``) and one verb, :meth:`Recipe.fit`, which turns a
:class:`~pulsetrain.measurements.MeasuredRun` into a
:class:`~pulsetrain.devices.DeviceFit` (device, cleaned data, metrics, quality
flags).  Recipes are looked up by name in :data:`RECIPES`::

    recipe = get_recipe("thesis")               # or get_recipe("thesis", repetition=0)
    fit = recipe.fit(run)
    fit.device.provenance["recipe"]             # the recipe's own numbers

``measured``
    pulsetrain's default, :func:`~pulsetrain.devices.fit.fit_device`: smoothing
    splines of the measured steps, bounds at the measured extremes.
``thesis``
    the recipe of the thesis behind arXiv 2509.18121 (AIHWKit
    ``PiecewiseStepDevice``), reproduced exactly; see :class:`ThesisRecipe` and
    docs/recipes.md.

The maths of the thesis recipe are plain functions (:func:`strict_window`,
:func:`mean_centred_weights`, :func:`branch_nodes`, :func:`simulate_trace`,
:func:`fit_trace`, :func:`thesis_parameters`); the classes only pick the data
and assemble the device.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.optimize import minimize

from pulsetrain.devices.extract import Branch, CleanRun, WindowMode
from pulsetrain.devices.fit import DeviceFit, default_name, fit_device, with_metrics
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.devices.metrics import compute_metrics
from pulsetrain.devices.quality import assess
from pulsetrain.devices.window import Window
from pulsetrain.errors import FitError, InputError, UnknownDeviceError, describe_validation_error
from pulsetrain.measurements.scan import MeasuredRun
from pulsetrain.measurements.sweep import DOWN, UP, PulseSweep, rising_mask

Floats = NDArray[np.float64]

TRACE_START = (0.0, -1.0, 1.0)
"""Start of the thesis trace fit: ``(up_down, w_min, w_max)``."""
TRACE_BOUNDS = ((-0.99, 0.99), (-2.0, -0.1), (0.1, 2.0))
"""Bounds of the thesis trace fit on ``(up_down, w_min, w_max)``."""
TRACE_ORDER = ("up_down", "w_max", "w_min")
"""The order in which the thesis gave the fitted parameters to ``fit_measurements``;
Powell's search directions follow it, so it decides where the fit stops."""


class UnknownRecipeError(InputError):
    """A device-model recipe name that is not in :data:`RECIPES`."""


# ---------------------------------------------------------------------------
# The thesis recipe as plain functions
# ---------------------------------------------------------------------------

def strict_window(amplitude_v: ArrayLike, window: tuple[float, float, float, float]
                  ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Pulses strictly inside the thesis's cutoff window.

    ``window = (v_start_pos, v_end_pos, v_start_neg, v_end_neg)``; a positive
    pulse is kept when ``v_start_pos < V < v_end_pos``, a negative one when
    ``v_end_neg < V < v_start_neg``.  A pulse exactly at an edge is dropped
    (pulsetrain's own windows, :class:`~pulsetrain.measurements.Cutoff`, keep it).

    Returns
    -------
    (positive, negative)
        Boolean masks over the pulses: the depression (down) and the
        potentiation (up) branch.
    """
    v = np.asarray(amplitude_v, dtype=float)
    start_pos, end_pos, start_neg, end_neg = window
    positive = (v > 0) & (v > start_pos) & (v < end_pos)
    negative = (v < 0) & (v < start_neg) & (v > end_neg)
    return positive, negative


def mean_centred_weights(conductance_s: ArrayLike) -> tuple[Floats, float, float]:
    """``w = 2 (G − mean G) / (Gmax − Gmin)``: centred on the *mean* conductance.

    Returns ``(w, g_mean_s, g_span_s)``; the map back is ``G = g_mean + w·g_span/2``.
    The weights span exactly 2 but are not ``[-1, 1]`` unless the mean is the
    mid-range.

    Raises
    ------
    ValueError
        If the conductance is constant.
    """
    g = np.asarray(conductance_s, dtype=float)
    span = float(g.max() - g.min())
    if not span > 0:
        raise ValueError("conductance is constant; cannot normalise it to weights")
    mean = float(g.mean())
    return 2.0 * (g - mean) / span, mean, span


def branch_nodes(w: ArrayLike, degree: int = 5, n_nodes: int = 32) -> tuple[Floats, float]:
    """Step-size nodes of one branch, the thesis's way.

    The step of pulse ``i`` is the central difference ``np.gradient(w)[i]``
    along the branch (signed: negative on the depression branch); a
    least-squares polynomial ``P`` of ``degree`` is fitted to step vs ``w``,
    and the nodes are ``|P(linspace(-1, 1, n_nodes))|``.

    Fitting the *signed* steps and taking the magnitude afterwards is what the
    published numbers need: on a branch that moves back once (a read glitch),
    fitting ``|gradient|`` instead moves the nodes by up to 0.34 (20 ns run b).

    Returns
    -------
    (nodes, p0)
        The ``n_nodes`` magnitudes and ``|P(0)|``.
    """
    w = np.asarray(w, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's RankWarning on short branches
        coef = np.polyfit(w, np.gradient(w), degree)
    nodes = np.abs(np.polyval(coef, np.linspace(-1.0, 1.0, n_nodes)))
    return np.asarray(nodes, dtype=float), float(abs(np.polyval(coef, 0.0)))


def simulate_trace(start: float, labels: ArrayLike, dw_min: float, up_down: float,
                   w_min: float, w_max: float, piecewise_up: ArrayLike,
                   piecewise_down: ArrayLike) -> Floats:
    """Noise-free AIHWKit ``PiecewiseStep`` response to a pulse sequence, in float32.

    State 0 is ``start``; state ``i + 1`` is state ``i`` after one pulse in the
    direction ``labels[i]`` (``+1`` up, ``-1`` down): each point's own label
    drives the transition to the next point, so the last label is unused and,
    where the sequence switches branch, the first point of the new branch is
    reached by a pulse of the old direction (as in the thesis).  Steps::

        up:   dw_min·(1 + min(up_down, 0))·interp(w, grid, piecewise_up)
        down: dw_min·(1 − max(up_down, 0))·interp(w, grid, piecewise_down)

    with ``grid = linspace(w_min, w_max, n)`` (linear interpolation, clamped at
    the end nodes) and the weight clipped to ``[w_min, w_max]`` after each pulse.
    As on an AIHWKit tile (what the thesis's ``fit_measurements`` simulated, see
    docs/recipes.md): every quantity is float32, the device starts from ``start``
    clipped to the bounds (setting a tile's weights clips them) while the
    returned state 0 is ``start`` itself, and the interpolation is done as the
    tile does it (section index and fraction of the scaled weight).  With the
    same inputs the trace equals the tile's bit for bit (validation/).

    Returns
    -------
    numpy.ndarray
        ``len(labels)`` states (float64 holding float32 values).
    """
    f32 = np.float32
    lab = np.asarray(labels)
    up = np.asarray(piecewise_up, dtype=f32)
    down = np.asarray(piecewise_down, dtype=f32)
    lo, hi = f32(w_min), f32(w_max)
    sections = up.size - 1
    n_sections = f32(sections)
    scale_up = f32(f32(1.0) + f32(min(up_down, 0.0))) * f32(dw_min)
    scale_down = f32(f32(1.0) + f32(-max(up_down, 0.0))) * f32(dw_min)
    out = np.empty(lab.size, dtype=f32)
    w = f32(start)
    if lab.size:
        out[0] = w
    w = min(max(w, lo), hi)
    for i in range(lab.size - 1):  # a recurrence: each state depends on the last
        scaled = max(f32((w - lo) / (hi - lo) * n_sections), f32(0.0))
        k = min(int(np.floor(scaled)), sections - 1)
        t = min(f32(scaled - f32(k)), f32(1.0))
        t1 = f32(1.0) - t
        if lab[i] > 0:
            w = f32(w + f32(scale_up * f32(t1 * up[k] + t * up[k + 1])))
        else:
            w = f32(w - f32(scale_down * f32(t1 * down[k] + t * down[k + 1])))
        w = min(max(w, lo), hi)
        out[i + 1] = w
    return out.astype(float)


@dataclass(frozen=True)
class TraceFit:
    """Result of :func:`fit_trace`."""

    up_down: float
    w_min: float
    w_max: float
    residual: float
    """Sum of squared differences simulated − measured weight over the trace."""
    n_evaluations: int


def _to_internal(value: float, lo: float, hi: float) -> float:
    """Bounded value → unbounded ``u`` with ``value = lo + (sin u + 1)(hi − lo)/2``."""
    return float(np.arcsin(2.0 * (value - lo) / (hi - lo) - 1.0))


def _to_external(u: float, lo: float, hi: float) -> float:
    """Inverse of :func:`_to_internal`: any real ``u`` maps into ``[lo, hi]``."""
    return float(lo + (np.sin(u) + 1.0) * (hi - lo) / 2.0)


def fit_trace(w: ArrayLike, labels: ArrayLike, dw_min: float, piecewise_up: ArrayLike,
              piecewise_down: ArrayLike) -> TraceFit:
    """Fit ``(up_down, w_min, w_max)`` to a measured weight trace, the thesis's way.

    What AIHWKit's ``fit_measurements`` does with its defaults (lmfit, method
    ``powell``): minimise ``Σ (simulate_trace(w[0], labels, ...) − w)²`` with
    scipy's Powell method, unbounded, over the parameters in the order
    :data:`TRACE_ORDER`, each bounded parameter replaced by a sine-transformed
    coordinate that maps every real number into its :data:`TRACE_BOUNDS` range
    (the Minuit convention lmfit uses), from :data:`TRACE_START`, with a cap of
    ``4000 (n + 1)`` iterations (n = 3 parameters); ``dw_min`` and the node
    vectors fixed.  On the runs of ../shared/data this returns AIHWKit 1.1.0's
    scalars exactly (validation/, docs/recipes.md).
    """
    target = np.asarray(w, dtype=float)
    lab = np.asarray(labels)
    up = np.asarray(piecewise_up, dtype=float)
    down = np.asarray(piecewise_down, dtype=float)
    names = ("up_down", "w_min", "w_max")
    start = dict(zip(names, TRACE_START, strict=True))
    bounds = dict(zip(names, TRACE_BOUNDS, strict=True))

    def external(u: Floats) -> dict[str, float]:
        return {k: _to_external(float(u[i]), *bounds[k]) for i, k in enumerate(TRACE_ORDER)}

    def sse(u: Floats) -> float:
        x = external(u)
        sim = simulate_trace(target[0], lab, dw_min, x["up_down"], x["w_min"], x["w_max"],
                             up, down)
        return float(np.sum((sim - target) ** 2))

    u0 = np.array([_to_internal(start[k], *bounds[k]) for k in TRACE_ORDER])
    res = minimize(sse, u0, method="Powell",
                   options={"maxiter": 2 * 2000 * (len(TRACE_ORDER) + 1)})
    x = external(res.x)
    return TraceFit(x["up_down"], x["w_min"], x["w_max"], float(res.fun), int(res.nfev))


@dataclass(frozen=True)
class ThesisParameters:
    """Everything the thesis recipe computes from one repetition.

    ``dw_min``, ``up_down``, ``w_min``, ``w_max``, ``piecewise_up`` and
    ``piecewise_down`` are the AIHWKit ``PiecewiseStepDevice`` arguments.
    """

    dw_min: float
    up_down: float
    w_min: float
    w_max: float
    piecewise_up: Floats
    piecewise_down: Floats
    residual: float
    """Sum of squared weight residuals of the trace fit."""
    positive: NDArray[np.bool_]
    """Pulses kept on the positive (depression, down) ramp."""
    negative: NDArray[np.bool_]
    """Pulses kept on the negative (potentiation, up) ramp."""
    w: Floats
    """Measured weights of the kept pulses: positive branch first, then negative."""
    labels: NDArray[np.int8]
    """Direction of each point of ``w`` (``-1`` down, ``+1`` up)."""
    g_mean_s: float
    g_span_s: float
    """The weight map: ``G = g_mean_s + w·g_span_s/2``."""
    n_evaluations: int

    @property
    def n_points(self) -> int:
        """Points of the trace fit (kept pulses)."""
        return int(self.w.size)

    @property
    def lut_up(self) -> Floats:
        """Up step magnitudes at the nodes: ``dw_min·(1 + min(up_down, 0))·piecewise_up``."""
        return np.asarray(self.dw_min * (1.0 + min(self.up_down, 0.0)) * self.piecewise_up)

    @property
    def lut_down(self) -> Floats:
        """Down step magnitudes: ``dw_min·(1 − max(up_down, 0))·piecewise_down``."""
        return np.asarray(self.dw_min * (1.0 - max(self.up_down, 0.0)) * self.piecewise_down)

    def piecewise_step(self) -> dict[str, Any]:
        """The AIHWKit ``PiecewiseStepDevice`` parameters (JSON-ready)."""
        return {
            "dw_min": self.dw_min,
            "up_down": self.up_down,
            "w_min": self.w_min,
            "w_max": self.w_max,
            "piecewise_up": [float(v) for v in self.piecewise_up],
            "piecewise_down": [float(v) for v in self.piecewise_down],
        }


def thesis_parameters(amplitude_v: ArrayLike, conductance_s: ArrayLike,
                      window: tuple[float, float, float, float], degree: int = 5,
                      n_nodes: int = 32) -> ThesisParameters:
    """The thesis recipe on one repetition (amplitudes in volts, conductances in siemens).

    1. keep the pulses strictly inside ``window`` (:func:`strict_window`) and on the
       rising half of their polarity's ramp (:func:`~pulsetrain.measurements.sweep.rising_mask`);
       V > 0 is a down pulse, V < 0 an up pulse; the positive branch comes first;
    2. ``w`` = mean-centred weights of the kept conductances (:func:`mean_centred_weights`);
    3. per branch, nodes by :func:`branch_nodes`; then ``up[-1] = down[0] = 0``;
       ``dw_min = min(|P_up(0)|, |P_down(0)|)``; ``piecewise_* = nodes / dw_min``;
    4. ``(up_down, w_min, w_max)`` by :func:`fit_trace` on the kept pulses in
       that order, with their own directions as labels.

    Raises
    ------
    ValueError
        If a branch has fewer than ``degree + 1`` pulses, the conductance is
        constant, or ``dw_min`` comes out 0.
    """
    v = np.asarray(amplitude_v, dtype=float)
    g = np.asarray(conductance_s, dtype=float)
    positive, negative = strict_window(v, window)
    rising = rising_mask(v)  # a ramp's falling half is no branch pulse (docs/data-formats.md)
    positive, negative = positive & rising, negative & rising
    n_down, n_up = int(positive.sum()), int(negative.sum())
    if min(n_down, n_up) < degree + 1:
        raise ValueError(f"{n_down} positive and {n_up} negative pulses inside the window "
                         f"{window}; a degree-{degree} polynomial needs at least "
                         f"{degree + 1} per branch")
    w, g_mean, g_span = mean_centred_weights(np.concatenate([g[positive], g[negative]]))
    w_down, w_up = w[:n_down], w[n_down:]
    nodes_up, up0 = branch_nodes(w_up, degree, n_nodes)
    nodes_down, down0 = branch_nodes(w_down, degree, n_nodes)
    nodes_up[-1] = 0.0
    nodes_down[0] = 0.0
    dw_min = min(up0, down0)
    if not dw_min > 0:
        raise ValueError("the fitted step at w = 0 is 0; cannot normalise the nodes")
    piecewise_up, piecewise_down = nodes_up / dw_min, nodes_down / dw_min
    labels = np.concatenate([np.full(n_down, DOWN), np.full(n_up, UP)]).astype(np.int8)
    trace = fit_trace(w, labels, dw_min, piecewise_up, piecewise_down)
    return ThesisParameters(
        dw_min=dw_min, up_down=trace.up_down, w_min=trace.w_min, w_max=trace.w_max,
        piecewise_up=piecewise_up, piecewise_down=piecewise_down, residual=trace.residual,
        positive=positive, negative=negative, w=w, labels=labels, g_mean_s=g_mean,
        g_span_s=g_span, n_evaluations=trace.n_evaluations)


# ---------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------

P = TypeVar("P", bound=BaseModel)


class Recipe(ABC, Generic[P]):
    """A way to turn a measured run into a device model.

    Subclasses set ``name`` and ``summary``, declare their parameters as a
    pydantic model (:meth:`params_type`) and implement :meth:`fit`.  Options
    are given as keywords (``ThesisRecipe(repetition=0)``) or as a parameters
    object; unknown or invalid options raise :class:`~pulsetrain.errors.InputError`.
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, params: P | None = None, **options: Any) -> None:
        kind = self.params_type()
        if params is not None and options:
            raise InputError(f"recipe {self.name!r}: give a parameters object or keyword "
                             "options, not both")
        if params is None:
            try:
                params = kind(**options)
            except ValidationError as exc:
                raise InputError(f"recipe {self.name!r}: "
                                 f"{describe_validation_error(exc, 'option')}") from None
        self.params: P = params

    @classmethod
    @abstractmethod
    def params_type(cls) -> type[P]:
        """The pydantic model of this recipe's parameters."""

    @abstractmethod
    def fit(self, run: MeasuredRun, name: str | None = None) -> DeviceFit:
        """Fit a device model to ``run`` (``name``: the model's name; a default per recipe).

        Raises
        ------
        FitError
            One line naming the run when no model can be made from it.
        """

    def options(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict (what provenance records)."""
        return self.params.model_dump(mode="json")

    def __repr__(self) -> str:
        changed = self.params.model_dump(exclude_defaults=True)
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"


class MeasuredParams(BaseModel):
    """Parameters of the ``measured`` recipe (those of :func:`fit_device`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_points: int = Field(32, ge=4)
    repetition: int | None = None
    smoothing: float | None = Field(None, ge=0)
    min_pulses: int = Field(10, ge=2)
    window: WindowMode = "prefer-cutoffs"


class MeasuredRecipe(Recipe[MeasuredParams]):
    """pulsetrain's default: :func:`~pulsetrain.devices.fit.fit_device` (docs/device-model.md).

    The device is exactly ``fit_device``'s, with ``provenance["recipe"]`` added.
    """

    name = "measured"
    summary = ("smoothing splines of the measured steps per direction; bounds at the "
               "measured extremes (pulsetrain's default)")

    @classmethod
    def params_type(cls) -> type[MeasuredParams]:
        return MeasuredParams

    def fit(self, run: MeasuredRun, name: str | None = None) -> DeviceFit:
        p = self.params
        fit = fit_device(run, n_points=p.n_points, repetition=p.repetition,
                         smoothing=p.smoothing, min_pulses=p.min_pulses, name=name,
                         window=p.window)
        provenance = {**fit.device.provenance,
                      "recipe": {"name": self.name, "options": self.options()}}
        device = replace(fit.device, provenance=provenance,
                         metrics={**fit.device.metrics, "recipe": self.name})
        return replace(fit, device=device)


class ThesisParams(BaseModel):
    """Parameters of the ``thesis`` recipe.

    Attributes
    ----------
    repetition
        Repetition of the run to use; ``None`` = the last one that holds pulses of
        both polarities (an aborted last repetition is passed over), as the thesis
        did ((1) of two on ID161ZR15000, (2) or (3) on devices with more).
    window
        ``(VStartPos, VEndPos, VStartNeg, VEndNeg)`` in volts; ``None`` = the
        cutoffs row matched to that repetition, else the run's only cutoffs row.
    degree
        Degree of the step-vs-state polynomial per branch.
    n_nodes
        Nodes of the piecewise vectors (lookup-table points).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    repetition: int | None = Field(None, ge=0)
    window: tuple[float, float, float, float] | None = None
    degree: int = Field(5, ge=1, le=12)
    n_nodes: int = Field(32, ge=4)

    @model_validator(mode="after")
    def _window_order(self) -> ThesisParams:
        if self.window is not None:
            a, b, c, d = self.window
            if not (0 <= a < b and d < c <= 0):
                raise ValueError("window must be (VStartPos, VEndPos, VStartNeg, VEndNeg) with "
                                 f"0 <= VStartPos < VEndPos and VEndNeg < VStartNeg <= 0, got "
                                 f"{self.window}")
        return self


class ThesisRecipe(Recipe[ThesisParams]):
    """The thesis's AIHWKit ``PiecewiseStepDevice`` recipe, reproduced exactly.

    On one repetition (default the last): keep the pulses strictly inside the cutoff
    window, normalise ``G`` to weights centred on the mean conductance, fit a
    degree-5 polynomial of the central-difference step vs ``w`` per branch and
    sample its magnitude on 32 nodes over ``[-1, 1]`` (zero at the far end of
    each direction), divide by ``dw_min`` (the smaller fitted step at ``w = 0``),
    then fit AIHWKit's ``up_down``, ``w_min`` and ``w_max`` to the measured trace
    by simulating it pulse by pulse (:func:`thesis_parameters`).

    The device's tables are AIHWKit's steps placed on ``linspace(w_min, w_max,
    n_nodes)``.  ``device.provenance["recipe"]`` holds the raw parameters (so
    :func:`pulsetrain.interop.to_piecewise_step` exports them unchanged), the
    trace residual and the number of points; the usual metrics are computed on
    the kept pulses with the recipe's weight map.
    """

    name = "thesis"
    summary = ("the thesis's AIHWKit PiecewiseStep fit: strict cutoff window, mean-centred "
               "weights, degree-5 step polynomials, trace fit of up_down/w_min/w_max")

    @classmethod
    def params_type(cls) -> type[ThesisParams]:
        return ThesisParams

    def _sweep(self, run: MeasuredRun) -> PulseSweep:
        if self.params.repetition is None:  # the last one that holds both polarities
            complete = [r for r in run.repetitions
                        if (r.direction == UP).any() and (r.direction == DOWN).any()]
            return (complete or run.repetitions)[-1]
        try:
            return run.repetition(self.params.repetition)
        except UnknownDeviceError as exc:
            raise FitError(f"{run.last.label}: {exc} (the thesis recipe uses the last "
                           "repetition by default)") from None

    def _window(self, run: MeasuredRun, sweep: PulseSweep) -> tuple[float, float, float, float]:
        if self.params.window is not None:
            return self.params.window
        cut = run.cutoffs.get(sweep.repetition)
        if cut is None and len(run.cutoffs) == 1:
            (cut,) = run.cutoffs.values()  # one row for the run: it is the run's window
        if cut is None:
            raise FitError(f"{sweep.label}: no cutoffs row for repetition {sweep.repetition}; "
                           "the thesis recipe needs one (add it to cutoffs.csv, or pass "
                           "window=(VStartPos, VEndPos, VStartNeg, VEndNeg))")
        return (cut.v_start_pos, cut.v_end_pos, cut.v_start_neg, cut.v_end_neg)

    def fit(self, run: MeasuredRun, name: str | None = None) -> DeviceFit:
        p = self.params
        sweep = self._sweep(run)
        window = self._window(run, sweep)
        try:
            tp = thesis_parameters(sweep.amplitude_v, sweep.conductance_s, window,
                                   p.degree, p.n_nodes)
        except ValueError as exc:
            raise FitError(f"{sweep.label} repetition {sweep.repetition}: thesis recipe: "
                           f"{exc}") from None
        line = (tp.g_mean_s, tp.g_span_s)
        g_kept = line[0] + tp.w * line[1] / 2
        measured_map = WeightMapping(float(g_kept.min()), float(g_kept.max()),
                                     float(tp.w.min()), float(tp.w.max()))
        device_map = _bound_mapping(tp)
        down_idx, up_idx = np.flatnonzero(tp.positive), np.flatnonzero(tp.negative)
        n_down = down_idx.size
        clean = CleanRun(
            sweep=sweep, keep=tp.positive | tp.negative, mapping=measured_map,
            up=Branch(UP, up_idx, sweep.amplitude_v[up_idx], tp.w[n_down:]),
            down=Branch(DOWN, down_idx, sweep.amplitude_v[down_idx], tp.w[:n_down]),
            window=Window(tp.positive | tp.negative, "cutoffs", window))
        device = LutDevice(
            name=name or f"{default_name(run)}-{self.name}",
            lut_up=tp.lut_up, lut_down=tp.lut_down, w_min=tp.w_min, w_max=tp.w_max,
            mapping=device_map, pulse_width_s=run.pulse_width_s,
            amplitude_up_v=float(np.mean(clean.up.amplitude_v)),
            amplitude_down_v=float(np.mean(clean.down.amplitude_v)),
            device_id=run.device_id, run=run.run)
        metrics = compute_metrics(clean, device)
        flags = assess(clean, device, metrics)
        fit_name = f"polynomial-{p.degree} (thesis)"
        metrics = replace(metrics, fit_up=fit_name, fit_down=fit_name,
                          quality="; ".join(flags) if flags else "ok")
        record = {
            "name": self.name,
            "options": self.options(),
            **tp.piecewise_step(),
            "residual": tp.residual,
            "n_points": tp.n_points,
            "n_up": int(up_idx.size),
            "n_down": int(n_down),
            "repetition": sweep.repetition,
            "window_v": list(window),
            "g_mean_s": tp.g_mean_s,
            "g_span_s": tp.g_span_s,
        }
        provenance: dict[str, Any] = {"recipe": record}
        if sweep.source is not None:
            provenance["measurement_file"] = sweep.source.name
        device = with_metrics(device, metrics, {"recipe": self.name,
                                                "recipe_residual": tp.residual,
                                                "recipe_n_points": tp.n_points}, provenance)
        return DeviceFit(device, clean, metrics, tuple(flags))


def _bound_mapping(tp: ThesisParameters) -> WeightMapping | None:
    """The recipe's line ``G = g_mean + w·g_span/2`` written at the device bounds.

    Device files rebuild the mapping from ``g_min_s``/``g_max_s`` and the device's
    bounds, so giving the conductances *at the bounds* keeps the same line through
    save/load.  ``None`` when the line reaches ``G <= 0`` at ``w_min`` (the fitted
    lower bound lies below zero conductance): not representable.
    """
    g_lo = tp.g_mean_s + tp.w_min * tp.g_span_s / 2
    g_hi = tp.g_mean_s + tp.w_max * tp.g_span_s / 2
    if not 0 < g_lo < g_hi:
        return None
    return WeightMapping(g_lo, g_hi, tp.w_min, tp.w_max)


RECIPES: dict[str, type[Recipe[Any]]] = {
    MeasuredRecipe.name: MeasuredRecipe,
    ThesisRecipe.name: ThesisRecipe,
}
"""Device-model recipes by name."""

DEFAULT_RECIPE = MeasuredRecipe.name
"""The recipe used when none is named."""


def get_recipe(name: str, **options: Any) -> Recipe[Any]:
    """The recipe called ``name`` (case-insensitive), built with ``options``.

    Raises
    ------
    UnknownRecipeError
        Listing the recipe names, for a name not in :data:`RECIPES`.
    InputError
        For an option the recipe does not have, or an invalid value.
    """
    key = name.strip().lower()
    if key not in RECIPES:
        raise UnknownRecipeError(f"unknown device-model recipe {name!r}; choose one of: "
                                 f"{', '.join(RECIPES)}")
    return RECIPES[key](**options)


def recipe_piecewise_step(device: LutDevice) -> dict[str, Any] | None:
    """The thesis recipe's own ``PiecewiseStepDevice`` parameters, when ``device`` carries them.

    Returns ``dw_min``, ``up_down``, ``w_min``, ``w_max``, ``piecewise_up`` and
    ``piecewise_down`` as recorded in ``device.provenance["recipe"]``, but only
    when they still describe the device (same bounds; tables equal to AIHWKit's
    steps within 1e-9 relative); ``None`` otherwise (no recipe record, another
    recipe, or a device edited since it was fitted).
    """
    rec = device.provenance.get("recipe")
    if not isinstance(rec, dict) or rec.get("name") != ThesisRecipe.name:
        return None
    try:
        dw = float(rec["dw_min"])
        ud = float(rec["up_down"])
        lo, hi = float(rec["w_min"]), float(rec["w_max"])
        up = np.asarray(rec["piecewise_up"], dtype=float)
        down = np.asarray(rec["piecewise_down"], dtype=float)
    except (KeyError, TypeError, ValueError):
        return None
    if up.shape != device.lut_up.shape or down.shape != device.lut_down.shape:
        return None
    if not (math.isclose(lo, device.w_min, rel_tol=1e-12, abs_tol=1e-15)
            and math.isclose(hi, device.w_max, rel_tol=1e-12, abs_tol=1e-15)):
        return None
    same_up = np.allclose(dw * (1 + min(ud, 0.0)) * up, device.lut_up, rtol=1e-9, atol=1e-15)
    same_down = np.allclose(dw * (1 - max(ud, 0.0)) * down, device.lut_down, rtol=1e-9,
                            atol=1e-15)
    if not (same_up and same_down):
        return None
    return {"dw_min": dw, "up_down": ud, "w_min": lo, "w_max": hi,
            "piecewise_up": [float(v) for v in up],
            "piecewise_down": [float(v) for v in down]}
