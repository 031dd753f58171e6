"""The driver: train one run, or several as a stack, epoch by epoch (no printing).

:func:`train_runs` serves both: a single run is a stack of one (its model called as it
is, so a run alone computes exactly what it always did), several runs of one network
shape train in lockstep (:class:`~pulsetrain.training.stacked.RunStack`).  Per run,
:class:`~pulsetrain.training.trainer.RunLog` keeps the metrics and the checkpoints and
reports each epoch (to the results store, or to a study's driver); resumed runs behind
the others catch up inside the full stack.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pulsetrain.crossbar.symmetry import SymmetryProgressCallback
from pulsetrain.store.sqlite import ResultStore
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import MNIST
from pulsetrain.training.datasets import load_dataset
from pulsetrain.training.records import EventSink
from pulsetrain.training.stacked import RunStack, check_stack
from pulsetrain.training.trainer import (
    BatchCallback,
    EpochCallback,
    RunLog,
    Trainer,
    TrainResult,
)


def train_runs(cfgs: Sequence[TrainConfig], out: str | Path | None = None,
               resume: bool = False, data: MNIST | None = None, mvm: str = "batched",
               on_epoch: EpochCallback | None = None,
               on_batch: BatchCallback | None = None,
               sink: EventSink | None = None,
               on_sp_progress: SymmetryProgressCallback | None = None) -> list[TrainResult]:
    """Train one configuration, or several together as a stack.

    With ``out`` set, every finished epoch of every run writes a checkpoint
    ``OUT/checkpoints/KEY.pt`` (atomically) and is recorded in ``OUT/results.sqlite``
    — or, with ``sink`` given, reported to it instead (a study driver writes its store
    itself); with ``resume`` each run continues after its last checkpointed epoch and
    ends with the numbers of an uninterrupted run.  Runs already past an epoch (a kill fell
    between two runs' records) ride along and are restored, so the lagging runs compute
    exactly as in an uninterrupted stack.  In a stack of several runs a run's
    ``wall_s`` is the stack's epoch time divided by the number of runs (``stacked_runs``
    in its metrics).  ``mvm``: see :class:`~pulsetrain.training.stacked.RunStack`.
    ``on_sp_progress`` hears how SP shifting's symmetry-point estimation proceeds
    (:class:`~pulsetrain.crossbar.symmetry.SymmetryProgress`) while the runs are built.
    """
    cfgs = list(cfgs)
    check_stack(cfgs, mvm)  # before any run is marked "running" in the store
    if len({c.key() for c in cfgs}) != len(cfgs):
        raise ValueError("a stack holds each configuration once")
    first = cfgs[0]
    data = data or load_dataset(first.dataset, first.data_dir, first.val_size,
                                train_subset=first.train_subset, test_subset=first.test_subset)
    # bad input fails before anything is stored
    trainers = [Trainer.build(c, on_sp_progress) for c in cfgs]
    if sink is None and out is not None:
        sink = ResultStore(Path(out) / "results.sqlite").apply
    logs = [RunLog(t, out, resume, sink) for t in trainers]
    stack = RunStack(trainers, mvm)
    for epoch in range(min(log.epochs_done for log in logs) + 1, first.epochs + 1):
        active = [k for k, log in enumerate(logs) if log.epochs_done < epoch]
        riders = {k: trainers[k].state() for k in range(len(trainers)) if k not in active}
        t0 = time.perf_counter()
        lrs = [t.optimizer.param_groups[0]["lr"] for t in trainers]
        losses = stack.train_epoch(data.train, epoch, on_batch)
        for k in active:
            trainers[k].scheduler.step()
        wall = (time.perf_counter() - t0) / len(stack)
        for k, state in riders.items():
            trainers[k].load_state(state)
        for k in active:
            metrics = logs[k].record_epoch(epoch, lrs[k], losses[k], wall, data,
                                           stacked_runs=len(stack))
            if on_epoch is not None:
                on_epoch(metrics)
    return [log.finish() for log in logs]


def train(cfg: TrainConfig, out: str | Path | None = None, resume: bool = False,
          data: MNIST | None = None, on_epoch: EpochCallback | None = None,
          on_batch: BatchCallback | None = None, sink: EventSink | None = None,
          on_sp_progress: SymmetryProgressCallback | None = None) -> TrainResult:
    """Train one configuration (a stack of one; see :func:`train_runs`)."""
    return train_runs([cfg], out, resume, data, "exact", on_epoch, on_batch, sink,
                      on_sp_progress)[0]


train_stacked = train_runs
"""Several configurations together (the same driver)."""
