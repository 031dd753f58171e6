"""The training loop: epochs, metrics, checkpoints, resume (no printing; callbacks report)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.devices.lut import LutDevice, Variation
from pulsetrain.fileio import atomic_write
from pulsetrain.store.sqlite import ResultStore
from pulsetrain.training.algorithms import (
    AnalogOptimizer,
    MixedPrecisionSGD,
    StochasticPulseSGD,
    SymmetryShiftReport,
    shift_to_symmetry_point,
)
from pulsetrain.training.config import TrainConfig, require_torch_device
from pulsetrain.training.data import MNIST, Split, load_mnist
from pulsetrain.training.layers import analog_layers, build_mlp

EpochCallback = Callable[[dict[str, Any]], None]
BatchCallback = Callable[[int, int], None]


def training_device(cfg: TrainConfig) -> LutDevice | None:
    """The device of a config with its noise overrides; ``None`` for the float baseline."""
    if cfg.algorithm == "float":
        return None
    dev = resolve_device(cfg.device)
    var = dev.variation
    var = Variation(
        step_gain_std=var.step_gain_std if cfg.step_gain_std is None else cfg.step_gain_std,
        bound_std=var.bound_std if cfg.bound_std is None else cfg.bound_std,
        up_down_std=var.up_down_std if cfg.up_down_std is None else cfg.up_down_std)
    c2c = dev.c2c_noise if cfg.c2c_noise is None else cfg.c2c_noise
    return dev.with_options(variation=var, c2c_noise=c2c)


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
    def build(cls, cfg: TrainConfig) -> Trainer:
        """Build model and optimizer; for ``sp-shift`` also estimate SPs and set references.

        Raises
        ------
        InputError
            If ``cfg.torch_device`` names a CUDA device this machine does not have.
        """
        require_torch_device(cfg.torch_device)
        device = training_device(cfg)
        sizes = [784, *cfg.hidden, 10]
        model = build_mlp(sizes, device, seed=cfg.seed, activation=cfg.activation,
                          backend=cfg.backend, torch_device=cfg.torch_device)
        lr = cfg.learning_rate
        sp_report = None
        opt: torch.optim.Optimizer
        if cfg.algorithm == "float":
            opt = torch.optim.SGD(model.parameters(), lr=lr)
        elif cfg.algorithm == "mixed-precision":
            opt = MixedPrecisionSGD(model, lr=lr, epsilon=cfg.mp_epsilon, seed=cfg.seed)
        else:
            if cfg.algorithm == "sp-shift":
                sp_report = shift_to_symmetry_point(model, cfg.sp_mode, cfg.sp_offset)
            opt = StochasticPulseSGD(model, lr=lr, bl=cfg.bl,
                                     update_management=cfg.update_management,
                                     bl_management=cfg.bl_management, seed=cfg.seed,
                                     granularity=cfg.granularity)
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
        """Cumulative up/down pulses per analog layer."""
        return [{"up": layer.tile.pulses.up, "down": layer.tile.pulses.down}
                for layer in analog_layers(self.model)]


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


class RunLog:
    """Per-epoch bookkeeping of one run: metrics, results store, checkpoints, resume.

    With ``out`` set, every finished epoch is written to ``OUT/results.sqlite`` and a
    checkpoint ``OUT/checkpoints/KEY.pt`` (atomically); with ``resume`` the trainer is
    restored to its last checkpointed epoch first.  Shared by :func:`train` and
    :func:`pulsetrain.training.stacked.train_stacked`.
    """

    def __init__(self, trainer: Trainer, out: str | Path | None = None,
                 resume: bool = False) -> None:
        self.trainer = trainer
        cfg = trainer.cfg
        self.key = cfg.key()
        self.store: ResultStore | None = None
        self.ckpt: Path | None = None
        if out is not None:
            out = Path(out)
            self.store = ResultStore(out / "results.sqlite")
            self.ckpt = out / "checkpoints" / f"{self.key}.pt"
            self.ckpt.parent.mkdir(parents=True, exist_ok=True)
            if resume and self.ckpt.is_file():
                # tensors come back on the CPU and are copied into the run's own tensors,
                # so a checkpoint resumes whatever torch device wrote it
                trainer.load_state(torch.load(self.ckpt, map_location="cpu",
                                              weights_only=False))
            finished = len(trainer.history) >= cfg.epochs  # e.g. riding along in a stack
            self.store.put_run(self.key, cfg.model_dump(mode="json"),
                               "done" if finished else "running")
            # an interruption between the checkpoint and the store write loses no epoch:
            # the checkpoint's history is the reference, written back on resume
            for done in trainer.history:
                self.store.put_epoch(self.key, done["epoch"], done)
        self._prev = trainer.history[-1]["layers"] if trainer.history else [
            {"up_total": 0, "down_total": 0} for _ in analog_layers(trainer.model)]

    @property
    def epochs_done(self) -> int:
        """Epochs finished so far (after a resume: those of the checkpoint)."""
        return len(self.trainer.history)

    def record_epoch(self, epoch: int, lr: float, loss: float, wall_s: float, data: MNIST,
                     stacked_runs: int = 1) -> dict[str, Any]:
        """Evaluate after a finished epoch, append the metrics, checkpoint and store them
        (``stacked_runs`` > 1: the run trained in a stack of that many runs)."""
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
        if isinstance(trainer.optimizer, MixedPrecisionSGD):
            metrics["digital_updates_total"] = trainer.optimizer.digital_updates
        if trainer.sp_report is not None:  # the one-off cost of finding the references
            metrics["sp_estimation_pulses"] = trainer.sp_report.pulses
        if stacked_runs > 1:
            metrics["stacked_runs"] = stacked_runs
        trainer.history.append(metrics)
        if self.store is not None and self.ckpt is not None:
            atomic_write(self.ckpt, partial(torch.save, trainer.state()))
            self.store.put_epoch(self.key, epoch, metrics)
        return metrics

    def finish(self) -> TrainResult:
        """Mark the run done in the store; its result."""
        cfg = self.trainer.cfg
        if self.store is not None:
            self.store.put_run(self.key, cfg.model_dump(mode="json"), "done")
        sp = asdict(self.trainer.sp_report) if self.trainer.sp_report else None
        return TrainResult(self.key, cfg.model_dump(mode="json"), self.trainer.history, sp)


def train(cfg: TrainConfig, out: str | Path | None = None, resume: bool = False,
          data: MNIST | None = None, on_epoch: EpochCallback | None = None,
          on_batch: BatchCallback | None = None) -> TrainResult:
    """Train one configuration.

    With ``out`` set, every finished epoch is written to ``OUT/results.sqlite``
    and a checkpoint ``OUT/checkpoints/KEY.pt`` (atomically); with ``resume``
    a run continues after its last checkpointed epoch and ends with the same
    numbers as an uninterrupted run.
    """
    data = data or load_mnist(cfg.data_dir, cfg.val_size, train_subset=cfg.train_subset,
                              test_subset=cfg.test_subset)
    trainer = Trainer.build(cfg)
    log = RunLog(trainer, out, resume)
    for epoch in range(log.epochs_done + 1, cfg.epochs + 1):
        t0 = time.perf_counter()
        lr = trainer.optimizer.param_groups[0]["lr"]
        loss = trainer.train_epoch(data.train, epoch, on_batch)
        trainer.scheduler.step()
        metrics = log.record_epoch(epoch, lr, loss, time.perf_counter() - t0, data)
        if on_epoch is not None:
            on_epoch(metrics)
    return log.finish()
