"""Stochastic pulse trains (Gokmen & Vlasov 2016) with update and bit-length management.

For each sample ``b`` (rows of ``x``: inputs, of ``d``: output errors):

* ``BL_b = min(BL, max(1, ceil(lr·max|x_b|·max|d_b| / dw_min)))`` with BL
  management, else ``BL`` (default 31, at most 63);
* ``A_b = sqrt(lr / (dw_min·BL_b))·sqrt(max|d_b| / max|x_b|)`` and
  ``B_b = sqrt(lr / (dw_min·BL_b))·sqrt(max|x_b| / max|d_b|)`` with update
  management (so ``A_b·max|x_b| = B_b·max|d_b|``), else both
  ``sqrt(lr / (dw_min·BL_b))``;
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

MAX_BL = 63


@dataclass(frozen=True)
class PulseTrains:
    """Bit-packed trains of one mini-batch (see :mod:`pulsetrain.crossbar.kernels`)."""

    x_bits: torch.Tensor
    x_sign: torch.Tensor
    d_bits: torch.Tensor
    d_sign: torch.Tensor
    bl: torch.Tensor  # (batch,) slots used per sample


def _pack(fire: torch.Tensor) -> torch.Tensor:
    """(…, slots) bool → (…) int64 with bit k = slot k."""
    shifts = torch.arange(fire.shape[-1], device=fire.device, dtype=torch.int64)
    return (fire.to(torch.int64) << shifts).sum(-1)


def make_trains(x: torch.Tensor, d: torch.Tensor, lr: float, dw_min: float,
                bl: int = 31, update_management: bool = True, bl_management: bool = True,
                generator: torch.Generator | None = None) -> PulseTrains:
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
    generator
        Torch generator for the slot draws (on ``x``'s device).
    """
    if not 1 <= bl <= MAX_BL:
        raise ValueError(f"bl must be in 1..{MAX_BL}, got {bl}")
    if not dw_min > 0:
        raise ValueError(f"dw_min must be > 0, got {dw_min}")
    x = x.detach().to(torch.float32)
    d = d.detach().to(torch.float32)
    x_max = x.abs().amax(dim=1)
    d_max = d.abs().amax(dim=1)
    active = (x_max > 0) & (d_max > 0)
    if bl_management:
        need = torch.ceil(lr * x_max * d_max / dw_min).clamp(min=1, max=bl)
        bl_b = torch.where(active, need, torch.ones_like(need))
    else:
        bl_b = torch.full_like(x_max, float(bl))
    base = torch.sqrt(lr / (dw_min * bl_b))
    if update_management:
        safe_x = torch.where(active, x_max, torch.ones_like(x_max))
        safe_d = torch.where(active, d_max, torch.ones_like(d_max))
        ratio = torch.sqrt(safe_d / safe_x)
        a, b = base * ratio, base / ratio
    else:
        a = b = base
    p = (a[:, None] * x.abs()).clamp(max=1) * active[:, None]
    q = (b[:, None] * d.abs()).clamp(max=1) * active[:, None]
    n_slots = int(bl_b.max()) if bl_b.numel() else 1
    slot_ok = torch.arange(n_slots, device=x.device)[None, :] < bl_b[:, None]  # (batch, slots)
    rx = torch.rand((*x.shape, n_slots), generator=generator, device=x.device)
    rd = torch.rand((*d.shape, n_slots), generator=generator, device=x.device)
    x_fire = (rx < p[..., None]) & slot_ok[:, None, :]
    d_fire = (rd < q[..., None]) & slot_ok[:, None, :]
    return PulseTrains(_pack(x_fire), torch.sign(x).to(torch.int8), _pack(d_fire),
                       torch.sign(d).to(torch.int8), bl_b.to(torch.int64))
