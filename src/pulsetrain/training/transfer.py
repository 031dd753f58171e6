"""The Tiki-Taka family: a fast array A takes the pulsed gradient, a slow array C (the
weights the network uses) receives what A accumulated, one column at a time.

======================  ===================================================================
rule                    per transfer (column ``k`` of A read, ``c_k`` its chopper sign)
======================  ===================================================================
``ttv2`` (TTv2)         ``H_k += s·A_k``; pulse C where ``|H_k| ≥ θ`` (Gokmen 2021)
``c-ttv2`` (chopped)    A's input is chopped (``x_j·c_j``); ``H_k += s·c_k·A_k``
``agad`` (AGAD)         ``H_k += s·c_k·(A_k − r_k)``, ``r_k`` a running mean of the reads
                        of A_k taken at the last chopper switch (Rasch et al. 2024): A's
                        offset and symmetry point cancel
======================  ===================================================================

Per mini-batch of ``B`` samples and per layer (vectorised over the matrix), following
AIHWKit 1.1.0's presets (``ChoppedTransferCompound``, ``DynamicTransferCompound``) except
where noted:

1. **Fast update.**  A gets a stochastic-pulse SGD update (``bl_fast`` = 5 slots, update
   and BL management) of the chopped inputs: ``ΔA ≈ −η_A·Σ_b δ_b (c ⊙ x_b)ᵀ``.  ``η_A``
   never follows the schedule: ``fast_lr`` (ttv2: 1.0), or with ``auto_scale``
   (c-ttv2, agad: ``fast_lr`` 0.1) ``fast_lr·bl_fast·dw_A/(m_x·m_d)``, ``m_x``/``m_d``
   running means of each sample's ``max|x|``/``max|δ|``.  (AIHWKit sets ``η_A`` per
   sample; here once per batch, after the batch's samples entered the means.)
2. **Transfers.**  Every ``transfer_every`` samples one column of A is read, in order,
   wrapping: ``B`` reads per batch by default, after the batch's fast update (AIHWKit
   interleaves each read with the sample before it).  A read is A's read-out (ideal:
   exact) plus Gaussian noise ``read_noise`` (0.06), rounded to ``read_step`` (24/510)
   and clipped at ``±read_bound`` (12): AIHWKit's default IO on the transfer read.
3. **Buffer.**  ``H_k += c_k·y·transfer_lr·lr/(buffer_granularity·dw_A)`` (``lr``: the
   scheduled learning rate, ``dw_A``: A's granularity) — ``H`` counts steps.  Where
   ``|H| ≥ 1``: ``n = sign(H)·min(⌊|H|⌋, max_pulses)`` pulses (at most one by default)
   go to C's column, and the buffer keeps ``momentum·H`` (``forget_buffer``, momentum 0:
   it is cleared) or ``H − n·(1 − momentum)``.
4. **Choppers.**  After its read, column ``k``'s chopper flips with probability
   ``in_chop_prob`` (``c-ttv2``: 0.1); for AGAD all columns flip at the last read of
   every ``max(2, ⌈1/in_chop_prob⌉)``-th sweep (10 sweeps).
5. **AGAD's reference.**  Each read also enters an exponential mean of that column's
   reads (weight ``min(tail_weightening/period, 1)`` = 0.5 on the newest); at a flip the
   mean becomes the column's reference ``r_k``, and the buffer takes
   ``c_k·(y − r_k)``.  C is written only after the first period plus one sweep
   (before that, buffer crossings are cleared unwritten, as in AIHWKit).

A starts at 0 (its devices' zero state); ``a_reference: sp`` instead sets A's
references to each device's symmetry point (estimated by alternating pulses; the cost
is counted as SP shifting's) so that A's zero is its SP.  The forward and backward
passes use C only (AIHWKit's ``gamma = 0``).

The counts: pulses on A and on C per layer and direction, column reads of A (one read:
one active input, ``out`` conversions), buffer operations (one read-modify-write per
buffer entry of each transferred column) — see :meth:`TransferSGD.epoch_metrics`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from pulsetrain.crossbar.kernels import check_bl
from pulsetrain.crossbar.mvm import make_periphery
from pulsetrain.crossbar.noise import mix32_int
from pulsetrain.crossbar.symmetry import SymmetryProgressCallback, estimate_symmetry_points
from pulsetrain.crossbar.tile import AnalogTile
from pulsetrain.training.algorithms import (
    AnalogOptimizer,
    SymmetryShiftReport,
    tag_layer_progress,
)
from pulsetrain.training.layers import AnalogLayer


class TransferSettings(BaseModel):
    """Options of the transfer rules (the ``transfer:`` mapping of a training config);
    ``None`` takes the rule's preset (:attr:`TransferSGD.preset`)."""

    model_config = ConfigDict(extra="forbid")
    fast_lr: float | None = Field(None, gt=0, description="learning rate of A (constant)")
    auto_scale: bool | None = Field(None, description="divide A's update by a running "
                                    "average of max|x|·max|δ|")
    auto_momentum: float = Field(0.99, ge=0, lt=1)
    bl_fast: int = Field(5, ge=1, le=63, description="pulse-train length of A's update")
    transfer_every: int = Field(1, ge=1, description="samples between two column reads")
    transfer_lr: float = Field(1.0, gt=0, description="scale of a read into the buffer "
                               "(times the scheduled learning rate)")
    buffer_granularity: float = Field(1.0, gt=0, description="buffer units, in A steps: "
                                      "a read adds transfer_lr·lr/(this·dw_min of A)")
    max_pulses: int = Field(1, ge=1, description="C pulses per device and transfer, at most")
    momentum: float = Field(0.0, ge=0, lt=1)
    forget_buffer: bool = True
    in_chop_prob: float | None = Field(None, ge=0, le=1)
    tail_weightening: float = Field(5.0, gt=0, description="AGAD: the reference is an "
                                    "exponential mean of the reads with weight "
                                    "min(tail_weightening/period, 1) on the newest")
    read_noise: float = Field(0.06, ge=0, description="std of the Gaussian noise on each "
                              "transfer read (AIHWKit's default out_noise)")
    read_step: float = Field(24 / 510, ge=0, description="quantisation step of the transfer "
                             "read, 0 = none (AIHWKit's default ADC: 2·12/510)")
    read_bound: float = Field(12.0, gt=0, description="transfer reads clip at ±this")
    a_reference: Literal["zero", "sp"] = Field(
        "zero", description="A's zero: its devices' middle (zero) or each device's SP")


