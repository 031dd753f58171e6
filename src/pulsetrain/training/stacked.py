"""Many runs in one process: runs of one network shape trained in lockstep.

A *stack* holds R independent runs — different devices, algorithms (other than the
float baseline), seeds, learning rates — whose networks have the same shape.  Every
mini-batch step is one forward and one backward pass for all of them: the weights of
layer k of the R runs live in one ``(R, out, in)`` tensor (each run's tile holds a view
of its slice), so the MVMs of a layer are one batched matmul.  Then each run's own
update rule fires its pulses, with its own seeds and counters, exactly as when it
trains alone.  This is meant to keep a GPU busy with several small networks; on a CPU
the process pool of :mod:`pulsetrain.study.runner` is the better way to use the cores
(``benchmarks/bench_stack.py`` measures both).

``mvm="exact"`` runs each run's own layers instead of the batched matmul, so every run
of a stack ends with exactly the numbers it has when trained alone (tested).  The
batched matmul (``mvm="batched"``) sums in another order (float32 rounding, ~1e-6
relative), after which a run's stochastic pulse trains can differ from its solo run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pulsetrain.crossbar.mvm import crossbar_mvm
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import Split
from pulsetrain.training.layers import AnalogLayer, AnalogLinear, TiledAnalogLinear, analog_layers
from pulsetrain.training.registry import algorithm
from pulsetrain.training.trainer import BatchCallback, Trainer

MVM_MODES = ("batched", "exact")


def stack_signature(cfg: TrainConfig) -> tuple[Any, ...] | None:
    """What runs of one stack must share: network shape, batch size, epochs, data and
    torch device.  ``None`` for a digital algorithm (the float baseline), which never
    stacks."""
    if not algorithm(cfg.algorithm).analog:
        return None
    return (tuple(cfg.hidden), cfg.activation, cfg.batch_size, cfg.epochs, cfg.dataset,
            cfg.data_dir, cfg.val_size, cfg.train_subset, cfg.test_subset, cfg.torch_device,
            cfg.max_tile_inputs, cfg.max_tile_outputs)


def check_stack(cfgs: Sequence[TrainConfig], mvm: str) -> None:
    """Raise ``ValueError`` unless ``cfgs`` can train as one stack with MVM mode ``mvm``."""
    if mvm not in MVM_MODES:
        raise ValueError(f"mvm must be one of {MVM_MODES}, got {mvm!r}")
    if not cfgs:
        raise ValueError("a stack needs at least one run")
    sigs = {stack_signature(c) for c in cfgs}
    if None in sigs and len(cfgs) > 1:
        raise ValueError("the float baseline does not stack: train it on its own")
    if len(sigs) > 1:
        raise ValueError("runs of a stack must share network shape, batch size, epochs, "
                         "data and torch device")


class RunStack:
    """R built :class:`Trainer` s whose analog weights are re-homed into stacked tensors.

    Parameters
    ----------
    trainers
        Runs with one :func:`stack_signature` (no float baseline), already built (and,
        when resuming, restored).
    mvm
        ``"batched"`` (one ``bmm`` per layer for all runs) or ``"exact"`` (each run's
        own layer calls: bit-identical to training the runs one by one).

    Both modes run the one MVM path (:mod:`pulsetrain.crossbar.mvm`) with each run's
    periphery.  A stack of one run (:func:`~pulsetrain.training.trainer.train`) calls the
    run's model: a float baseline trains this way too.
    """

    def __init__(self, trainers: Sequence[Trainer], mvm: str = "batched") -> None:
        check_stack([t.cfg for t in trainers], mvm)
        self.trainers = list(trainers)
        self.mvm = mvm
        self.cfg = self.trainers[0].cfg
        per_run = [analog_layers(t.model) for t in self.trainers]
        self.layers = [list(group) for group in zip(*per_run, strict=True)]
        self.weights: list[torch.Tensor] = []
        self.refs: list[torch.Tensor] = []
        for group in self.layers:  # one (R, out, in) tensor per layer; tiles hold views
            w = torch.stack([layer.tile.w for layer in group])
            ref = torch.stack([layer.tile.ref for layer in group])
            for r, layer in enumerate(group):
                layer.tile.w = w[r]
                layer.tile.ref = ref[r]
            self.weights.append(w)
            self.refs.append(ref)
        self.tiled = any(isinstance(m, TiledAnalogLinear)
                         or (isinstance(m, AnalogLayer) and not isinstance(m, AnalogLinear))
                         for m in self.trainers[0].model.modules())
        """Layers mapped onto several tiles, or convolutions: each run calls its own model
        (as ``exact``; the batched MVM covers plain linear layers only)."""
        self._anchor = nn.Parameter(torch.zeros(0, device=self.cfg.torch_device))
        self._plan: list[int | nn.Module] = []  # analog layer index or module of run 0
        k = 0
        for module in self.trainers[0].model.children():
            if isinstance(module, AnalogLinear):
                self._plan.append(k)
                k += 1
            else:
                self._plan.append(module)

    def __len__(self) -> int:
        return len(self.trainers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(R, batch, classes)`` of inputs ``x`` ``(R, batch, in)``."""
        if self.mvm == "exact" or len(self.trainers) == 1 or self.tiled:
            return torch.stack([t.model(x[r]) for r, t in enumerate(self.trainers)])
        h = x
        for step in self._plan:
            if isinstance(step, int):
                group = self.layers[step]
                w = self.weights[step]
                weight = (w - self.refs[step]
                          if any(layer.tile.has_reference for layer in group) else w)
                h = crossbar_mvm(h, self._anchor, weight, group, batched=True)
                if group[0].bias is not None:
                    h = h + torch.stack([layer.bias for layer in group])[:, None, :]
            elif isinstance(step, nn.LogSoftmax):
                h = F.log_softmax(h, dim=-1)
            else:
                h = step(h)
        return h

    def train_epoch(self, data: Split, epoch: int, on_batch: BatchCallback | None = None
                    ) -> list[float]:
        """One pass over ``data`` for every run, each in its own order (as when it trains
        alone); returns each run's mean loss."""
        n_runs = len(self.trainers)
        for t in self.trainers:
            t.model.train()
        orders = torch.stack([t.epoch_order(len(data), epoch) for t in self.trainers])
        shared = bool((orders == orders[0]).all())  # equal seeds: one batch for all runs
        bs = self.cfg.batch_size
        n_batches = (len(data) + bs - 1) // bs
        dev = self.cfg.torch_device
        totals = torch.zeros(n_runs, dtype=torch.float64)
        for k in range(n_batches):
            idx = orders[:, k * bs:(k + 1) * bs]
            if shared:
                xb = data.x[idx[0]].to(dev)
                x = xb.expand(n_runs, *xb.shape)
                y = data.y[idx[0]].to(dev).expand(n_runs, -1)
            else:
                x, y = data.x[idx].to(dev), data.y[idx].to(dev)
            for t in self.trainers:
                t.optimizer.zero_grad(set_to_none=True)
            out = self.forward(x)
            losses = torch.stack([F.nll_loss(out[r], y[r]) for r in range(n_runs)])
            losses.sum().backward()  # type: ignore[no-untyped-call]
            for t in self.trainers:
                t.optimizer.step()
            totals += losses.detach().to("cpu", torch.float64) * idx.shape[1]
            if on_batch is not None:
                on_batch(k + 1, n_batches)
        return [float(v) / len(data) for v in totals]
