"""Non-ideal analog read-out: DAC/ADC quantisation, bounds, noise, noise and bound management.

The semantics are those of IBM AIHWKit 1.1.0's ``IOParameters`` on its CPU path (read
from its source to understand them; this is our own implementation), per sample:

forward ``y = W x``::

    α = max_j |x_j|            (noise management ``abs-max``; ``none``: α = 1; ``constant``:
                                 α = nm_thres; capped at nm_thres > 0); α ≤ 0 → y = 0
    r = 1
    repeat:                     (bound management ``iterative``; ``none``: once)
        x̃ = clip(Δ_in·round(x/(α r)/Δ_in), ±inp_bound) + inp_noise·ξ
        y = W x̃ + w_noise·‖x̃‖₂·ξ   (w_noise_type ``additive-constant``)
        y = clip(Δ_out·round((y + out_noise·ξ)/Δ_out), ±out_bound)
        stop unless some |y_i| > out_bound before clipping; else r = 2r, while
            r ≤ max_bm_factor and r·Δ_in ≤ max_bm_res
    y_out = y · out_scale · α · r

``round`` is round-half-to-even (``*_sto_round``: stochastic); ``Δ = res·2·bound`` (a
``res`` > 1 counts steps: ``res = 1/res``; ``res`` ≤ 0: no quantisation); noises are
Gaussian in normalised units.  Only the samples that clipped are re-run, with fresh
noise.  The backward pass ``δx = Wᵀ δ`` does the same with the backward parameters and
never bound management (as AIHWKit forces).  ``mask_backward_at_bound`` reproduces
AIHWKit's gradient mask: errors of outputs whose forward value reached
``±0.999·out_scale·out_bound`` are zeroed before the backward MVM (the update still
sees the unmasked errors).

Random numbers come from the periphery's own generator (seeded per run and layer), so a
run computes the same in a stack as alone, and resumes exactly (its state is
checkpointed with the tile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from pulsetrain.crossbar.mvm import Periphery, register_periphery

_kernels: Any
try:  # numba is optional: the torch operations below are always there
    from pulsetrain.crossbar import _numba_readout as _kernels
except ImportError:  # pragma: no cover - depends on the environment
    _kernels = None


class IOParams(BaseModel):
    """One direction's read-out parameters (AIHWKit 1.1.0 names and defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    is_perfect: bool = False
    inp_bound: float = Field(1.0, gt=0)
    inp_res: float = 1 / 126
    inp_sto_round: bool = False
    inp_noise: float = Field(0.0, ge=0)
    out_bound: float = 12.0
    out_res: float = 1 / 510
    out_sto_round: bool = False
    out_noise: float = Field(0.06, ge=0)
    out_scale: float = Field(1.0, gt=0)
    w_noise: float = Field(0.0, ge=0)
    w_noise_type: Literal["none", "additive-constant"] = "none"
    noise_management: Literal["abs-max", "none", "constant"] = "abs-max"
    bound_management: Literal["iterative", "none"] = "iterative"
    nm_thres: float = Field(0.0, ge=0)
    max_bm_factor: float = Field(1000.0, ge=1)
    max_bm_res: float = Field(0.25, gt=0)
    bm_test_negative_bound: bool = True

    @staticmethod
    def _step(res: float, bound: float) -> float:
        if res <= 0 or bound == float("inf"):
            return 0.0
        if res > 1:
            res = 1 / res
        return res * 2 * bound

    @property
    def in_step(self) -> float:
        """DAC step Δ_in (0: not quantised)."""
        return self._step(self.inp_res, self.inp_bound)

    @property
    def out_limit(self) -> float:
        """ADC bound (inf when ``out_bound`` ≤ 0)."""
        return self.out_bound if self.out_bound > 0 else float("inf")

    @property
    def out_step(self) -> float:
        """ADC step Δ_out (0: not quantised)."""
        return self._step(self.out_res, self.out_limit)


def _quantise_(v: torch.Tensor, step: float, stochastic: bool,
               gen: torch.Generator) -> torch.Tensor:
    """``step·round(v/step)`` in place (``v`` is a temporary of the read-out)."""
    if step <= 0:
        return v
    v.div_(step)
    if stochastic:
        v.add_(torch.rand(v.shape, generator=gen, dtype=v.dtype, device=v.device)).sub_(0.5)
    return v.round_().mul_(step)


Rows = TypeVar("Rows", torch.Tensor, np.ndarray)
"""Sample indices as either read-out path keeps them (both index with a bool mask)."""


