"""Model registry: a network is one registered builder (``mlp``, ``lenet5``, ``cifar-cnn``).

=============  ===================================================================
name           shape (``A`` marks an analog layer when a device is given)
=============  ===================================================================
``mlp``        flattened input → A-linear per ``hidden`` size (``activation``) → classes
``lenet5``     A-conv C→16 5×5, tanh, maxpool 2, A-conv 16→32 5×5, tanh, maxpool 2,
               A-linear 32·h·w→128, tanh, A-linear 128→classes (MNIST: 512→128)
``cifar-cnn``  A-conv C→16 3×3 pad 1, relu, A-conv 16→16 3×3 pad 1, relu, maxpool 2,
               A-conv 16→32 3×3 pad 1, relu, maxpool 2, A-linear 32·(H/4)·(W/4)→64,
               relu, A-linear 64→classes
=============  ===================================================================

Every model takes flattened float features ``(batch, C·H·W)`` and returns
log-probabilities.  Without a device the analog layers are torch's ``nn.Linear`` /
``nn.Conv2d`` initialised from the same generator (floating-point baseline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from pulsetrain.crossbar.mvm import make_periphery
from pulsetrain.crossbar.noise import GOLDEN, mix32_int
from pulsetrain.devices.lut import LutDevice
from pulsetrain.errors import InputError, did_you_mean
from pulsetrain.training.layers import ACTIVATIONS, AnalogConv2d, AnalogLinear, build_mlp


@dataclass(frozen=True)
class ModelSpec:
    """Everything a builder gets: data shape and the layers' settings."""

    input_shape: tuple[int, int, int]
    """(channels, height, width) of one input."""
    n_classes: int
    device: LutDevice | None
    """Device model of the analog cells; ``None``: floating-point layers."""
    seed: int = 0
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "sigmoid"
    backend: str = "auto"
    torch_device: str = "cpu"
    periphery: str = "ideal"
    periphery_options: dict[str, Any] | None = None
    max_tile_inputs: int = 0
    max_tile_outputs: int = 0


Builder = Callable[[ModelSpec], nn.Module]
MODELS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: register a model builder under ``name``."""
    def add(builder: Builder) -> Builder:
        MODELS[name] = builder
        return builder
    return add


def check_model(name: str) -> None:
    """Raise :class:`InputError` (with a did-you-mean) for an unregistered model name."""
    if name not in MODELS:
        raise InputError(f"model: unknown model {name!r}{did_you_mean(name, MODELS)}; "
                         f"known: {', '.join(sorted(MODELS))}")


def build_model(name: str, spec: ModelSpec) -> nn.Module:
    """The registered model ``name`` for ``spec``.

    Raises
    ------
    InputError
        For an unknown name, or an input shape the model cannot take.
    """
    check_model(name)
    return MODELS[name](spec)


class _Reshape(nn.Module):
    """Flattened ``(batch, C·H·W)`` → ``(batch, C, H, W)``."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class _Layers:
    """Makes a network's layers from one generator, each analog layer with its own
    periphery seed (as :func:`build_mlp` does)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.gen = torch.Generator().manual_seed(spec.seed)
        self.k = 0

    def _periphery(self) -> Any:
        s = self.spec
        p = make_periphery(s.periphery, mix32_int(s.seed * GOLDEN + 7919 * self.k),
                           s.periphery_options)
        self.k += 1
        return p

    def conv(self, c_in: int, c_out: int, k: int, padding: int = 0) -> nn.Module:
        s = self.spec
        if s.device is None:
            conv = nn.Conv2d(c_in, c_out, k, padding=padding)
            bound = 1.0 / (c_in * k * k) ** 0.5
            with torch.no_grad():
                conv.weight.copy_((torch.rand(c_out, c_in * k * k, generator=self.gen)
                                   * 2 * bound - bound).reshape(c_out, c_in, k, k))
                assert conv.bias is not None
                conv.bias.copy_(torch.rand(c_out, generator=self.gen) * 2 * bound - bound)
            self.k += 1
            return conv.to(s.torch_device)
        return AnalogConv2d(c_in, c_out, k, s.device, generator=self.gen, padding=padding,
                            backend=s.backend, device=s.torch_device,
                            periphery=self._periphery())

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        s = self.spec
        if s.device is None:
            lin = nn.Linear(n_in, n_out)
            bound = 1.0 / n_in ** 0.5
            with torch.no_grad():
                lin.weight.copy_(torch.rand(n_out, n_in, generator=self.gen) * 2 * bound
                                 - bound)
                lin.bias.copy_(torch.rand(n_out, generator=self.gen) * 2 * bound - bound)
            self.k += 1
            return lin.to(s.torch_device)
        return AnalogLinear(n_in, n_out, s.device, generator=self.gen, backend=s.backend,
                            device=s.torch_device, periphery=self._periphery())


def _no_tiles(name: str, spec: ModelSpec) -> None:
    if spec.max_tile_inputs or spec.max_tile_outputs:
        raise InputError(f"model {name!r}: max_tile_inputs/max_tile_outputs apply to "
                         "model mlp only (convolutions are not split onto tiles yet)")


@register_model("mlp")
def _mlp(spec: ModelSpec) -> nn.Module:
    c, h, w = spec.input_shape
    return build_mlp([c * h * w, *spec.hidden, spec.n_classes], spec.device, seed=spec.seed,
                     activation=spec.activation, backend=spec.backend,
                     torch_device=spec.torch_device, periphery=spec.periphery,
                     periphery_options=spec.periphery_options,
                     max_tile_inputs=spec.max_tile_inputs,
                     max_tile_outputs=spec.max_tile_outputs)


@register_model("lenet5")
def _lenet5(spec: ModelSpec) -> nn.Module:
    _no_tiles("lenet5", spec)
    c, h, w = spec.input_shape
    hh, ww = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
    if hh < 1 or ww < 1:
        raise InputError(f"model 'lenet5': input must be at least 16×16 pixels (two 5×5 "
                         f"convolutions and two 2×2 poolings), got {c}×{h}×{w}")
    f = _Layers(spec)
    return nn.Sequential(
        _Reshape(spec.input_shape),
        f.conv(c, 16, 5), nn.Tanh(), nn.MaxPool2d(2),
        f.conv(16, 32, 5), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), f.linear(32 * hh * ww, 128), nn.Tanh(),
        f.linear(128, spec.n_classes), nn.LogSoftmax(dim=1))


@register_model("cifar-cnn")
def _cifar_cnn(spec: ModelSpec) -> nn.Module:
    _no_tiles("cifar-cnn", spec)
    c, h, w = spec.input_shape
    if h < 4 or w < 4:
        raise InputError(f"model 'cifar-cnn': input must be at least 4×4 pixels (two 2×2 "
                         f"poolings), got {c}×{h}×{w}")
    f = _Layers(spec)
    return nn.Sequential(
        _Reshape(spec.input_shape),
        f.conv(c, 16, 3, 1), nn.ReLU(),
        f.conv(16, 16, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
        f.conv(16, 32, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), f.linear(32 * (h // 4) * (w // 4), 64), nn.ReLU(),
        f.linear(64, spec.n_classes), nn.LogSoftmax(dim=1))


__all__ = ["ACTIVATIONS", "MODELS", "ModelSpec", "build_model", "check_model",
           "register_model"]
