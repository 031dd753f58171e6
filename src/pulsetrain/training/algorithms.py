"""Update algorithms for analog layers: small rules over a shared base (torch.optim style).

=============================  ============================================================
class                          update of an analog weight matrix per mini-batch
=============================  ============================================================
``StochasticPulseSGD``         stochastic pulse trains, sample by sample (AIHWKit default)
``MixedPrecisionSGD``          digital χ += −lr·δᵀx; pulse trunc(χ/ε) where |χ| ≥ ε
(``shift_to_symmetry_point``)  sets references to the SP, then use StochasticPulseSGD
``torch.optim.SGD``            the floating-point baseline (nn.Linear layers)
=============================  ============================================================

Digital parameters (biases) get plain SGD with the same learning rate.  The
learning rate lives in ``param_groups[0]["lr"]``, so torch LR schedulers work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, get_args

import torch
from torch import nn

from pulsetrain.crossbar.kernels import check_bl
from pulsetrain.crossbar.noise import GOLDEN, mix32_int
from pulsetrain.crossbar.symmetry import (
    SymmetryProgress,
    SymmetryProgressCallback,
    estimate_symmetry_points,
)
from pulsetrain.crossbar.tile import AnalogTile
from pulsetrain.devices.symmetry import symmetry_point
from pulsetrain.training.layers import AnalogLayer, analog_layers


class AnalogOptimizer(torch.optim.Optimizer):
    """Base: bookkeeping, digital SGD on biases, per-layer pulse counters and seeds.

    Subclasses implement :meth:`update_layer`, which turns a layer's recorded
    ``x`` and ``δ`` into device updates.

    Parameters
    ----------
    model
        Model containing :class:`AnalogLayer` layers (linear or convolutional).
    lr
        Learning rate (> 0).
    seed
        Seeds the pulse-train draws and c2c noise (one stream per step and layer).
    """

    def __init__(self, model: nn.Module, lr: float, seed: int = 0) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.layers = analog_layers(model)
        if not self.layers:
            raise ValueError("model has no analog layers; use torch.optim.SGD for "
                             "floating-point models")
        digital = [p for layer in self.layers for p in layer.digital_parameters()]
        others = [p for m in model.modules() if not isinstance(m, AnalogLayer)
                  for p in m.parameters(recurse=False)]
        super().__init__(digital + others or [nn.Parameter(torch.zeros(0))], {"lr": lr})
        self.seed = int(seed)
        self.steps = 0

    def layer_seed(self, layer_index: int) -> int:
        """Seed of this step's draws for one layer (a hash of seed, step, layer)."""
        return mix32_int(mix32_int(self.seed * GOLDEN + self.steps) + layer_index)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        """Apply one mini-batch update (the ``closure`` argument is not supported)."""
        if closure is not None:
            raise ValueError("closure is not supported by analog optimizers")
        lr = float(self.param_groups[0]["lr"])
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-lr)
        for k, layer in enumerate(self.layers):
            if layer.last_x is None or layer.last_d is None:
                continue
            self.update_layer(k, layer, layer.last_x, layer.last_d, lr)
            layer.last_x = layer.last_d = None
        self.steps += 1

    def update_layer(self, index: int, layer: AnalogLayer, x: torch.Tensor, d: torch.Tensor,
                     lr: float) -> None:
        """Turn one layer's ``x`` (batch × in) and ``δ`` (batch × out) into pulses."""
        raise NotImplementedError

    def layer_tiles(self) -> list[list[AnalogTile]]:
        """Per analog layer, every tile this rule programs (pulse counts and energy are
        summed over them); by default each layer's own tile.  A rule with more arrays
        per layer (e.g. Tiki-Taka's A) lists them here and checkpoints them in
        :meth:`extra_state`."""
        return [[layer.tile] for layer in self.layers]

    def epoch_metrics(self) -> dict[str, Any]:
        """Counters this rule adds to each epoch's metrics (e.g. digital operations)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        """Algorithm state beyond the layers' tiles (for checkpoints)."""
        return {"steps": self.steps}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`extra_state`."""
        self.steps = int(state["steps"])


class StochasticPulseSGD(AnalogOptimizer):
    """Plain analog SGD with stochastic pulse trains.

    Pseudocode, per sample ``b`` of the mini-batch, in order::

        BL_b, A_b, B_b = management(lr, max|x_b|, max|δ_b|, dw_min, BL)
        for t in 1..BL_b:  row j fires w.p. min(1, A_b|x_bj|), column i w.p. min(1, B_b|δ_bi|)
        each coincidence: one device pulse on (i, j) in direction −sign(x_bj δ_bi)

    See :mod:`pulsetrain.crossbar.pulse_trains` for the management rules.  ``dw_min``
    there is ``granularity`` when given, else each layer's device step at w = 0 in the
    smaller direction.  (AIHWKit's PiecewiseStepDevice uses the up step at the middle
    table node; :func:`pulsetrain.interop.aihwkit_granularity` gives that value.)
    """

    def __init__(self, model: nn.Module, lr: float = 0.05, bl: int = 31,
                 update_management: bool = True, bl_management: bool = True,
                 seed: int = 0, granularity: float | None = None) -> None:
        super().__init__(model, lr, seed)
        check_bl(bl)
        if granularity is not None and not granularity > 0:
            raise ValueError(f"granularity must be > 0, got {granularity}")
        self.granularity = granularity
        self.bl, self.update_management, self.bl_management = bl, update_management, \
            bl_management

    def update_layer(self, index: int, layer: AnalogLayer, x: torch.Tensor, d: torch.Tensor,
                     lr: float) -> None:
        layer.tile.pulsed_update(x, d, lr, self.bl, self.update_management, self.bl_management,
                                 self.layer_seed(index), self.granularity)


TransferMode = Literal["exact", "pulse-trains"]
"""How :class:`MixedPrecisionSGD` fires its transfers (``mp_transfer`` in configs)."""
TRANSFER_MODES: tuple[str, ...] = get_args(TransferMode)


class MixedPrecisionSGD(AnalogOptimizer):
    """Mixed-precision SGD (Nandakumar et al. 2020).

    Pseudocode, per mini-batch::

        χ += −lr · Σ_b δ_b x_bᵀ                    # one digital rank-B update
        n = trunc(χ / ε)  (ε_up where χ > 0, ε_down where χ < 0)
        apply |n| pulses of sign(n) to each device; χ −= n·ε

    ``ε`` defaults to the device granularity ``dw_min``.  ``transfer="pulse-trains"``
    fires the same ``n`` as AIHWKit's ``MixedPrecisionCompound`` does: each row's counts
    as one stochastic pulse-train update (``x`` = the row's ``n``, ``δ`` one-hot, update
    and BL management, BL = min(max |n| of the row, ``bl``)), so a device gets |n|
    pulses on average, not exactly (:meth:`AnalogTile.transfer_accumulator`).
    ``digital_updates`` counts accumulator multiply-adds (batch × out × in per step).
    """

    def __init__(self, model: nn.Module, lr: float = 0.5, epsilon: float | None = None,
                 epsilon_up: float | None = None, epsilon_down: float | None = None,
                 seed: int = 0, transfer: str = "exact", bl: int = 31) -> None:
        super().__init__(model, lr, seed)
        if transfer not in TRANSFER_MODES:
            raise ValueError(f"transfer must be one of {', '.join(TRANSFER_MODES)}, got "
                             f"{transfer!r}")
        check_bl(bl)
        self.transfer, self.bl = transfer, bl
        for name, value in (("epsilon", epsilon), ("epsilon_up", epsilon_up),
                            ("epsilon_down", epsilon_down)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.chi = [torch.zeros_like(layer.tile.w) for layer in self.layers]
        self.eps_up = [epsilon_up or epsilon or layer.tile.dt.dw_min for layer in self.layers]
        self.eps_down = [epsilon_down or epsilon or layer.tile.dt.dw_min
                         for layer in self.layers]
        self.digital_updates = 0

    def update_layer(self, index: int, layer: AnalogLayer, x: torch.Tensor, d: torch.Tensor,
                     lr: float) -> None:
        chi = self.chi[index]
        chi.addmm_(d.T.to(chi), x.to(chi), alpha=-lr)
        self.digital_updates += x.shape[0] * chi.numel()
        layer.tile.transfer_accumulator(chi, self.eps_up[index], self.eps_down[index],
                                        self.layer_seed(index),
                                        self.bl if self.transfer == "pulse-trains" else 0)

    def epoch_metrics(self) -> dict[str, Any]:
        return {"digital_updates_total": self.digital_updates}

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "chi": [c.clone() for c in self.chi],
                "digital_updates": self.digital_updates}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        for c, saved in zip(self.chi, state["chi"], strict=True):
            c.copy_(saved)
        self.digital_updates = int(state["digital_updates"])


@dataclass(frozen=True)
class SymmetryShiftReport:
    """What setting the references cost and achieved."""

    pulses: int
    """Pulses spent estimating the SPs (all layers)."""
    sp_mean: float
    sp_std: float
    reference_error: float
    """Mean |reference − SP estimated on each device by pulses|, weight units."""


def tag_layer_progress(on_progress: SymmetryProgressCallback, layer: int, layers: int,
                    progress: SymmetryProgress) -> None:
    """Pass a tile's SP-estimation progress on, marked with its layer."""
    on_progress(replace(progress, layer=layer, layers=layers))