def _re_read_clipped(re_read: Callable[[Rows, float], Any], todo: Rows, p: IOParams) -> int:
    """Iterative bound management: ``re_read(todo, r)`` reads the samples ``todo`` again
    at ``r`` times their input scale (and stores their outputs and scale) and returns
    which of them clip still; ``r`` doubles while some clip and the limits allow
    (``max_bm_factor``, ``max_bm_res``); returns the sample reads added."""
    limit_res = p.max_bm_res / p.in_step if p.in_step > 0 else float("inf")
    passes = 0
    r = 1.0
    while len(todo) and r <= p.max_bm_factor and r <= limit_res:
        r *= 2  # re-run only the samples that clipped, at half the input again
        again = re_read(todo, r)
        passes += len(todo)
        todo = todo[again]
    return passes


MASK_FRACTION = 0.999
"""The gradient mask acts on outputs at or beyond this fraction of ``out_scale·out_bound``
(AIHWKit's)."""

_NM_MODE = {"abs-max": 0, "constant": 1}
"""Noise management as the compiled read-out's integer code (2: none)."""

_NO_MASK = torch.zeros(0, 0, dtype=torch.bool)
"""Stands for "no mask" in the compiled read-out's calls."""


@dataclass(frozen=True)
class _Compiled:
    """One direction's read-out parameters as the compiled kernels take them (float32),
    worked out once per periphery instead of on every read."""

    ok: bool
    """numba is present and implements these options (not stochastic rounding, input
    noise, weight noise, nor a perfect read-out)."""
    mode: int
    nm_thres: np.float32
    d_in: np.float32
    inp_bound: np.float32
    bound: np.float32
    sigma: np.float32
    d_out: np.float32
    negative: bool
    out_scale: np.float32
    mask_bound: np.float32
    managed: bool
    """Bound management can act (iterative, finite ``out_bound``)."""

    @classmethod
    def of(cls, p: IOParams) -> _Compiled:
        f32 = np.float32
        ok = (_kernels is not None and not p.is_perfect and not p.inp_sto_round
              and not p.out_sto_round and p.inp_noise == 0
              and not (p.w_noise > 0 and p.w_noise_type == "additive-constant"))
        return cls(ok, _NM_MODE.get(p.noise_management, 2), f32(p.nm_thres), f32(p.in_step),
                   f32(p.inp_bound), f32(p.out_limit), f32(p.out_noise), f32(p.out_step),
                   p.bm_test_negative_bound, f32(p.out_scale),
                   f32(MASK_FRACTION * p.out_scale * p.out_bound),
                   p.bound_management != "none" and p.out_limit != float("inf"))

    def applies(self, x: torch.Tensor) -> bool:
        """Whether the compiled read-out reads ``x`` (float32 on the CPU)."""
        return self.ok and x.device.type == "cpu" and x.dtype == torch.float32


