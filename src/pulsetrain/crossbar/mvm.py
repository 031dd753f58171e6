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
from typing import Any, ClassVar, Protocol

import torch

from pulsetrain.plugins import Registry


class Periphery:
    """What the array's read-out does to the ideal MVM results of one run.

    Subclasses override :meth:`forward` and/or :meth:`backward`; both receive the
    ideal outputs, the inputs and the effective weights, and return the outputs.
    """

    name: ClassVar[str] = "ideal"

    @property
    def is_ideal(self) -> bool:
        """Whether outputs pass through unchanged (lets the MVM skip the per-run loop)."""
        return type(self).forward is Periphery.forward and \
            type(self).backward is Periphery.backward

    def forward(self, y: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Forward outputs ``y`` (batch × out) of inputs ``x`` through ``weight``."""
        return y

    def backward(self, dx: torch.Tensor, d: torch.Tensor, weight: torch.Tensor
                 ) -> torch.Tensor:
        """Backward outputs ``dx`` (batch × in) of errors ``d`` through ``weight``ᵀ."""
        return dx


class Ideal(Periphery):
    """Ideal MVMs (no noise, no quantisation, no bounds)."""

    name = "ideal"


PERIPHERY: Registry[type[Periphery]] = Registry("periphery")
"""Registered periphery models by name (``periphery:`` in configs)."""
PERIPHERY.register(Ideal)
register_periphery = PERIPHERY.register
"""Register a :class:`Periphery` subclass under its ``name`` (usable as a decorator)."""


def make_periphery(name: str) -> Periphery:
    """An instance of the registered periphery ``name`` (``ValueError`` listing the
    registered names for an unknown one)."""
    return PERIPHERY[name]()


class HasPeriphery(Protocol):
    """Anything with a periphery (a tile, a layer)."""

    @property
    def periphery(self) -> Periphery: ...


def _product(a: torch.Tensor, b: torch.Tensor, batched: bool) -> torch.Tensor:
    """``a[r] @ b[r]`` for every r: one ``bmm``, or a matrix product per run."""
    if batched:
        return torch.bmm(a, b)
    return torch.stack([a[r] @ b[r] for r in range(a.shape[0])])


def forward_outputs(x: torch.Tensor, weight: torch.Tensor, owners: Sequence[HasPeriphery],
                    batched: bool = False) -> torch.Tensor:
    """Forward MVM outputs ``y[r] = periphery_r(x[r] W[r]ᵀ)``; ``x`` (R, batch, in),
    ``weight`` (R, out, in)."""
    y = _product(x, weight.transpose(1, 2), batched)
    if all(o.periphery.is_ideal for o in owners):
        return y
    return torch.stack([o.periphery.forward(y[r], x[r], weight[r])
                        for r, o in enumerate(owners)])


def backward_outputs(d: torch.Tensor, weight: torch.Tensor, owners: Sequence[HasPeriphery],
                     batched: bool = False) -> torch.Tensor:
    """Backward MVM outputs ``δx[r] = periphery_r(δ[r] W[r])``; ``d`` (R, batch, out)."""
    dx = _product(d, weight, batched)
    if all(o.periphery.is_ideal for o in owners):
        return dx
    return torch.stack([o.periphery.backward(dx[r], d[r], weight[r])
                        for r, o in enumerate(owners)])


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
                 ) -> tuple[torch.Tensor, torch.Tensor, None, None, None]:
        x, weight = ctx.saved_tensors
        for r, layer in enumerate(ctx.layers):
            layer.last_x, layer.last_d = x[r].detach(), grad_y[r].detach()
        return (backward_outputs(grad_y, weight, ctx.layers, ctx.batched),
                torch.zeros(0, device=grad_y.device), None, None, None)


def crossbar_mvm(x: torch.Tensor, anchor: torch.Tensor, weight: torch.Tensor,
                 layers: Sequence[MVMLayer], batched: bool = False) -> torch.Tensor:
    """``CrossbarMVM.apply`` with types (see :class:`CrossbarMVM`)."""
    y: torch.Tensor = CrossbarMVM.apply(x, anchor, weight, layers, batched)  # type: ignore[no-untyped-call]
    return y