def shift_to_symmetry_point(model: nn.Module, mode: str = "per-device",
                            offset: float = 0.0, reference: float | None = None,
                            on_progress: SymmetryProgressCallback | None = None
                            ) -> SymmetryShiftReport:
    """Symmetry point shifting: read each weight as ``w_device − w_ref`` with ``w_ref`` at SP.

    ``mode="per-device"`` estimates every device's SP on the simulated devices by
    alternating pulses (counted in the report, not in the training pulses);
    ``mode="nominal"`` uses one SP for all devices, that of the nominal device
    (:func:`pulsetrain.devices.symmetry.symmetry_point`: where alternating pulses
    from 0 settle).  ``reference`` (weight units) sets every reference to a given
    value instead (e.g. the SP a publication reported), whatever ``mode``; no
    estimation pulses are spent then.  ``offset`` adds a deliberate reference error
    (weight units) to study mis-set references.  The effective weights are kept: the
    devices are re-programmed to ``W + w_ref`` (so they sit around the SP).
    ``reference_error`` in the report is measured against each device's SP estimated
    by pulses in every mode.  ``on_progress`` hears how the estimation of each layer
    proceeds (:class:`~pulsetrain.crossbar.symmetry.SymmetryProgress`, with ``layer``
    and ``layers`` set).
    """
    if mode not in ("per-device", "nominal"):
        raise ValueError(f"mode must be 'per-device' or 'nominal', got {mode!r}")
    if reference is not None and not math.isfinite(reference):
        raise ValueError(f"reference must be a finite weight, got {reference}")
    pulses = 0
    sps, errors = [], []
    layers = analog_layers(model)
    for k, layer in enumerate(layers):
        tile = layer.tile
        weight = tile.weight.clone()
        report = None if on_progress is None else partial(
            tag_layer_progress, on_progress, k, len(layers))
        est = estimate_symmetry_points(tile.dt, on_progress=report)
        if reference is not None:
            ref = torch.full_like(tile.w, float(reference))
        elif mode == "per-device":
            ref = est.value
            pulses += est.pulses
        else:
            ref = torch.full_like(tile.w, symmetry_point(tile.device).value)
        tile.set_reference(ref + offset)
        tile.set_weight(weight)
        sps.append(tile.ref.flatten())
        errors.append((tile.ref - est.value).abs().flatten())
    allsp = torch.cat(sps)
    return SymmetryShiftReport(pulses, float(allsp.mean()), float(allsp.std()),
                               float(torch.cat(errors).mean()))
