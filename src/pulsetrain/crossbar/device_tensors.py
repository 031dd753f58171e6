"""Per-weight device parameters on a tensor device: the LUT and the d2d variation draws."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from pulsetrain.devices.lut import LutDevice


@dataclass
class DeviceTensors:
    """Everything the pulse kernels need to know about the devices of one tile.

    Attributes
    ----------
    lut_up, lut_down
        Nominal step tables, shape ``(n_points,)``, float32.
    gain_up, gain_down
        Per-device multiplicative step gains (device-to-device variation of the
        step size and of the up/down ratio), shape ``(out, in)``.
    w_min, w_max
        Per-device bounds, shape ``(out, in)``.
    c2c
        Relative cycle-to-cycle step noise (std of a Gaussian factor per pulse).
    dw_min
        Nominal granularity (step at w = 0 in the smaller direction), weight units.
    """

    lut_up: torch.Tensor
    lut_down: torch.Tensor
    gain_up: torch.Tensor
    gain_down: torch.Tensor
    w_min: torch.Tensor
    w_max: torch.Tensor
    c2c: float
    dw_min: float

    @classmethod
    def draw(cls, device: LutDevice, shape: tuple[int, int], generator: torch.Generator,
             torch_device: torch.device | str = "cpu") -> DeviceTensors:
        """Draw the per-weight parameters (once per tile) from ``device.variation``.

        Step gain ``g = max(0, 1 + σ_gain·N)``, up/down split ``r = σ_ud·N`` (up × (1 + r),
        down × (1 − r), clipped at 0), bounds ``w_min·max(0.1, 1 + σ_b·N)`` and
        ``w_max·max(0.1, 1 + σ_b·N)`` drawn independently.  With no variation all
        devices are identical and no random numbers are consumed.
        """
        var = device.variation
        ones = torch.ones(shape, dtype=torch.float32)

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float32)

        gain = (1 + var.step_gain_std * normal()).clamp_min(0) if var.step_gain_std else ones
        if var.up_down_std:
            r = var.up_down_std * normal()
            gain_up, gain_down = (gain * (1 + r)).clamp_min(0), (gain * (1 - r)).clamp_min(0)
        else:
            gain_up, gain_down = gain.clone(), gain.clone()
        if var.bound_std:
            w_min = device.w_min * (1 + var.bound_std * normal()).clamp_min(0.1)
            w_max = device.w_max * (1 + var.bound_std * normal()).clamp_min(0.1)
        else:
            w_min, w_max = ones * device.w_min, ones * device.w_max
        dev = torch.device(torch_device)
        return cls(
            lut_up=torch.as_tensor(device.lut_up, dtype=torch.float32, device=dev),
            lut_down=torch.as_tensor(device.lut_down, dtype=torch.float32, device=dev),
            gain_up=gain_up.to(dev).contiguous(), gain_down=gain_down.to(dev).contiguous(),
            w_min=w_min.to(dev).contiguous(), w_max=w_max.to(dev).contiguous(),
            c2c=float(device.c2c_noise), dw_min=float(device.dw_min),
        )

    @cached_property
    def numpy_views(self) -> tuple[np.ndarray, ...]:
        """``(lut_up, lut_down, gain_up, gain_down, w_min, w_max)`` as numpy arrays sharing
        memory with the tensors (CPU only; in-place tensor updates stay visible)."""
        return tuple(t.detach().numpy() for t in (self.lut_up, self.lut_down, self.gain_up,
                                                  self.gain_down, self.w_min, self.w_max))

    def to(self, torch_device: torch.device | str) -> DeviceTensors:
        """Move to another torch device."""
        return DeviceTensors(self.lut_up.to(torch_device), self.lut_down.to(torch_device),
                             self.gain_up.to(torch_device), self.gain_down.to(torch_device),
                             self.w_min.to(torch_device), self.w_max.to(torch_device),
                             self.c2c, self.dw_min)

    def step(self, w: torch.Tensor, up: bool) -> torch.Tensor:
        """Noise-free step magnitude of one pulse per device at states ``w`` (same shape)."""
        lut = self.lut_up if up else self.lut_down
        gain = self.gain_up if up else self.gain_down
        n = lut.shape[0]
        pos = ((w - self.w_min) / (self.w_max - self.w_min)).clamp(0, 1) * (n - 1)
        k = pos.floor().clamp(max=n - 2)
        t = pos - k
        k = k.long()
        return gain * (lut[k] * (1 - t) + lut[k + 1] * t)
