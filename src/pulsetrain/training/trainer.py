"""One run's trainer (model, update rule, schedule, evaluation, checkpoint state) and its
per-epoch bookkeeping (metrics, checkpoints, resume, the events a store records).  The
epoch loop and the driver that serve single and stacked runs are in
:mod:`pulsetrain.training.stacked` and :mod:`pulsetrain.training.driver`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pulsetrain.crossbar.symmetry import SymmetryProgressCallback
from pulsetrain.devices.builtin import resolve_device
from pulsetrain.devices.lut import LutDevice
from pulsetrain.fileio import atomic_write
from pulsetrain.training.algorithms import AnalogOptimizer, SymmetryShiftReport
from pulsetrain.training.config import TrainConfig, require_torch_device
from pulsetrain.training.data import MNIST, Split
from pulsetrain.training.datasets import get_dataset
from pulsetrain.training.layers import analog_layer_index, analog_layers
from pulsetrain.training.models import ModelSpec, build_model
from pulsetrain.training.records import EventSink, RunEvent
from pulsetrain.training.registry import algorithm

EpochCallback = Callable[[dict[str, Any]], None]
BatchCallback = Callable[[int, int], None]


def training_device(cfg: TrainConfig) -> LutDevice | None:
    """The device of a config with the noise and variation the run uses
    (:meth:`TrainConfig.noise`); ``None`` for a digital algorithm (the float baseline).
    Warns (:class:`~pulsetrain.errors.DataWarning`) when the run ignores the device's
    measured noise estimate.

    Raises
    ------
    InputError
        An unknown device, or ``c2c_noise: measured`` for a device without an estimate.
    """
    if not algorithm(cfg.algorithm).analog:
        return None
    dev = resolve_device(cfg.device)
    noise = cfg.noise(dev)
    noise.warn_if_ignored(cfg.device_label)
    return dev.with_options(variation=noise.variation, c2c_noise=noise.c2c_noise)


@dataclass
class Trainer:
    """A model, its update rule and schedule, built from a :class:`TrainConfig`."""

    cfg: TrainConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.StepLR
    sp_report: SymmetryShiftReport | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def build(cls, cfg: TrainConfig, on_sp_progress: SymmetryProgressCallback | None = None
              ) -> Trainer:
        """Build model and optimizer; where the algorithm needs them (``sp-shift``, the
        Tiki-Taka rules with ``a_reference: sp``) also estimate SPs and set references
        (``on_sp_progress`` hears how that estimation proceeds).

        Raises
        ------
        InputError
            If ``cfg.torch_device`` names a CUDA device this machine does not have, or
            (dataset ``idx``) the dataset's files cannot be read.
        """
        require_torch_device(cfg.torch_device)
        device = training_device(cfg)
        data = get_dataset(cfg.dataset, cfg.data_dir)
        model = build_model(cfg.model, ModelSpec(
            data.input_shape, data.n_classes, device, seed=cfg.seed, hidden=tuple(cfg.hidden),
            activation=cfg.activation, backend=cfg.backend, torch_device=cfg.torch_device,
            periphery=cfg.periphery, periphery_options=cfg.periphery_options,
            max_tile_inputs=cfg.max_tile_inputs, max_tile_outputs=cfg.max_tile_outputs))
        algo = algorithm(cfg.algorithm)
        algo.setup_progress = on_sp_progress
        opt, sp_report = algo.build(model, cfg, cfg.learning_rate)
        sched = torch.optim.lr_scheduler.StepLR(opt, cfg.lr_step_epochs, cfg.lr_gamma)
        return cls(cfg, model, opt, sched, sp_report)

    # -- checkpoints -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to continue after the last finished epoch."""
        layers = analog_layers(self.model)
        state: dict[str, Any] = {
            "key": self.cfg.key(),
            "history": self.history,
            "scheduler": self.scheduler.state_dict(),
            "lr": self.optimizer.param_groups[0]["lr"],
            "digital": {n: p.detach().clone() for n, p in self.model.named_parameters()},
            "tiles": [layer.tile.state_dict() for layer in layers],
            "tile_layer": analog_layer_index(self.model),
        }
        if isinstance(self.optimizer, AnalogOptimizer):
            state["optimizer"] = self.optimizer.extra_state()
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state`."""
        if state["key"] != self.cfg.key():
            raise ValueError("checkpoint belongs to a different configuration")
        self.history = list(state["history"])
        self.scheduler.load_state_dict(state["scheduler"])
        for group in self.optimizer.param_groups:
            group["lr"] = state["lr"]
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, value in state["digital"].items():
                params[name].copy_(value)
        for layer, tile_state in zip(analog_layers(self.model), state["tiles"], strict=True):
            layer.tile.load_state_dict(tile_state)
        if isinstance(self.optimizer, AnalogOptimizer):
            self.optimizer.load_extra_state(state["optimizer"])

    # -- one epoch -------------------------------------------------------------------
    def epoch_order(self, n: int, epoch: int) -> torch.Tensor:
        """The order of the ``n`` training samples in ``epoch`` (fixed by seed and epoch)."""
        gen = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        return torch.randperm(n, generator=gen)

    def train_epoch(self, data: Split, epoch: int, on_batch: BatchCallback | None = None
                    ) -> float:
        """One pass over ``data`` in an order fixed by (seed, epoch); returns the mean loss."""
        self.model.train()
        order = self.epoch_order(len(data), epoch)
        bs = self.cfg.batch_size
        n_batches = (len(data) + bs - 1) // bs
        total = 0.0
        dev = self.cfg.torch_device
        for k in range(n_batches):
            idx = order[k * bs:(k + 1) * bs]
            x, y = data.x[idx].to(dev), data.y[idx].to(dev)
            self.optimizer.zero_grad(set_to_none=True)
            loss = F.nll_loss(self.model(x), y)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            total += float(loss.detach()) * len(idx)
            if on_batch is not None:
                on_batch(k + 1, n_batches)
        return total / len(data)

    @torch.no_grad()
    def evaluate(self, data: Split, batch: int = 2000) -> float:
        """Classification accuracy (fraction) on ``data``."""
        self.model.eval()
        correct = 0
        for k in range(0, len(data), batch):
            x = data.x[k:k + batch].to(self.cfg.torch_device)
            y = data.y[k:k + batch].to(self.cfg.torch_device)
            correct += int((self.model(x).argmax(1) == y).sum())
        return correct / len(data)

    def pulse_totals(self) -> list[dict[str, int]]:
        """Cumulative up/down pulses per analog layer, summed over every tile the update
        rule owns in that layer (:meth:`AnalogOptimizer.layer_tiles`)."""
        if not isinstance(self.optimizer, AnalogOptimizer):
            return []
        return [{"up": sum(t.pulses.up for t in tiles),
                 "down": sum(t.pulses.down for t in tiles)}
                for tiles in self.optimizer.layer_tiles()]


@dataclass
class TrainResult:
    """Per-epoch metrics and what the run cost."""

    key: str
    config: dict[str, Any]
    epochs: list[dict[str, Any]]
    sp_report: dict[str, Any] | None

    @property
    def final(self) -> dict[str, Any]:
        """Metrics of the last epoch."""
        return self.epochs[-1]


@dataclass(frozen=True)
class CheckpointView:
    """What a checkpoint holds, for readers outside training (reports): per analog layer
    the device states and references, and the per-epoch metrics so far."""

    device_states: list[torch.Tensor]
    """``w`` of each analog layer's tile (weight units, CPU)."""
    references: list[torch.Tensor]
    """``w_ref`` of each analog layer's tile (zero unless SP shifting set them)."""
    history: list[dict[str, Any]]
    tile_layer: list[int] | None = None
    """Network layer (0-based, analog layers only) of each tile; ``None``: one tile per
    layer (checkpoints written before tiles existed)."""

    @property
    def effective_weights(self) -> list[torch.Tensor]:
        """``w − w_ref`` per analog layer."""
        return [w - r for w, r in zip(self.device_states, self.references, strict=True)]

    def last_layer(self, per_tile: list[torch.Tensor]) -> torch.Tensor:
        """The last network layer's values of ``per_tile`` (e.g. :attr:`device_states`),
        flattened over all its tiles."""
        owner = self.tile_layer or list(range(len(per_tile)))
        last = max(owner)
        return torch.cat([t.flatten() for t, k in zip(per_tile, owner, strict=True)
                          if k == last])


def read_checkpoint(path: str | Path) -> CheckpointView:
    """Open a run's checkpoint (``OUT/checkpoints/KEY.pt``) on the CPU."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    return CheckpointView([t["w"] for t in state["tiles"]], [t["ref"] for t in state["tiles"]],
                          list(state["history"]), state.get("tile_layer"))


def checkpoint_path(cfg: TrainConfig, out: str | Path) -> Path:
    """Where the run ``cfg`` keeps its checkpoint under ``out``: ``OUT/checkpoints/KEY.pt``."""
    return Path(out) / "checkpoints" / f"{cfg.key()}.pt"


def checkpointed_epochs(cfg: TrainConfig, out: str | Path) -> int:
    """Epochs of ``cfg`` finished and checkpointed under ``out`` (0 without a checkpoint):
    a resumed run continues at the next one."""
    path = checkpoint_path(cfg, out)
    return len(read_checkpoint(path).history) if path.is_file() else 0


class RunLog:
    """Per-epoch bookkeeping of one run: metrics, checkpoints, resume, events.

    With ``out`` set, every finished epoch writes a checkpoint
    ``OUT/checkpoints/KEY.pt`` (atomically) before it is reported; with ``resume`` the
    trainer is restored to its last checkpointed epoch first.  What the run reports
    goes to ``sink`` as :class:`~pulsetrain.training.records.RunEvent` s: ``start``,
    every restored epoch again (``replay``: an interruption between a checkpoint and
    the store write loses no epoch), every new epoch, ``done``.  Used by the driver
    (:func:`pulsetrain.training.driver.train_runs`) for every run.
    """

    def __init__(self, trainer: Trainer, out: str | Path | None = None,
                 resume: bool = False, sink: EventSink | None = None) -> None:
        self.trainer = trainer
        cfg = trainer.cfg
        self.key = cfg.key()
        self.sink = sink
        self.ckpt: Path | None = None
        if out is not None:
            self.ckpt = checkpoint_path(cfg, out)
            self.ckpt.parent.mkdir(parents=True, exist_ok=True)
            if resume and self.ckpt.is_file():
                # tensors come back on the CPU and are copied into the run's own tensors,
                # so a checkpoint resumes whatever torch device wrote it
                trainer.load_state(torch.load(self.ckpt, map_location="cpu",
                                              weights_only=False))
        finished = len(trainer.history) >= cfg.epochs  # e.g. riding along in a stack
        self._emit(RunEvent("start", self.key, cfg.stored(),
                            "done" if finished else "running"))
        for done in trainer.history:
            self._emit(RunEvent("epoch", self.key, epoch=done["epoch"], metrics=done,
                                replay=True))
        self._prev = trainer.history[-1]["layers"] if trainer.history else [
            {"up_total": 0, "down_total": 0} for _ in analog_layers(trainer.model)]

    def _emit(self, event: RunEvent) -> None:
        if self.sink is not None:
            self.sink(event)

    @property
    def epochs_done(self) -> int:
        """Epochs finished so far (after a resume: those of the checkpoint)."""
        return len(self.trainer.history)

    def record_epoch(self, epoch: int, lr: float, loss: float, wall_s: float, data: MNIST,
                     stacked_runs: int = 1) -> dict[str, Any]:
        """Evaluate after a finished epoch, append the metrics, checkpoint them and emit
        them as an ``epoch`` event (``stacked_runs`` > 1: the run trained in a stack of
        that many runs)."""
        trainer = self.trainer
        layers = []
        for p, tot in zip(self._prev, trainer.pulse_totals(), strict=True):
            layers.append({"up": tot["up"] - p["up_total"], "down": tot["down"] - p["down_total"],
                           "up_total": tot["up"], "down_total": tot["down"]})
        self._prev = layers
        metrics: dict[str, Any] = {
            "epoch": epoch, "lr": lr, "train_loss": loss,
            "val_acc": trainer.evaluate(data.val), "test_acc": trainer.evaluate(data.test),
            "pulses": sum(x["up"] + x["down"] for x in layers),
            "pulses_total": sum(x["up_total"] + x["down_total"] for x in layers),
            "layers": layers, "wall_s": wall_s,
        }
        if isinstance(trainer.optimizer, AnalogOptimizer):
            metrics.update(trainer.optimizer.epoch_metrics())
            stats = [tile.periphery.stats for tiles in trainer.optimizer.layer_tiles()
                     for tile in tiles]  # every array the rule reads (Tiki-Taka's A too)
            metrics["reads"] = {"dac_total": sum(s.dac for s in stats),
                                "adc_total": sum(s.adc for s in stats),
                                "array_sum_total": sum(s.array_sum for s in stats)}
        if trainer.sp_report is not None:  # the one-off cost of finding the references
            metrics["sp_estimation_pulses"] = trainer.sp_report.pulses
        if stacked_runs > 1:
            metrics["stacked_runs"] = stacked_runs
        trainer.history.append(metrics)
        if self.ckpt is not None:
            atomic_write(self.ckpt, partial(torch.save, trainer.state()))
        self._emit(RunEvent("epoch", self.key, epoch=epoch, metrics=metrics))
        return metrics

    def finish(self) -> TrainResult:
        """Report the run done; its result."""
        cfg = self.trainer.cfg
        self._emit(RunEvent("done", self.key, cfg.stored(), "done"))
        sp = asdict(self.trainer.sp_report) if self.trainer.sp_report else None
        return TrainResult(self.key, cfg.stored(), self.trainer.history, sp)