class IOPeriphery(Periphery):
    """Noisy, quantised, bounded MVMs with noise and bound management (module docs).

    Parameters
    ----------
    forward, backward
        Read-out parameters of each direction (default: AIHWKit 1.1.0's defaults).
    mask_backward_at_bound
        Zero the errors of outputs that reached the forward bound (AIHWKit does).
    seed
        Seeds the periphery's noise (one stream per run and layer).
    """

    name: ClassVar[str] = "io"

    def __init__(self, forward: IOParams | None = None, backward: IOParams | None = None,
                 mask_backward_at_bound: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.fwd = forward or IOParams()
        self.bwd = backward or IOParams()
        self.mask_backward_at_bound = mask_backward_at_bound
        self.gen = torch.Generator().manual_seed(int(seed) & 0xFFFF_FFFF_FFFF)
        self._mask: torch.Tensor | None = None
        self._compiled_cache: dict[int, tuple[IOParams, _Compiled]] = {}

    def _compiled(self, p: IOParams) -> _Compiled:
        """``p`` as the compiled read-out takes it, worked out once per ``IOParams``
        object (frozen, so its values cannot change behind the cache)."""
        hit = self._compiled_cache.get(id(p))
        if hit is None or hit[0] is not p:
            if len(self._compiled_cache) > 8:  # parameters swapped many times: start over
                self._compiled_cache.clear()
            hit = self._compiled_cache[id(p)] = (p, _Compiled.of(p))
        return hit[1]

    @property
    def is_ideal(self) -> bool:
        return False

    # -- one direction ------------------------------------------------------------------
    def _mvm(self, x: torch.Tensor, matrix: torch.Tensor, p: IOParams, managed: bool,
             transposed: bool) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``x @ matrix`` through the read-out; returns (outputs, per-sample input scale
        α·r, conversion passes summed over samples)."""
        if p.is_perfect:
            self.count_inputs(x, matrix.shape[1], transposed)
            return x @ matrix, torch.ones(x.shape[0], dtype=x.dtype), x.shape[0]
        c = self._compiled(p)
        if c.applies(x):
            out, scale, passes, _ = self._mvm_compiled(x, matrix, p, c, managed, transposed)
            return out, scale, passes
        gen = self.gen
        if p.noise_management == "abs-max":
            alpha = x.abs().amax(dim=1)
            if p.nm_thres > 0:
                alpha = torch.clamp(alpha, max=p.nm_thres)
        elif p.noise_management == "constant":
            alpha = torch.full((x.shape[0],), p.nm_thres or 1.0, dtype=x.dtype)
        else:
            alpha = torch.ones(x.shape[0], dtype=x.dtype)
        zero = alpha <= 0
        safe = torch.where(zero, torch.ones_like(alpha), alpha)
        bound, d_in, d_out = p.out_limit, p.in_step, p.out_step
        none_over = torch.zeros(0, dtype=torch.bool)
        check = managed and p.bound_management != "none" and bound != float("inf")

        def one_pass(xin: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            xs = xin / s[:, None]
            xs = _quantise_(xs, d_in, p.inp_sto_round, gen).clamp_(-p.inp_bound, p.inp_bound)
            if p.inp_noise > 0:
                xs = xs + p.inp_noise * torch.randn(xs.shape, generator=gen, dtype=xs.dtype)
            y = xs @ matrix
            if p.w_noise > 0 and p.w_noise_type == "additive-constant":
                y = y + p.w_noise * xs.norm(dim=1, keepdim=True) * torch.randn(
                    y.shape, generator=gen, dtype=y.dtype)
            if p.out_noise > 0:
                y.add_(torch.randn(y.shape, generator=gen, dtype=y.dtype).mul_(p.out_noise))
            y = _quantise_(y, d_out, p.out_sto_round, gen)
            self.count(xs, matrix.shape[1], transposed)
            if not check:
                return y.clamp_(-bound, bound), none_over
            if p.bm_test_negative_bound:
                over = y.abs().amax(dim=1) > bound
            else:
                over = y.amax(dim=1) > bound
            return y.clamp_(-bound, bound), over

        out, over = one_pass(x, safe)  # every sample once (all-zero ones read 0 below)
        scale = safe.clone()
        passes = x.shape[0]

        def re_read(todo: torch.Tensor, r: float) -> torch.Tensor:
            s = safe[todo] * r
            out[todo], again = one_pass(x[todo], s)
            scale[todo] = s
            return again

        if check:
            passes += _re_read_clipped(re_read, torch.nonzero(over & ~zero).flatten(), p)
        scale = torch.where(zero, torch.zeros_like(scale), scale)
        return out * (p.out_scale * scale)[:, None], scale, passes

    def _mvm_compiled(self, x: torch.Tensor, matrix: torch.Tensor, p: IOParams,
                      c: _Compiled, managed: bool, transposed: bool, want_mask: bool = False,
                      zeroed: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, int, torch.Tensor | None]:
        """:meth:`_mvm` with its elementwise work in compiled loops
        (:mod:`pulsetrain.crossbar._numba_readout`): the same float32 operations in the
        same order, the same draws from the generator — the same bits, at a fraction of
        the per-call cost of a dozen small torch operations.  Two compiled calls per read
        (scaling with the DAC; the ADC with the rescaling and, with ``want_mask``, the
        gradient mask, returned fourth) unless bound management re-reads samples.
        ``zeroed`` (same shape as ``x``): inputs read as 0 (the gradient mask)."""
        k = _kernels
        x = x.detach().contiguous()
        xs = torch.empty_like(x)
        use_zeroed = zeroed is not None
        x_np = x.numpy()
        zeroed_np = (zeroed if zeroed is not None else _NO_MASK).numpy()
        safe_np, zero_np = k.scale_and_dac(x_np, zeroed_np, use_zeroed, c.mode, c.nm_thres,
                                           c.d_in, c.inp_bound, xs.numpy())
        check = managed and c.managed
        y = xs @ matrix
        self.count(xs, matrix.shape[1], transposed)
        noise = (torch.randn(y.shape, generator=self.gen, dtype=y.dtype)
                 if c.sigma > 0 else y)
        n = y.shape[0]
        over = np.empty(n, np.bool_)
        final = np.empty(n, np.float32)
        mask = torch.empty(y.shape, dtype=torch.bool) if want_mask else _NO_MASK
        mask_np = mask.numpy()
        y_np = y.numpy()
        some = k.adc_and_rescale(y_np, noise.numpy(), c.sigma, c.d_out, c.bound, c.negative,
                                 check, safe_np, zero_np, c.out_scale, c.mask_bound,
                                 want_mask, over, final, mask_np)
        passes = n
        if some:  # bound management: two compiled calls around each pass's product
            scale_np = safe_np.copy()

            def re_read(todo: np.ndarray, r: float) -> np.ndarray:
                xq = torch.empty((todo.size, x.shape[1]), dtype=x.dtype)
                k.dac_rows(x_np, todo, safe_np, np.float32(r), c.d_in, c.inp_bound,
                           zeroed_np, use_zeroed, xq.numpy(), scale_np)
                yy = xq @ matrix
                nz = (torch.randn(yy.shape, generator=self.gen, dtype=yy.dtype)
                      if c.sigma > 0 else yy)
                again = np.empty(todo.size, np.bool_)
                k.adc_rows(yy.numpy(), nz.numpy(), c.sigma, c.d_out, c.bound, c.negative,
                           again, y_np, todo)
                self.count(xq, matrix.shape[1], transposed)
                return again

            passes += _re_read_clipped(re_read, np.flatnonzero(over & ~zero_np), p)
            k.finish_rows(y_np, np.flatnonzero(over), scale_np, zero_np, c.out_scale,
                          c.mask_bound, want_mask, final, mask_np)
        return y, torch.from_numpy(final), passes, (mask if want_mask else None)

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        want = self.mask_backward_at_bound and self.fwd.out_bound > 0 and self.training
        c = self._compiled(self.fwd)
        if c.applies(x):
            out, _, _, self._mask = self._mvm_compiled(x, weight.T, self.fwd, c, True, False,
                                                        want)
            return out
        out, _, _ = self._mvm(x, weight.T, self.fwd, managed=True, transposed=False)
        if want:
            b = float(c.mask_bound)  # the same float32 bound as the compiled mask's
            self._mask = (out >= b) | (out <= -b)
        return out

    def backward(self, d: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        mask = self._mask if self._mask is not None and self._mask.shape == d.shape else None
        self._mask = None
        c = self._compiled(self.bwd)
        if c.applies(d):
            out, _, _, _ = self._mvm_compiled(d, weight, self.bwd, c, False, True,
                                              zeroed=mask)
            return out
        if mask is not None:
            d = d.masked_fill(mask, 0.0)
        out, _, _ = self._mvm(d, weight, self.bwd, managed=False, transposed=True)
        return out

    @classmethod
    def create(cls, seed: int = 0, options: dict[str, Any] | None = None) -> IOPeriphery:
        """From config options ``{forward: {...}, backward: {...},
        mask_backward_at_bound: bool}`` (each field overrides the class's default)."""
        opts = dict(options or {})
        unknown = set(opts) - {"forward", "backward", "mask_backward_at_bound"}
        if unknown:
            raise ValueError(f"unknown periphery option(s) {', '.join(sorted(unknown))}; "
                             "expected forward, backward, mask_backward_at_bound")
        for key in ("forward", "backward"):
            if not isinstance(opts.get(key, {}), dict):
                raise ValueError(f"{key}: expected a mapping of read-out fields, got "
                                 f"{opts[key]!r}")
        base = cls()
        return cls(IOParams.model_validate({**base.fwd.model_dump(), **opts.get("forward", {})}),
                   IOParams.model_validate({**base.bwd.model_dump(),
                                            **opts.get("backward", {})}),
                   bool(opts.get("mask_backward_at_bound", base.mask_backward_at_bound)),
                   seed)

    # -- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "generator": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "generator" in state:
            self.gen.set_state(state["generator"])


@register_periphery
class AihwkitDefault(IOPeriphery):
    """AIHWKit 1.1.0's default training read-out (what the published study used):
    7-bit DAC, 9-bit ADC at ±12, output noise 0.06, abs-max noise management, iterative
    bound management forward, none backward, and the backward gradient mask."""

    name: ClassVar[str] = "aihwkit-default"

    def __init__(self, forward: IOParams | None = None, backward: IOParams | None = None,
                 mask_backward_at_bound: bool = True, seed: int = 0) -> None:
        super().__init__(forward or IOParams(), backward or IOParams(), mask_backward_at_bound,
                         seed)
