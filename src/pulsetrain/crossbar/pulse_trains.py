"""Stochastic pulse trains (Gokmen & Vlasov 2016) with update and bit-length management.

For each sample ``b`` (rows of ``x``: inputs, of ``d``: output errors):

* ``BL_b = min(BL, max(1, ceil(lr·max|x_b|·max|d_b| / dw_min)))`` with BL
  management, else ``BL`` (default 31, at most 63);
* ``A_b = sqrt(lr / (dw_min·BL_b))·sqrt(max|d_b| / max|x_b|)`` and
  ``B_b = sqrt(lr / (dw_min·BL_b))·sqrt(max|x_b| / max|d_b|)`` with update
  management (so ``A_b·max|x_b| = B_b·max|d_b|``), else both
  ``sqrt(lr / (dw_min·BL_b))``;
* saturation (update management on, ``A_b·max|x_b| > 1``: the update asks for more than
  ``BL_b`` pulses): ``A_b = 1/max|x_b|`` and ``B_b = lr / (dw_min·BL_b·A_b)``, so the
  input side stays exactly proportional to ``|x|`` and the error side clips — AIHWKit's
  rule, measured against AIHWKit 1.1.0 (docs/validation.md);
* input ``j`` fires in each of the ``BL_b`` slots with probability
  ``min(1, A_b|x_bj|)``, output ``i`` with ``min(1, B_b|d_bi|)``.

A coincidence in a slot is one pulse on weight ``(i, j)`` in direction
``−sign(x_bj·d_bi)``, so ``E[pulses] = BL_b·p·q = lr|x d|/dw_min`` when no
probability is clipped, and ``E[Δw] = −lr·d_bi·x_bj`` on a device whose step is
``dw_min``.  These are the semantics of AIHWKit's default pulsed update
(``StochasticCompressed`` pulses, ``update_management`` and
``update_bl_management`` on).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.kernels import (
    MAX_BL,
    apply_trains,
    check_bl,
    draw_train_bits,
    fused_sgd_update,
    resolve_backend,
)
from pulsetrain.crossbar.noise import train_seeds

__all__ = ["MAX_BL", "PulseTrains", "make_trains", "pulsed_sgd_update", "train_seeds"]


@dataclass(frozen=True)
class PulseTrains:
    """Bit-packed trains of one mini-batch (see :mod:`pulsetrain.crossbar.kernels`)."""

    x_bits: torch.Tensor
    x_sign: torch.Tensor
    d_bits: torch.Tensor
    d_sign: torch.Tensor
    bl: torch.Tensor  # (batch,) slots used per sample


def make_trains(x: torch.Tensor, d: torch.Tensor, lr: float, dw_min: float,
                bl: int = 31, update_management: bool = True, bl_management: bool = True,
                seed: int = 0, backend: str = "auto") -> PulseTrains:
    """Draw the pulse trains for a mini-batch.

    Parameters
    ----------
    x
        Inputs, shape ``(batch, in)``.
    d
        Errors ``∂loss/∂y``, shape ``(batch, out)``.
    lr
        Learning rate (weight units per unit of ``x·d``).
    dw_min
        Device granularity in weight units (> 0).
    bl
        Desired bit length (1–63).
    update_management, bl_management
        See the module docstring.
    seed
        Seed of the slot draws (counter-based: same trains on every backend/device).
    backend
        Kernel backend of the draws (see :func:`~pulsetrain.crossbar.kernels.draw_train_bits`).
    """
    check_bl(bl)
    if not dw_min > 0:
        raise ValueError(f"dw_min must be > 0, got {dw_min}")
    x = x.detach().to(torch.float32).contiguous()
    d = d.detach().to(torch.float32).contiguous()
    # per-sample management in float64, the same operations in the same order as the
    # fused numba kernel (so both draw identical trains)
    x_max = x.abs().amax(dim=1).double()
    d_max = d.abs().amax(dim=1).double()
    active = (x_max > 0) & (d_max > 0)
    if bl_management:
        need = torch.ceil(lr * x_max * d_max / dw_min).clamp(min=1, max=bl)
        bl_b = torch.where(active, need, torch.ones_like(need))
    else:
        bl_b = torch.full_like(x_max, float(bl))
    base = torch.sqrt(lr / (dw_min * bl_b)) * active
    if update_management:
        safe_x = torch.where(active, x_max, 1.0)
        ratio = torch.sqrt(torch.where(active, d_max, 1.0) / safe_x)
        a = base * ratio
        b = base / ratio
        sat = a * safe_x > 1.0  # saturated: x side capped at p_max = 1, δ side takes the rest
        a_cap = 1.0 / safe_x
        b = torch.where(sat, base * base / a_cap, b)
        a = torch.where(sat, a_cap, a)
    else:
        a = b = base
    bl_i = bl_b.to(torch.int64)
    seed_x, seed_d = train_seeds(seed)
    x_bits = draw_train_bits(x, a, bl_i, seed_x, backend)
    d_bits = draw_train_bits(d, b, bl_i, seed_d, backend)
    return PulseTrains(x_bits, torch.sign(x).to(torch.int8), d_bits,
                       torch.sign(d).to(torch.int8), bl_i)


def pulsed_sgd_update(w: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float,
                      dt: DeviceTensors, bl: int, update_management: bool,
                      bl_management: bool, seed: int, backend: str = "auto",
                      dw_min: float | None = None) -> tuple[int, int]:
    """Stochastic-pulse SGD step of one mini-batch on ``w`` in place; returns (up, down).

    ``dw_min`` is the granularity the pulse management assumes (default: the device's).
    :func:`make_trains` followed by
    :func:`~pulsetrain.crossbar.kernels.apply_trains` with the same ``seed``; on the
    numba backend management, draws and pulses run in one compiled call
    (:func:`~pulsetrain.crossbar.kernels.fused_sgd_update`, tested bit for bit
    against the two steps).
    """
    granularity = dt.dw_min if dw_min is None else float(dw_min)
    if not granularity > 0:
        raise ValueError(f"dw_min must be > 0, got {granularity}")
    if resolve_backend(backend, w) == "torch":
        t = make_trains(x, d, lr, granularity, bl, update_management, bl_management, seed,
                        "torch")
        return apply_trains(w, t.x_bits, t.x_sign, t.d_bits, t.d_sign, dt, seed, "torch")
    return fused_sgd_update(w, x, d, lr, dt, bl, update_management, bl_management, seed,
                            granularity)
