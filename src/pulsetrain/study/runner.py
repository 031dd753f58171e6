"""Run a study: every (device × algorithm × seed), resumable, in a pluggable executor."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pulsetrain.store.sqlite import ResultStore
from pulsetrain.study.config import StudyConfig
from pulsetrain.training.config import TrainConfig

STUDY_FILE = "study.json"
RESULTS_FILE = "results.sqlite"


class Executor(Protocol):
    """What :func:`run_study` needs from an executor (``concurrent.futures`` style)."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]: ...


@dataclass(frozen=True)
class RunTask:
    """Runs one worker trains: one run, or several as a stack."""

    configs: tuple[dict[str, Any], ...]
    out: str
    threads: int | None
    mvm: str = "batched"


def plan_stacks(runs: list[TrainConfig], stack: int | str, workers: int
                ) -> list[list[TrainConfig]]:
    """Group runs into tasks: runs that can share a stack
    (:func:`~pulsetrain.training.stacked.stack_signature`) are dealt round-robin into
    stacks of at most ``stack`` runs (``"auto"``: as many stacks as ``workers``), so each
    stack gets a mix of algorithms and the stacks take similar time; other runs (the
    float baseline) are tasks of their own, after the stacks."""
    from pulsetrain.training.stacked import stack_signature

    groups: dict[Any, list[TrainConfig]] = {}
    singles: list[list[TrainConfig]] = []
    for run in runs:
        sig = stack_signature(run)
        if sig is None or stack == 1:
            singles.append([run])
        else:
            groups.setdefault(sig, []).append(run)
    tasks: list[list[TrainConfig]] = []
    for members in groups.values():
        size = -(-len(members) // workers) if stack == "auto" else int(stack)
        n_stacks = -(-len(members) // max(size, 1))
        parts: list[list[TrainConfig]] = [[] for _ in range(n_stacks)]
        for k, run in enumerate(members):
            parts[k % n_stacks].append(run)
        tasks += parts
    return tasks + singles


_DATA: dict[tuple[Any, ...], Any] = {}


def _mnist(cfg: TrainConfig) -> Any:
    """MNIST for a run, loaded once per process and shared by its runs."""
    from pulsetrain.training.data import load_mnist

    key = (cfg.data_dir, cfg.val_size, cfg.train_subset, cfg.test_subset)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_mnist(cfg.data_dir, cfg.val_size, train_subset=cfg.train_subset,
                                test_subset=cfg.test_subset)
    return _DATA[key]


def _run_task(task: RunTask, on_epoch: Callable[[dict[str, Any]], None] | None = None
              ) -> list[dict[str, Any]]:
    """Worker body: train the task's run(s), resuming from their checkpoints."""
    import torch

    from pulsetrain.training.stacked import train_stacked
    from pulsetrain.training.trainer import train

    if task.threads:
        torch.set_num_threads(task.threads)
        try:  # numba's parallel kernels use their own thread pool
            import numba

            numba.set_num_threads(task.threads)
        except ImportError:  # pragma: no cover
            pass
    cfgs = [TrainConfig.model_validate(c) for c in task.configs]
    if len(cfgs) == 1:
        results = [train(cfgs[0], out=task.out, resume=True, data=_mnist(cfgs[0]),
                         on_epoch=on_epoch)]
    else:
        results = train_stacked(cfgs, out=task.out, resume=True, data=_mnist(cfgs[0]),
                                mvm=task.mvm, on_epoch=on_epoch)
    return [{"key": r.key, "test_acc": r.final["test_acc"], "device": c.device,
             "algorithm": c.algorithm, "seed": c.seed} for r, c in zip(results, cfgs,
                                                                      strict=True)]


def run_study(cfg: StudyConfig, out: str | Path, executor: Executor | None = None,
              on_done: Callable[[dict[str, Any], int, int], None] | None = None,
              on_epoch: Callable[[dict[str, Any]], None] | None = None
              ) -> list[dict[str, Any]]:
    """Run every run of ``cfg`` not yet finished in ``out`` (``results.sqlite`` there).

    Finished runs (status ``done`` in the store) are never recomputed; a half-finished
    run continues from its last checkpoint.  Runs of one network shape train together
    as stacks (``cfg.stack``, see :func:`plan_stacks`).  With ``cfg.workers > 1`` a
    local process pool trains the tasks in parallel (one thread each), or pass any
    ``executor`` with a ``map`` method (e.g. a distributed one).  ``on_done`` is called
    per finished run; ``on_epoch`` per finished epoch of a run, only for tasks run in
    this process.
    """
    cfg.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / STUDY_FILE).write_text(json.dumps(cfg.model_dump(mode="json"), indent=2))
    store = ResultStore(out / RESULTS_FILE)
    runs = cfg.runs()
    todo = [r for r in runs if store.run_status(r.key()) != "done"]
    done = [{"key": r.key(), "skipped": True} for r in runs if r not in todo]
    total = len(runs)
    if on_done is not None:
        for item in done:
            on_done(item, len(done), total)
    threads = 1 if cfg.workers > 1 else None
    tasks = [RunTask(tuple(r.model_dump(mode="json") for r in group), str(out), threads,
                     cfg.stack_mvm)
             for group in plan_stacks(todo, cfg.stack, cfg.workers)]
    if executor is None:
        if cfg.workers > 1 and len(tasks) > 1:
            # spawn, not fork: a parent that already ran numba's parallel (OpenMP) kernels
            # must not fork (GNU OpenMP aborts the child)
            with ProcessPoolExecutor(max_workers=cfg.workers,
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                return done + _collect(pool.map(_run_task, tasks), done, total, on_done)
        return done + _collect((_run_task(t, on_epoch) for t in tasks), done, total,
                               on_done)
    return done + _collect(executor.map(_run_task, tasks), done, total, on_done)


def _collect(results: Iterable[list[dict[str, Any]]], done: list[dict[str, Any]],
             total: int, on_done: Callable[[dict[str, Any], int, int], None] | None
             ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for items in results:
        for item in items:
            out.append(item)
            if on_done is not None:
                on_done(item, len(done) + len(out), total)
    return out
