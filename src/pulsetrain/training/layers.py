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
from pulsetrain.errors import InputError


class AnalogLinear(nn.Module):
    """Linear layer ``y = W x + b`` with ``W`` on a crossbar of ``synapse`` cells.

    The bias is digital (a normal parameter).  ``W`` is not a parameter: autograd
    delivers the layer's input ``x`` and error ``δ`` (kept in ``last_x`` and
    ``last_d``) and an :class:`~pulsetrain.training.algorithms.AnalogOptimizer`
    turns them into pulses.  Weights start uniform in ``±1/sqrt(in_features)``
    (torch's default), programmed without counting pulses.

    Parameters
    ----------
    in_features, out_features
        Input and output sizes (the tile has ``out_features × in_features`` cells).
    synapse
        Device model of every cell (e.g. ``pulsetrain.builtin_device("ID161ZR15000-200ns")``).
    generator
        CPU generator of the initial weights and the device-to-device draws; ``None``:
        a fresh one seeded with ``seed``, so a layer never depends on torch's global RNG.
    bias
        Add a digital bias.
    backend
        Pulse kernels: ``auto``, ``numba`` (CPU) or ``torch``.
    device, dtype
        Where the tensors live, as in :class:`torch.nn.Linear` (``None``: CPU); the
        crossbar state is float32, so ``dtype`` may only be ``None`` or ``torch.float32``.
    periphery
        What the read-out does to the MVM results (default: ideal).
    seed
        Seed of the generator made when ``generator`` is not given (``None``: 0); two
        layers with the same seed, sizes and synapse start identical.

    Raises
    ------
    TypeError
        For a ``synapse`` that is not a :class:`LutDevice` (or a device model passed as
        ``device``), a ``generator`` that is not a ``torch.Generator``, a non-integer seed.
    InputError
        For sizes < 1, a CUDA generator, both ``generator`` and ``seed``, an unknown torch
        device or a dtype other than float32.
    """

    def __init__(self, in_features: int, out_features: int, synapse: LutDevice,
                 generator: torch.Generator | None = None, bias: bool = True,
                 backend: str = "auto", device: torch.device | str | None = None,
                 periphery: Periphery | None = None, *, seed: int | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not isinstance(synapse, LutDevice):
            raise TypeError(f"AnalogLinear: synapse must be a LutDevice (e.g. "
                            f"pulsetrain.resolve_device(name)), got "
                            f"{type(synapse).__name__} {synapse!r:.60}")
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise InputError(f"AnalogLinear: {name} must be an integer >= 1, got "
                                 f"{size!r}")
        where = _torch_device(device, dtype)
        generator = _generator(generator, seed)
        self.in_features, self.out_features = in_features, out_features
        self.tile = AnalogTile(synapse, out_features, in_features, generator, where,
                               backend, periphery)
        bound = 1.0 / math.sqrt(in_features)
        init = torch.rand(out_features, in_features, generator=generator) * 2 * bound - bound
        self.tile.set_weight(init.to(where))
        self.bias = nn.Parameter(
            (torch.rand(out_features, generator=generator) * 2 * bound - bound).to(where)
        ) if bias else None
        self._anchor = nn.Parameter(torch.zeros(0, device=where))
        self.last_x: torch.Tensor | None = None
        self.last_d: torch.Tensor | None = None

    @property
    def synapse(self) -> LutDevice:
        """The device model of the cells."""
        return self.tile.device

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
                f"synapse={self.tile.device.name!r}")


def _torch_device(device: object, dtype: object) -> torch.device:
    """``AnalogLinear``'s ``device``/``dtype`` arguments → the torch device (checked)."""
    if isinstance(device, LutDevice):
        raise TypeError(f"AnalogLinear: device is where the tensors live (torch.device or "
                        f"str); pass the device model {device.name!r} as synapse=")
    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"AnalogLinear: device must be a torch.device or str, got "
                        f"{type(device).__name__}")
    if dtype is not None and dtype != torch.float32:
        raise InputError(f"AnalogLinear: dtype must be torch.float32 or None (the crossbar "
                         f"state is float32), got {dtype}")
    try:
        return torch.device("cpu" if device is None else device)
    except RuntimeError:
        raise InputError(f"AnalogLinear: device {device!r} is not a torch device (cpu, cuda, "
                         f"cuda:N)") from None


def _generator(generator: object, seed: object) -> torch.Generator:
    """``AnalogLinear``'s ``generator``/``seed`` arguments → the CPU generator to draw from."""
    if generator is None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"AnalogLinear: seed must be an int, got {type(seed).__name__}")
        return torch.Generator().manual_seed(0 if seed is None else seed)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"AnalogLinear: generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    if seed is not None:
        raise InputError("AnalogLinear: give generator or seed, not both")
    if generator.device.type != "cpu":
        raise InputError(f"AnalogLinear: generator must be a CPU generator (the draws are "
                         f"made on the CPU), got one on {generator.device}")
    return generator


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
            layers.append(AnalogLinear(n_in, n_out, synapse=device, generator=gen,
                                       backend=backend, device=torch_device,
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
