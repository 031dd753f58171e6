"""Analog torch layers whose weight lives on an :class:`AnalogTile`: ``AnalogLinear`` and
``AnalogConv2d`` (im2col onto the same tile and MVM path), both :class:`AnalogLayer`."""

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


class AnalogLayer(nn.Module):
    """What optimizers, update rules, stacks and checkpoints see of an analog layer.

    A layer holds its weight matrix on ``tile`` (``out × in`` cells), has a digital
    ``bias`` (or ``None``) and, after a backward pass, the rows of inputs ``last_x``
    (``n × in``) and errors ``last_d`` (``n × out``) the update rule turns into pulses:
    one row per sample for a linear layer, one per sample and output position for a
    convolution.
    """

    tile: AnalogTile
    bias: nn.Parameter | None
    last_x: torch.Tensor | None
    last_d: torch.Tensor | None
    _anchor: nn.Parameter

    def _make_tile(self, n_in: int, n_out: int, synapse: LutDevice,
                   generator: torch.Generator | None, bias: bool, backend: str,
                   device: torch.device | str | None, periphery: Periphery | None,
                   seed: int | None, dtype: torch.dtype | None) -> None:
        """Tile (d2d draws first), weights then bias uniform in ``±1/sqrt(n_in)``."""
        where = _torch_device(device, dtype)
        generator = _generator(generator, seed)
        self.tile = AnalogTile(synapse, n_out, n_in, generator, where, backend, periphery)
        bound = 1.0 / math.sqrt(n_in)
        init = torch.rand(n_out, n_in, generator=generator) * 2 * bound - bound
        self.tile.set_weight(init.to(where))
        self.bias = nn.Parameter(
            (torch.rand(n_out, generator=generator) * 2 * bound - bound).to(where)
        ) if bias else None
        self._anchor = nn.Parameter(torch.zeros(0, device=where))
        self.last_x = None
        self.last_d = None

    @property
    def synapse(self) -> LutDevice:
        """The device model of the cells."""
        return self.tile.device

    def train(self, mode: bool = True) -> AnalogLayer:
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


def _check_synapse(owner: str, synapse: object) -> None:
    if not isinstance(synapse, LutDevice):
        raise TypeError(f"{owner}: synapse must be a LutDevice (e.g. "
                        f"pulsetrain.resolve_device(name)), got "
                        f"{type(synapse).__name__} {synapse!r:.60}")