class TransferSGD(AnalogOptimizer):
    """Tiki-Taka v2 and its chopped variants over the shared analog optimizer base.

    Parameters
    ----------
    model
        Model with :class:`AnalogLayer` layers; each layer's own tile is C.
    lr
        Scheduled learning rate (scales the transfers, not A's update).
    settings
        :class:`TransferSettings`; unset fields take :attr:`preset`.
    periphery, periphery_options
        Read-out model of the A arrays (as the run's, one instance per tile).
    """

    name: ClassVar[str] = "ttv2"
    preset: ClassVar[dict[str, Any]] = {"fast_lr": 1.0, "auto_scale": False,
                                        "in_chop_prob": 0.0}
    chopped: ClassVar[bool] = False
    dynamic_reference: ClassVar[bool] = False

    def __init__(self, model: nn.Module, lr: float = 0.1,
                 settings: TransferSettings | None = None, seed: int = 0,
                 periphery: str = "ideal", periphery_options: dict[str, Any] | None = None,
                 update_management: bool = True, bl_management: bool = True) -> None:
        super().__init__(model, lr, seed)
        given = (settings or TransferSettings()).model_dump()
        merged = {k: (self.preset.get(k) if v is None else v) for k, v in given.items()}
        self.settings = TransferSettings(**merged)
        check_bl(self.settings.bl_fast)
        self.update_management, self.bl_management = update_management, bl_management
        s = self.settings
        self.a_tiles: list[AnalogTile] = []
        self.buffers: list[torch.Tensor] = []
        self.choppers: list[torch.Tensor] = []
        self.ref_prev: list[torch.Tensor] = []  # AGAD: reference (previous period's mean)
        self.ref_acc: list[torch.Tensor] = []  # AGAD: running mean of this period's reads
        for k, layer in enumerate(self.layers):
            c = layer.tile
            gen = torch.Generator().manual_seed(mix32_int(self.seed * 7919 + 104729 + k))
            a = AnalogTile(c.device, *c.shape, generator=gen, torch_device=c.w.device,
                           backend=c.backend,
                           periphery=make_periphery(periphery, mix32_int(self.seed + 31 * k
                                                                         + 17),
                                                    periphery_options))
            self.a_tiles.append(a)
            out, n_in = c.shape
            dev = c.w.device
            self.buffers.append(torch.zeros(out, n_in, dtype=torch.float32, device=dev))
            self.choppers.append(torch.ones(n_in, dtype=torch.float32, device=dev))
            self.ref_prev.append(torch.zeros(out, n_in, dtype=torch.float32, device=dev))
            self.ref_acc.append(torch.zeros(out, n_in, dtype=torch.float32, device=dev))
        self.next_column = [0] * len(self.layers)
        self.sample_phase = [0] * len(self.layers)
        self.scale_avg = [[0.0, 0.0] for _ in self.layers]  # running m_x, m_d
        self.transfers = [0] * len(self.layers)
        self.sweeps = [0] * len(self.layers)  # reads of the last column so far
        self.buffer_ops = 0
        self.sp_pulses = 0
        self.chop_flips = 0
        if s.fast_lr is None or s.in_chop_prob is None or s.auto_scale is None:
            raise ValueError(f"{self.name}: preset incomplete")  # a subclass's mistake
        if self.dynamic_reference and s.in_chop_prob == 0:
            raise ValueError(f"{self.name}: transfer.in_chop_prob must be > 0 (its reference "
                             "is taken at each chopper switch; without switches C is never "
                             "written)")

    # -- set-up -------------------------------------------------------------------------
    def shift_a_to_symmetry_points(self, on_progress: SymmetryProgressCallback | None = None
                                   ) -> SymmetryShiftReport:
        """References of every A device at its SP (estimated by alternating pulses, which
        are counted), devices programmed there (A's effective weight 0)."""
        sps = []
        for k, a in enumerate(self.a_tiles):
            report = None if on_progress is None else partial(
                tag_layer_progress, on_progress, k, len(self.a_tiles))
            est = estimate_symmetry_points(a.dt, on_progress=report)
            self.sp_pulses += est.pulses
            a.set_reference(est.value)
            a.set_weight(torch.zeros_like(a.w))
            sps.append(est.value.flatten())
        allsp = torch.cat(sps)
        return SymmetryShiftReport(self.sp_pulses, float(allsp.mean()), float(allsp.std()),
                                   0.0)

    # -- the rule -----------------------------------------------------------------------
    def _fast_lr(self, index: int, x: torch.Tensor, d: torch.Tensor) -> float:
        """A's learning rate for this batch: ``fast_lr``, or with ``auto_scale``
        ``fast_lr·bl_fast·dw_A/(m_x·m_d)`` with ``m_x``, ``m_d`` running means of each
        sample's ``max|x|``, ``max|δ|`` (weight ``(1 − auto_momentum)/B`` per sample)."""
        s = self.settings
        lr = float(s.fast_lr)  # type: ignore[arg-type]
        if not s.auto_scale:
            return lr
        a = self.a_tiles[index]
        batch = x.shape[0]
        tau = (1.0 - s.auto_momentum) / batch
        powers = (1.0 - tau) ** torch.arange(batch - 1, -1, -1, dtype=torch.float64)
        for slot, v in ((0, x.abs().amax(dim=1)), (1, d.abs().amax(dim=1))):
            v = v.double().cpu()
            m = self.scale_avg[index][slot]
            if m <= 0:  # the first sample starts the mean
                m, v, p = float(v[0]), v[1:], powers[1:]
            else:
                p = powers
            m = m * (1.0 - tau) ** len(v) + tau * float((p * v).sum()) if len(v) else m
            self.scale_avg[index][slot] = m
        m_x, m_d = self.scale_avg[index]
        lr *= s.bl_fast * a.dt.dw_min
        return lr / (m_x * m_d) if m_x > 0 and m_d > 0 else lr

    def update_layer(self, index: int, layer: AnalogLayer, x: torch.Tensor, d: torch.Tensor,
                     lr: float) -> None:
        a = self.a_tiles[index]
        chop = self.choppers[index]
        xc = x * chop.to(x) if self.chopped else x
        a.pulsed_update(xc, d, self._fast_lr(index, x, d), self.settings.bl_fast,
                        self.update_management, self.bl_management,
                        self.layer_seed(index))
        phase = self.sample_phase[index] + x.shape[0]
        n_reads, self.sample_phase[index] = divmod(phase, self.settings.transfer_every)
        n_in = layer.tile.shape[1]
        done = 0
        while n_reads > 0:  # never two reads of a column in one round
            now = min(n_reads, n_in - self.next_column[index])
            self._transfer(index, layer, now, lr, done)
            n_reads -= now
            done += now

    def _read_columns(self, index: int, cols: torch.Tensor, salt: int) -> torch.Tensor:
        """Columns ``cols`` of A's effective weight (out × n), as a transfer reads them:
        A's read-out model (ideal: exact), then ``read_noise``, ``read_step``, ``read_bound``.
        Counted as one active input and ``out`` conversions per read, whatever the
        read-out; ``salt`` seeds the noise (:meth:`_transfer`)."""
        a, s = self.a_tiles[index], self.settings
        if a.periphery.is_ideal:
            y = a.weight[:, cols].clone()
        else:
            onehot = torch.zeros(len(cols), a.shape[1], dtype=torch.float32, device=a.w.device)
            onehot[torch.arange(len(cols)), cols] = 1.0
            a.periphery.training = False  # counted below, as one active input per read
            try:
                y = a.forward(onehot).T
            finally:
                a.periphery.training = True
        a.periphery.count(cols[:, None], a.shape[0])
        if s.read_noise > 0:
            gen = torch.Generator().manual_seed(
                mix32_int(self.layer_seed(index) + 0x7EAD + salt))
            y += s.read_noise * torch.randn(y.shape, generator=gen).to(y)
        if s.read_step > 0:
            y = torch.round(y / s.read_step) * s.read_step  # half to even, as rint
        return y.clamp(-s.read_bound, s.read_bound)

    def _transfer(self, index: int, layer: AnalogLayer, n: int, lr: float, done: int
                  ) -> None:
        """Read ``n`` consecutive columns of A (no column twice), buffer them, write C;
        ``done``: the reads of this step before these.  The round's draws are seeded by
        its first column and how many full passes over the columns this step has made."""
        s = self.settings
        a, c = self.a_tiles[index], layer.tile
        n_in = c.shape[1]
        start = self.next_column[index]
        salt = start + n_in * (done // n_in)
        cols = torch.arange(start, start + n, device=c.w.device)
        self.next_column[index] = (start + n) % n_in
        self.transfers[index] += n
        read = self._read_columns(index, cols, salt)
        chop = self.choppers[index][cols]
        if self.dynamic_reference:
            signal = (read - self.ref_prev[index][:, cols]) * chop
            m = min(s.tail_weightening / self._period(), 1.0)
            self.ref_acc[index][:, cols] = (1 - m) * self.ref_acc[index][:, cols] + m * read
        else:
            signal = read * chop if self.chopped else read
        scale = s.transfer_lr * lr / (s.buffer_granularity * a.dt.dw_min)
        h = self.buffers[index]
        buf = h[:, cols] + scale * signal
        pulses = torch.where(buf.abs() >= 1.0,
                             torch.sign(buf) * torch.clamp(torch.floor(buf.abs()),
                                                           max=s.max_pulses),
                             torch.zeros_like(buf))
        fired = pulses != 0
        if s.forget_buffer:
            buf = torch.where(fired, s.momentum * buf, buf)
        else:
            buf = buf - pulses * (1 - s.momentum)
        h[:, cols] = buf
        self.buffer_ops += buf.numel()
        warm = self.dynamic_reference and self.sweeps[index] <= self._period()
        if bool(fired.any()) and not warm:  # AGAD writes once its reference exists
            counts = torch.zeros_like(c.w)
            counts[:, cols] = pulses
            c.apply_pulse_counts(counts, mix32_int(self.layer_seed(index) + 7 + salt))
        self._flip_choppers(index, cols, salt)
        if start + n == n_in:
            self.sweeps[index] += 1

    def _period(self) -> int:
        """Reads of a column between two regular chopper switches (AGAD)."""
        p = float(self.settings.in_chop_prob)  # type: ignore[arg-type]
        return max(2, math.ceil(1.0 / p)) if p > 0 else 1 << 62

    def _flip_choppers(self, index: int, cols: torch.Tensor, salt: int) -> None:
        """After the read: random flips (c-TTv2) or, for AGAD, every column at the last
        read of each period of sweeps, when its reference becomes this period's mean."""
        p = float(self.settings.in_chop_prob)  # type: ignore[arg-type]
        if not self.chopped or p == 0:
            return
        if self.dynamic_reference:
            if (self.sweeps[index] % self._period()) + 1 != self._period():
                return
            flip = torch.ones(len(cols), dtype=torch.bool, device=cols.device)
        else:
            gen = torch.Generator().manual_seed(
                mix32_int((self.layer_seed(index) ^ 0x5EED) + salt))
            flip = (torch.rand(len(cols), generator=gen) < p).to(cols.device)
        if not bool(flip.any()):
            return
        fcols = cols[flip]
        self.choppers[index][fcols] *= -1
        self.chop_flips += int(flip.sum())
        if self.dynamic_reference:
            self.ref_prev[index][:, fcols] = self.ref_acc[index][:, fcols]

    # -- bookkeeping --------------------------------------------------------------------
    def layer_tiles(self) -> list[list[AnalogTile]]:
        """Per layer: C (the layer's tile) and A."""
        return [[layer.tile, a] for layer, a in zip(self.layers, self.a_tiles, strict=True)]

    def epoch_metrics(self) -> dict[str, Any]:
        """``transfer``: per layer, cumulative pulses on A and C (up/down) and column
        reads of A; ``buffer_ops_total``: digital buffer read-modify-writes (priced as
        digital operations, :mod:`pulsetrain.energy.costs`); ``chopper_flips_total``."""
        per_layer = []
        for layer, a, n in zip(self.layers, self.a_tiles, self.transfers, strict=True):
            per_layer.append({"a_up": a.pulses.up, "a_down": a.pulses.down,
                              "c_up": layer.tile.pulses.up, "c_down": layer.tile.pulses.down,
                              "column_reads": n})
        return {"transfer": per_layer, "buffer_ops_total": self.buffer_ops,
                "chopper_flips_total": self.chop_flips}

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(),
                "a_tiles": [a.state_dict() for a in self.a_tiles],
                "buffers": [b.clone() for b in self.buffers],
                "choppers": [c.clone() for c in self.choppers],
                "ref_prev": [c.clone() for c in self.ref_prev],
                "ref_acc": [c.clone() for c in self.ref_acc],
                "next_column": list(self.next_column), "sample_phase": list(self.sample_phase),
                "scale_avg": [list(v) for v in self.scale_avg],
                "transfers": list(self.transfers), "sweeps": list(self.sweeps),
                "buffer_ops": self.buffer_ops, "sp_pulses": self.sp_pulses,
                "chop_flips": self.chop_flips}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        for a, saved in zip(self.a_tiles, state["a_tiles"], strict=True):
            a.load_state_dict(saved)
        for name in ("buffers", "choppers", "ref_prev", "ref_acc"):
            for t, saved in zip(getattr(self, name), state[name], strict=True):
                t.copy_(saved)
        self.next_column = [int(v) for v in state["next_column"]]
        self.sample_phase = [int(v) for v in state["sample_phase"]]
        self.scale_avg = [[float(x) for x in v] for v in state["scale_avg"]]
        self.transfers = [int(v) for v in state["transfers"]]
        self.sweeps = [int(v) for v in state["sweeps"]]
        self.buffer_ops = int(state["buffer_ops"])
        self.sp_pulses = int(state["sp_pulses"])
        self.chop_flips = int(state["chop_flips"])


class ChoppedTTv2(TransferSGD):
    """Chopped TTv2: A's inputs multiplied by per-column random choppers."""

    name = "c-ttv2"
    preset: ClassVar[dict[str, Any]] = {"fast_lr": 0.1, "auto_scale": True,
                                        "in_chop_prob": 0.1}
    chopped = True


class AGAD(TransferSGD):
    """AGAD: chopped, with each column's reference the running mean of its reads at the
    last chopper switch."""

    name = "agad"
    preset: ClassVar[dict[str, Any]] = {"fast_lr": 0.1, "auto_scale": True,
                                        "in_chop_prob": 0.1}
    chopped = True
    dynamic_reference = True
