"""A crossbar tile: device states (and references), analog MVMs, pulsed updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.kernels import apply_accumulated, apply_counts, split_accumulated
from pulsetrain.crossbar.mvm import Ideal, Periphery, backward_outputs, forward_outputs
from pulsetrain.crossbar.pulse_trains import pulsed_sgd_update
from pulsetrain.devices.lut import LutDevice


@dataclass
class PulseCounts:
    """Programming pulses applied to a tile (cumulative)."""

    up: int = 0
    down: int = 0

    @property
    def total(self) -> int:
        """Up + down."""
        return self.up + self.down


class AnalogTile:
    """Weights of one layer stored on simulated devices.

    The effective weight is ``w_device − w_ref``: ``w_ref`` is zero unless the
    algorithm sets references (symmetry point shifting).  Forward ``y = W x`` and
    backward ``δx = Wᵀ δ`` run through :mod:`pulsetrain.crossbar.mvm` (the one MVM path,
    also for stacks of runs) with the tile's :attr:`periphery`.

    Parameters
    ----------
    device
        The device model every cross-point uses.
    out_features, in_features
        Shape of the weight matrix.
    generator
        Draws the device-to-device variation.
    torch_device
        Where the tensors live.
    backend
        Pulse kernel backend (``"auto"``, ``"numba"``, ``"torch"``).
    periphery
        What the read-out does to the MVM results (default :class:`~pulsetrain.crossbar.mvm.Ideal`).
    """

    def __init__(self, device: LutDevice, out_features: int, in_features: int,
                 generator: torch.Generator, torch_device: torch.device | str = "cpu",
                 backend: str = "auto", periphery: Periphery | None = None) -> None:
        self.periphery: Periphery = periphery or Ideal()
        self.periphery.tile = self
        self.device = device
        self.shape = (out_features, in_features)
        self.dt = DeviceTensors.draw(device, self.shape, generator, torch_device)
        self.w = torch.zeros(self.shape, dtype=torch.float32, device=torch_device)
        self.ref = torch.zeros_like(self.w)
        self._has_ref = False
        self.pulses = PulseCounts()
        self.backend = backend

    # -- state --------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        """Effective weight ``w_device − w_ref`` (the state itself when no reference is set;
        treat it as read-only)."""
        return self.w - self.ref if self.has_reference else self.w

    @property
    def has_reference(self) -> bool:
        """Whether any device has a non-zero reference."""
        return bool(self._has_ref)

    def set_reference(self, ref: torch.Tensor) -> None:
        """Set the reference of every device (weight units); the devices are not touched."""
        self.ref.copy_(ref)
        self._has_ref = bool(self.ref.any())

    def set_weight(self, weight: torch.Tensor) -> None:
        """Program the effective weight directly (initialisation; not counted as pulses),
        clipped to each device's bounds."""
        target = weight.to(self.w) + self.ref
        self.w.copy_(torch.minimum(torch.maximum(target, self.dt.w_min), self.dt.w_max))

    def state_dict(self) -> dict[str, Any]:
        """Tensors and counters needed to resume."""
        return {"w": self.w.clone(), "ref": self.ref.clone(), "pulses_up": self.pulses.up,
                "pulses_down": self.pulses.down, "gain_up": self.dt.gain_up.clone(),
                "gain_down": self.dt.gain_down.clone(), "w_min": self.dt.w_min.clone(),
                "w_max": self.dt.w_max.clone(), "periphery": self.periphery.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        self.w.copy_(state["w"])  # type: ignore[arg-type]
        self.set_reference(state["ref"])  # type: ignore[arg-type]
        for name in ("gain_up", "gain_down", "w_min", "w_max"):
            getattr(self.dt, name).copy_(state[name])  # type: ignore[arg-type]
        self.pulses = PulseCounts(int(state["pulses_up"]), int(state["pulses_down"]))
        if "periphery" in state:  # checkpoints written before read-out counters: none
            self.periphery.load_state_dict(state["periphery"])  # type: ignore[arg-type]

    # -- analog MVMs --------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y = x Wᵀ`` for a batch ``x`` of shape ``(batch, in)`` (no autograd)."""
        return forward_outputs(x[None], self.weight[None], [self])[0]

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """``δx = δ W`` for a batch ``δ`` of shape ``(batch, out)`` (no autograd)."""
        return backward_outputs(d[None], self.weight[None], [self])[0]

    # -- updates ------------------------------------------------------------------------
    def pulsed_update(self, x: torch.Tensor, d: torch.Tensor, lr: float, bl: int = 31,
                      update_management: bool = True, bl_management: bool = True,
                      seed: int = 0, dw_min: float | None = None) -> tuple[int, int]:
        """Stochastic-pulse SGD update ``ΔW ≈ −lr·Σ_b d_b x_bᵀ``, samples in order.

        ``seed`` drives the slot draws and the c2c noise of this update; ``dw_min`` is the
        granularity the pulse management assumes (default: the device's)."""
        up, down = pulsed_sgd_update(self.w, x, d, lr, self.dt, bl, update_management,
                                     bl_management, seed, self.backend, dw_min)
        self.pulses.up += up
        self.pulses.down += down
        return up, down

    def transfer_accumulator(self, chi: torch.Tensor, eps_up: float, eps_down: float,
                             seed: int = 0, bl: int = 0) -> tuple[int, int]:
        """Fire ``n = trunc(χ/ε)`` pulses per device and keep the remainder ``χ − n·ε`` in
        ``chi`` (mixed precision; ``chi`` float32, updated in place).

        ``bl`` = 0: exactly |n| pulses.  ``bl`` > 0: as AIHWKit's mixed precision, each
        row's counts are one stochastic pulse-train update (:meth:`pulsed_update` with
        ``x`` = the row's ``n``, ``δ`` = −1 on that row, ``lr`` = ``dw_min`` = 1, update
        and BL management: BL = min(max |n| of the row, ``bl``)): |n| pulses on average
        while max |n| ≤ ``bl``, fewer beyond."""
        if bl > 0:
            counts, row_max = split_accumulated(chi, eps_up, eps_down, self.backend)
            rows = torch.nonzero(row_max > 0).flatten()
            if rows.numel() == 0:
                return 0, 0
            d = torch.zeros(rows.numel(), counts.shape[0], dtype=torch.float32,
                            device=chi.device)
            d[torch.arange(rows.numel(), device=chi.device), rows] = -1.0
            return self.pulsed_update(counts[rows].to(torch.float32), d, 1.0, bl, True, True,
                                      seed, 1.0)
        up, down = apply_accumulated(self.w, chi, eps_up, eps_down, self.dt, seed,
                                     self.backend)
        self.pulses.up += up
        self.pulses.down += down
        return up, down

    def apply_pulse_counts(self, counts: torch.Tensor, seed: int = 0) -> tuple[int, int]:
        """Apply a signed number of pulses per device (positive = up)."""
        up, down = apply_counts(self.w, counts, self.dt, seed, self.backend)
        self.pulses.up += up
        self.pulses.down += down
        return up, down
