"""Analog matrix-vector multiplications: the one MVM path, for R runs at once.

Forward ``y[r] = x[r] W[r]ᵀ`` and backward ``δx[r] = δ[r] W[r]`` of one layer of R
runs (a single run is R = 1).  Every layer's MVMs — a run trained alone, each run of a
stack — go through :class:`CrossbarMVM`, so the periphery (noise, quantisation, bounds
of the analog read-out) hooks in here and nowhere else:

* R = 1, or ``exact`` stacks, multiply each run's matrix on its own (``mm``): a run in
  such a stack computes exactly what it computes alone;
* batched stacks use one ``bmm`` for all runs (another summation order: float32
  rounding, ~1e-6 relative).

A :class:`Periphery` transforms the forward outputs and the backward outputs of each run;
:class:`Ideal` (the default) leaves them untouched.  A non-ideality is one subclass plus
:func:`register_periphery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch

from pulsetrain.plugins import Registry


@dataclass
class ReadStats:
    """What reading the array cost so far (training passes only, not evaluation).

    ``dac``/``adc``: conversions.  ``array_sum`` (siemens) bounds Σ over MVM samples and
    passes of Σ_j v_j² Σ_i G_ij from above by taking every input at full scale (v = 1):
    the number of sample reads times the total conductance of the devices read (device
    and reference arrays), evaluated when the counters are read (each epoch's end).  The
    array energy of one sample's read is at most ``V_read² · t_read · Σ G``.  (Summing
    the exact Σ v² per read costs a third of an ideal training step; the array energy
    is four orders of magnitude below the conversions', docs/energy.md.)
    """

    dac: int = 0
    adc: int = 0
    array_sum: float = 0.0


class Periphery:
    """What the array's read-out does to one run's MVMs (one instance per tile).

    Subclasses override :meth:`forward` and/or :meth:`backward` (they compute the
    product themselves).  :meth:`count` adds to :attr:`stats`; ``tile`` (set by the tile)
    gives the conductances for the array-energy statistic.
    """

    name: ClassVar[str] = "ideal"

    def __init__(self) -> None:
        self._dac = 0
        self._adc = 0
        self._array = 0.0
        self._pending = 0  # sample reads not yet multiplied by the conductance total
        self.tile: Any = None
        self.training = True
        """Whether reads are counted (training); the layer sets it with ``train()``/``eval()``."""

    @property
    def is_ideal(self) -> bool:
        """Whether the MVM is the exact product (the MVM then batches it and counts)."""
        return type(self).forward is Periphery.forward and \
            type(self).backward is Periphery.backward

    @property
    def stats(self) -> ReadStats:
        """The reads counted so far (the pending sample reads priced at the present
        conductances)."""
        if self._pending:
            total = self._conductance_total()
            if total is not None:
                self._array += self._pending * total
            self._pending = 0
        return ReadStats(self._dac, self._adc, self._array)

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Forward outputs (batch × out) of inputs ``x`` (batch × in) through ``weight``;
        counts the read (:meth:`count_inputs`)."""
        self.count_inputs(x, weight.shape[0])
        return x @ weight.T

    def backward(self, d: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Backward outputs (batch × in) of errors ``d`` (batch × out) through ``weight``ᵀ."""
        self.count_inputs(d, weight.shape[1], transposed=True)
        return d @ weight

    def count_inputs(self, x: torch.Tensor, n_out: int, transposed: bool = False) -> None:
        """:meth:`count` of a read of inputs ``x`` (samples × inputs)."""
        self.count(x, n_out, transposed)

    def count(self, levels: torch.Tensor, n_out: int, transposed: bool = False) -> None:
        """Record one pass of ``levels`` (samples × inputs) giving ``n_out`` outputs each;
        only in training mode; integers only (no tensor work on the training step)."""
        if not self.training:
            return
        samples, inputs = levels.shape[0], levels.shape[1]
        self._dac += samples * inputs
        self._adc += samples * n_out
        self._pending += samples

    def _conductance_total(self) -> float | None:
        tile = self.tile
        mapping = getattr(getattr(tile, "device", None), "mapping", None)
        if tile is None or mapping is None:
            return None
        states = [tile.w] + ([tile.ref] if tile.has_reference else [])
        spw = mapping.siemens_per_weight
        total = 0.0
        for w in states:  # Σ G = n·(g_min − w_min·spw) + spw·Σ w
            total += w.numel() * (mapping.g_min_s - mapping.w_min * spw) + spw * float(w.sum())
        return total

    @classmethod
    def create(cls, seed: int = 0, options: dict[str, Any] | None = None) -> Periphery:
        """An instance for one tile of a run (``seed``: the run's and layer's; ``options``:
        the config's ``periphery_options``)."""
        if options:
            raise ValueError(f"periphery {cls.name!r} takes no options, got "
                             f"{', '.join(sorted(options))}")
        return cls()

    def state_dict(self) -> dict[str, Any]:
        """Counters (and, in subclasses, random state) for checkpoints."""
        stats = self.stats
        return {"dac": stats.dac, "adc": stats.adc, "array_sum": stats.array_sum}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        self._dac = int(state.get("dac", 0))
        self._adc = int(state.get("adc", 0))
        self._array = float(state.get("array_sum", 0.0))
        self._pending = 0


class Ideal(Periphery):
    """Ideal MVMs (no noise, no quantisation, no bounds)."""

    name = "ideal"


PERIPHERY: Registry[type[Periphery]] = Registry("periphery")
"""Registered periphery models by name (``periphery:`` in configs)."""
PERIPHERY.register(Ideal)
register_periphery = PERIPHERY.register
"""Register a :class:`Periphery` subclass under its ``name`` (usable as a decorator)."""


def make_periphery(name: str, seed: int = 0,
                   options: dict[str, Any] | None = None) -> Periphery:
    """An instance of the registered periphery ``name`` for one tile (``ValueError``
    listing the registered names for an unknown one, or for bad options)."""
    import pulsetrain.crossbar.periphery  # noqa: F401  (registers the built-in read-outs)

    return PERIPHERY[name].create(seed, options)


class HasPeriphery(Protocol):
    """Anything with a periphery (a tile, a layer)."""

    @property
    def periphery(self) -> Periphery: ...


def _stacked(parts: list[torch.Tensor]) -> torch.Tensor:
    """The runs' outputs as one (R, …) tensor; a run alone is a view, not a copy."""
    return parts[0].unsqueeze(0) if len(parts) == 1 else torch.stack(parts)


def _product(a: torch.Tensor, b: torch.Tensor, batched: bool) -> torch.Tensor:
    """``a[r] @ b[r]`` for every r: one ``bmm``, or a matrix product per run."""
    if batched:
        return torch.bmm(a, b)
    return _stacked([a[r] @ b[r] for r in range(a.shape[0])])


def forward_outputs(x: torch.Tensor, weight: torch.Tensor, owners: Sequence[HasPeriphery],
                    batched: bool = False) -> torch.Tensor:
    """Forward MVM outputs of R runs; ``x`` (R, batch, in), ``weight`` (R, out, in).  All
    ideal: one exact product (``bmm`` or per run) and the reads counted; else each run's
    periphery computes its own."""
    if all(o.periphery.is_ideal for o in owners):
        for r, o in enumerate(owners):
            o.periphery.count_inputs(x[r], weight.shape[1])
        return _product(x, weight.transpose(1, 2), batched)
    return _stacked([o.periphery.forward(x[r], weight[r]) for r, o in enumerate(owners)])


def backward_outputs(d: torch.Tensor, weight: torch.Tensor, owners: Sequence[HasPeriphery],
                     batched: bool = False) -> torch.Tensor:
    """Backward MVM outputs of R runs; ``d`` (R, batch, out)."""
    if all(o.periphery.is_ideal for o in owners):
        for r, o in enumerate(owners):
            o.periphery.count_inputs(d[r], weight.shape[2], transposed=True)
        return _product(d, weight, batched)
    return _stacked([o.periphery.backward(d[r], weight[r]) for r, o in enumerate(owners)])


class MVMLayer(HasPeriphery, Protocol):
    """What the autograd MVM needs of a layer: where to leave ``x`` and ``δ`` for the
    update rule, and its periphery."""

    last_x: torch.Tensor | None
    last_d: torch.Tensor | None


class CrossbarMVM(torch.autograd.Function):
    """Autograd function of R runs' layer: ``y = x Wᵀ``; the backward pass leaves each
    run's ``x`` and ``δ`` on its layer (``last_x``, ``last_d``) for the update rule.

    ``apply(x, anchor, weight, layers, batched)`` with ``x`` (R, batch, in), ``weight``
    (R, out, in), ``anchor`` a parameter that makes autograd call the backward pass.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, anchor: torch.Tensor,  # type: ignore[override]
                weight: torch.Tensor, layers: Sequence[MVMLayer],
                batched: bool) -> torch.Tensor:
        ctx.layers = layers
        ctx.batched = batched
        ctx.save_for_backward(x, weight)
        return forward_outputs(x, weight, layers, batched)

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor  # type: ignore[override]
                 ) -> tuple[torch.Tensor | None, torch.Tensor, None, None, None]:
        x, weight = ctx.saved_tensors
        for r, layer in enumerate(ctx.layers):
            layer.last_x, layer.last_d = x[r].detach(), grad_y[r].detach()
        # the first layer's errors go nowhere: no backward read (nor its cost) then
        dx = (backward_outputs(grad_y, weight, ctx.layers, ctx.batched)
              if ctx.needs_input_grad[0] else None)
        return dx, torch.zeros(0, device=grad_y.device), None, None, None


def crossbar_mvm(x: torch.Tensor, anchor: torch.Tensor, weight: torch.Tensor,
                 layers: Sequence[MVMLayer], batched: bool = False) -> torch.Tensor:
    """``CrossbarMVM.apply`` with types (see :class:`CrossbarMVM`)."""
    y: torch.Tensor = CrossbarMVM.apply(x, anchor, weight, layers, batched)  # type: ignore[no-untyped-call]
    return y