class AnalogLinear(AnalogLayer):
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
        _check_synapse("AnalogLinear", synapse)
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise InputError(f"AnalogLinear: {name} must be an integer >= 1, got "
                                 f"{size!r}")
        self.in_features, self.out_features = in_features, out_features
        self._make_tile(in_features, out_features, synapse, generator, bias, backend, device,
                        periphery, seed, dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x Wᵀ + b``; records ``x`` and ``δ`` for the update during backward."""
        y = crossbar_mvm(x[None], self._anchor, self.tile.weight[None], [self])[0]
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"synapse={self.tile.device.name!r}")


class AnalogConv2d(AnalogLayer):
    """2-D convolution with its kernel on one crossbar, mapped by im2col (unfold).

    The tile has ``out_channels × (in_channels·kh·kw)`` cells; each output position of
    each sample is one MVM of its input patch (stride, padding as in
    :class:`torch.nn.Conv2d`; no dilation or groups), so the periphery sees, and
    counts, one read per output position per sample.  The update rule gets every
    (patch, error) pair as a row of ``last_x``/``last_d``: **one pulse-train update per
    output position** (AIHWKit's semantics), not one aggregated update per sample; the
    errors come from autograd, so their sum over the rows is the loss gradient.  The
    digital bias has one value per output channel.  Weights start uniform in
    ``±1/sqrt(in_channels·kh·kw)`` (torch's default bound).  Other arguments as in
    :class:`AnalogLinear`.

    Raises
    ------
    InputError
        For channels, kernel size or stride < 1, padding < 0, or an input whose channel
        count differs from ``in_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 synapse: LutDevice, generator: torch.Generator | None = None,
                 stride: int = 1, padding: int = 0, bias: bool = True,
                 backend: str = "auto", device: torch.device | str | None = None,
                 periphery: Periphery | None = None, *, seed: int | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        _check_synapse("AnalogConv2d", synapse)
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        for name, size, low in (("in_channels", in_channels, 1),
                                ("out_channels", out_channels, 1), ("kernel_size", kh, 1),
                                ("kernel_size", kw, 1), ("stride", stride, 1),
                                ("padding", padding, 0)):
            if isinstance(size, bool) or not isinstance(size, int) or size < low:
                raise InputError(f"AnalogConv2d: {name} must be an integer >= {low}, got "
                                 f"{size!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride, self.padding = stride, padding
        self.in_features, self.out_features = in_channels * kh * kw, out_channels
        self._make_tile(self.in_features, out_channels, synapse, generator, bias, backend,
                        device, periphery, seed, dtype)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """Output height and width for an ``h × w`` input."""
        kh, kw = self.kernel_size
        return ((h + 2 * self.padding - kh) // self.stride + 1,
                (w + 2 * self.padding - kw) // self.stride + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` → ``(B, out_channels, H', W')``; records the patches and
        errors for the update during backward."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise InputError(f"AnalogConv2d: input must be (batch, {self.in_channels}, H, "
                             f"W), got shape {tuple(x.shape)}")
        b = x.shape[0]
        ho, wo = self.output_size(x.shape[2], x.shape[3])
        cols = nn.functional.unfold(x, self.kernel_size, padding=self.padding,
                                    stride=self.stride)             # (B, C·kh·kw, L)
        patches = cols.transpose(1, 2).reshape(b * ho * wo, self.in_features)
        y = crossbar_mvm(patches[None], self._anchor, self.tile.weight[None], [self])[0]
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(b, ho * wo, self.out_channels).transpose(1, 2).reshape(
            b, self.out_channels, ho, wo)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
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


def split_sizes(size: int, max_size: int) -> list[int]:
    """Sizes of the tiles a dimension of ``size`` is split into with at most ``max_size``
    each (``max_size`` ≤ 0: one): as even as possible, the larger ones first — AIHWKit's
    ``TileModuleArray`` split (784 inputs at 512 → 392 + 392)."""
    if max_size <= 0 or size <= max_size:
        return [size]
    n = -(-size // max_size)
    base, extra = divmod(size, n)
    return [base + (i < extra) for i in range(n)]


class TiledAnalogLinear(nn.Module):
    """A linear layer mapped onto several tiles: ``y = Σ_k W_k x_k + b``.

    The inputs are split into chunks of at most ``max_inputs`` and the outputs into
    chunks of at most ``max_outputs`` (:func:`split_sizes`); each (input chunk, output
    chunk) block is an :class:`AnalogLinear` of its own (no bias) with its own read-out —
    noise and bound management, output noise and ADC bounds per tile — and its own pulse
    management (each tile's update sees only its inputs, so the abs-max scaling of
    ``x`` is per tile), as in AIHWKit's ``TileModuleArray`` (``mapping.max_input_size``
    / ``max_output_size``; the published study's default 512 split the 784-input layer
    into two tiles).  The partial outputs of the input chunks are summed digitally, then
    the digital bias is added.  Weights start uniform in ``±1/sqrt(in_features)`` of the
    whole layer.  Optimizers see the tiles as analog layers of their own
    (:func:`analog_layers`).
    """

    def __init__(self, in_features: int, out_features: int, synapse: LutDevice,
                 generator: torch.Generator, max_inputs: int = 0, max_outputs: int = 0,
                 backend: str = "auto", device: torch.device | str | None = None,
                 periphery: str = "ideal", periphery_options: dict[str, Any] | None = None,
                 periphery_seed: int = 0) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.in_sizes = split_sizes(in_features, max_inputs)
        self.out_sizes = split_sizes(out_features, max_outputs)
        where = _torch_device(device, None)
        self.tiles = nn.ModuleList()
        for i, n_in in enumerate(self.in_sizes):
            for o, n_out in enumerate(self.out_sizes):
                k = i * len(self.out_sizes) + o
                self.tiles.append(AnalogLinear(
                    n_in, n_out, synapse, generator=generator, bias=False, backend=backend,
                    device=where, periphery=make_periphery(
                        periphery, mix32_int(periphery_seed * GOLDEN + 104_729 * k),
                        periphery_options)))
        bound = 1.0 / math.sqrt(in_features)
        init = torch.rand(out_features, in_features, generator=generator) * 2 * bound - bound
        for (r0, r1, c0, c1), tile in zip(self.blocks(), self.tile_layers(), strict=True):
            tile.tile.set_weight(init[r0:r1, c0:c1].contiguous().to(where))
        self.bias = nn.Parameter(
            (torch.rand(out_features, generator=generator) * 2 * bound - bound).to(where))

    def tile_layers(self) -> list[AnalogLinear]:
        """The tiles, in the order of :meth:`blocks`."""
        return [t for t in self.tiles if isinstance(t, AnalogLinear)]

    def blocks(self) -> list[tuple[int, int, int, int]]:
        """(row start, row end, column start, column end) of each tile in the layer's
        ``out × in`` matrix, in the order of :attr:`tiles`."""
        out = []
        c0 = 0
        for n_in in self.in_sizes:
            r0 = 0
            for n_out in self.out_sizes:
                out.append((r0, r0 + n_out, c0, c0 + n_in))
                r0 += n_out
            c0 += n_in
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``Σ_k W_k x_k + b`` over the tiles."""
        y: torch.Tensor | None = None
        tiles = iter(self.tiles)
        for chunk in torch.split(x, self.in_sizes, dim=-1):
            chunk = chunk.contiguous()
            part = torch.cat([next(tiles)(chunk) for _ in self.out_sizes], dim=-1)
            y = part if y is None else y + part
        assert y is not None
        return y + self.bias

    def weight(self) -> torch.Tensor:
        """The layer's effective ``out × in`` weight matrix, assembled from its tiles."""
        w = torch.empty(self.out_features, self.in_features,
                        device=self.bias.device)
        for (r0, r1, c0, c1), tile in zip(self.blocks(), self.tile_layers(), strict=True):
            w[r0:r1, c0:c1] = tile.tile.weight
        return w

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"tiles={len(self.in_sizes)}×{len(self.out_sizes)}")


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def build_mlp(sizes: list[int], device: LutDevice | None, seed: int = 0,
              activation: str = "sigmoid", backend: str = "auto",
              torch_device: torch.device | str = "cpu",
              periphery: str = "ideal",
              periphery_options: dict[str, Any] | None = None,
              max_tile_inputs: int = 0, max_tile_outputs: int = 0) -> nn.Sequential:
    """MLP ``sizes[0] → … → sizes[-1]`` with log-softmax output.

    With ``device=None`` the layers are ``nn.Linear`` (floating-point baseline),
    initialised from the same generator so both start alike (exactly so when the device
    has no d2d variation, whose draws come first).  ``periphery``: a registered
    :class:`~pulsetrain.crossbar.mvm.Periphery` name, one instance per analog tile.
    ``max_tile_inputs``/``max_tile_outputs`` > 0 map a larger layer onto several tiles
    (:class:`TiledAnalogLinear`); 0: one tile per layer.
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
        elif (len(split_sizes(n_in, max_tile_inputs)) > 1
              or len(split_sizes(n_out, max_tile_outputs)) > 1):
            layers.append(TiledAnalogLinear(
                n_in, n_out, device, gen, max_tile_inputs, max_tile_outputs, backend,
                torch_device, periphery, periphery_options,
                mix32_int(seed * GOLDEN + 7919 * k)))
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


def analog_layers(model: nn.Module) -> list[AnalogLayer]:
    """The analog layers of a model, in order (a :class:`TiledAnalogLinear` contributes
    each of its tiles)."""
    return [m for m in model.modules() if isinstance(m, AnalogLayer)]


def analog_layer_index(model: nn.Module) -> list[int]:
    """For each of :func:`analog_layers`, the index of the network layer it belongs to
    (counting analog layers only: a :class:`TiledAnalogLinear` repeats its index once per
    tile)."""
    inner = {id(t) for m in model.modules() if isinstance(m, TiledAnalogLinear)
             for t in m.tile_layers()}
    out: list[int] = []
    k = 0
    for module in model.modules():
        if isinstance(module, TiledAnalogLinear):
            out += [k] * len(module.tile_layers())
            k += 1
        elif isinstance(module, AnalogLayer) and id(module) not in inner:
            out.append(k)
            k += 1
    return out
