"""Run a study: every (device × algorithm × seed), resumable, in a pluggable executor."""

from __future__ import annotations

import json
import multiprocessing
import threading
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
    """Runs one worker trains: one run, or several as a stack.  ``progress``: a queue
    (multiprocessing manager proxy) that receives each finished epoch's metrics."""

    configs: tuple[dict[str, Any], ...]
    out: str
    threads: int | None
    mvm: str = "batched"
    progress: Any = None


def plan_stacks(runs: list[TrainConfig], stack: int | str, workers: int
                ) -> list[list[TrainConfig]]:
    """Group runs into tasks: runs that can share a stack
    (:func:`~pulsetrain.training.stacked.stack_signature`) are dealt round-robin into
    stacks of at most ``stack`` runs (``"auto"``: as many stacks as ``workers``, or as
    runs if fewer), so each stack gets a mix of algorithms and the stacks take similar
    time; other runs (the float baseline) are tasks of their own, after the stacks.  The
    plan depends only on its arguments: planned over all runs of a study, a resumed
    study trains every run in the same stack as before."""
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
        n_stacks = (min(workers, len(members)) if stack == "auto"
                    else -(-len(members) // int(stack)))
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
    if on_epoch is None and task.progress is not None:
        on_epoch = task.progress.put
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
    per finished run; ``on_epoch`` per finished epoch of a run (in this process and from
    the local pool's workers; not through a custom executor).
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
    # planned over all runs, so a resumed study keeps its stacks (finished members ride
    # along, restored after each epoch): its runs end with the numbers of an
    # uninterrupted study run with the same workers and stack settings
    pending = {r.key() for r in todo}
    groups = [g for g in plan_stacks(runs, cfg.stack, cfg.workers)
              if any(r.key() in pending for r in g)]
    pool = executor is None and cfg.workers > 1 and len(groups) > 1
    threads = 1 if pool else None

    def tasks(progress: Any = None) -> list[RunTask]:
        return [RunTask(tuple(r.model_dump(mode="json") for r in g), str(out), threads,
                        cfg.stack_mvm, progress) for g in groups]

    if executor is not None:
        return done + _collect(executor.map(_run_task, tasks()), pending, done, total,
                               on_done)
    if not pool:
        return done + _collect((_run_task(t, on_epoch) for t in tasks()), pending, done,
                               total, on_done)
    # spawn, not fork: a parent that already ran numba's parallel (OpenMP) kernels must
    # not fork (GNU OpenMP aborts the child); workers report epochs through a queue
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=cfg.workers,
                                                       mp_context=ctx) as workers:
        queue = manager.Queue()
        relay = threading.Thread(target=_relay, args=(queue, on_epoch), daemon=True)
        relay.start()
        try:
            return done + _collect(workers.map(_run_task, tasks(queue)), pending, done,
                                   total, on_done)
        finally:
            queue.put(None)
            relay.join()


def _relay(queue: Any, on_epoch: Callable[[dict[str, Any]], None] | None) -> None:
    """Pass the workers' epoch reports to ``on_epoch`` until a ``None`` arrives."""
    while (item := queue.get()) is not None:
        if on_epoch is not None:
            on_epoch(item)


def _collect(results: Iterable[list[dict[str, Any]]], pending: set[str],
             done: list[dict[str, Any]], total: int,
             on_done: Callable[[dict[str, Any], int, int], None] | None
             ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for items in results:
        for item in items:
            if item["key"] not in pending:  # a finished run that rode along in its stack
                continue
            out.append(item)
            if on_done is not None:
                on_done(item, len(done) + len(out), total)
    return out
