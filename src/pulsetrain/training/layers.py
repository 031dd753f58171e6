"""``AnalogLinear``: a torch layer whose weight lives on an :class:`AnalogTile`."""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import nn

from pulsetrain.crossbar.mvm import Periphery, crossbar_mvm, make_periphery
from pulsetrain.crossbar.noise import GOLDEN, mix32_int
from pulsetrain.crossbar.tile import AnalogTile
from pulsetrain.devices.lut import LutDevice


class AnalogLinear(nn.Module):
    """Linear layer ``y = W x + b`` with ``W`` on a crossbar of ``device`` cells.

    The bias is digital (a normal parameter).  ``W`` is not a parameter: autograd
    delivers the layer's input ``x`` and error ``δ`` (kept in ``last_x`` and
    ``last_d``) and an :class:`~pulsetrain.training.algorithms.AnalogOptimizer`
    turns them into pulses.  Weights start uniform in ``±1/sqrt(in_features)``
    (torch's default), programmed without counting pulses.
    """

    def __init__(self, in_features: int, out_features: int, device: LutDevice,
                 generator: torch.Generator, bias: bool = True, backend: str = "auto",
                 torch_device: torch.device | str = "cpu",
                 periphery: Periphery | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.tile = AnalogTile(device, out_features, in_features, generator, torch_device,
                               backend, periphery)
        bound = 1.0 / math.sqrt(in_features)
        init = torch.rand(out_features, in_features, generator=generator) * 2 * bound - bound
        self.tile.set_weight(init.to(torch_device))
        self.bias = nn.Parameter(
            (torch.rand(out_features, generator=generator) * 2 * bound - bound).to(torch_device)
        ) if bias else None
        self._anchor = nn.Parameter(torch.zeros(0, device=torch_device))
        self.last_x: torch.Tensor | None = None
        self.last_d: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x Wᵀ + b``; records ``x`` and ``δ`` for the update during backward."""
        y = crossbar_mvm(x[None], self._anchor, self.tile.weight[None], [self])[0]
        return y + self.bias if self.bias is not None else y

    def train(self, mode: bool = True) -> AnalogLinear:
        """Training mode also counts the array reads (``eval()``: evaluation reads are not
        training costs)."""
        super().train(mode)
        self.tile.periphery.training = mode
        return self

    @property
    def periphery(self) -> Periphery:
        """The tile's periphery (what the read-out does to the MVM results)."""
        return self.tile.periphery

    def digital_parameters(self) -> list[nn.Parameter]:
        """Parameters updated digitally (the bias)."""
        return [self.bias] if self.bias is not None else []

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"device={self.tile.device.name!r}")


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def build_mlp(sizes: list[int], device: LutDevice | None, seed: int = 0,
              activation: str = "sigmoid", backend: str = "auto",
              torch_device: torch.device | str = "cpu",
              periphery: str = "ideal",
              periphery_options: dict[str, Any] | None = None) -> nn.Sequential:
    """MLP ``sizes[0] → … → sizes[-1]`` with log-softmax output.

    With ``device=None`` the layers are ``nn.Linear`` (floating-point baseline),
    initialised from the same generator so both start alike (exactly so when the device
    has no d2d variation, whose draws come first).  ``periphery``: a registered
    :class:`~pulsetrain.crossbar.mvm.Periphery` name, one instance per analog layer.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if device is None:
            lin = nn.Linear(n_in, n_out)
            bound = 1.0 / math.sqrt(n_in)
            with torch.no_grad():
                lin.weight.copy_(torch.rand(n_out, n_in, generator=gen) * 2 * bound - bound)
                lin.bias.copy_(torch.rand(n_out, generator=gen) * 2 * bound - bound)
            layers.append(lin.to(torch_device))
        else:
            layers.append(AnalogLinear(n_in, n_out, device, gen, backend=backend,
                                       torch_device=torch_device,
                                       periphery=make_periphery(
                                           periphery, mix32_int(seed * GOLDEN + 7919 * k),
                                           periphery_options)))
        if k < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    layers.append(nn.LogSoftmax(dim=1))
    return nn.Sequential(*layers)


def analog_layers(model: nn.Module) -> list[AnalogLinear]:
    """The analog layers of a model, in order."""
    return [m for m in model.modules() if isinstance(m, AnalogLinear)]
