"""Run a study: every (device × algorithm × seed), resumable, on a pluggable executor.

The driver (:func:`run_study`, in the calling process) is the single writer of the
study's results store: the executor trains the tasks wherever it likes and streams back
what each run reports (:class:`~pulsetrain.training.records.RunEvent`); only
checkpoints are written by the workers, under ``OUT/checkpoints`` (a path every worker
must reach).  Executors are peers behind one small interface (:class:`Executor`):
:class:`SerialExecutor` (in this process) and :class:`LocalPoolExecutor` (a process
pool on this machine), and :class:`~pulsetrain.study.ray_executor.RayExecutor` (Ray, an
optional extra); :func:`make_executor` picks one by name.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

from pulsetrain.errors import InputError
from pulsetrain.store.sqlite import ResultStore
from pulsetrain.study.config import StudyConfig
from pulsetrain.study.signals import stop_on_signals, worker_init
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.records import EventSink, RunEvent

STUDY_FILE = "study.json"
RESULTS_FILE = "results.sqlite"


@dataclass(frozen=True)
class RunTask:
    """Runs one worker trains: one run, or several as a stack (``mvm`` mode), with
    checkpoints under ``out`` and torch/numba limited to ``threads`` (None: as they are)."""

    configs: tuple[dict[str, Any], ...]
    out: str
    threads: int | None
    mvm: str = "batched"


class Executor(ABC):
    """Trains tasks and streams back what their runs report.

    :meth:`run` must call ``emit`` in the calling (driver) process for every
    :class:`~pulsetrain.training.records.RunEvent` of every task, in the order each
    run emitted them, and yield each task's results (:func:`run_task`'s return value) as
    the task finishes.  ``task_threads``: the torch/numba threads :func:`run_study` gives
    each task (None: as they are).
    """

    task_threads: int | None = None

    @abstractmethod
    def run(self, tasks: Sequence[RunTask], emit: EventSink) -> Iterator[list[dict[str, Any]]]:
        """Train ``tasks``; see the class docstring."""


class SerialExecutor(Executor):
    """Every task in this process, one after the other."""

    def run(self, tasks: Sequence[RunTask], emit: EventSink) -> Iterator[list[dict[str, Any]]]:
        for task in tasks:
            yield run_task(task, emit)


class LocalPoolExecutor(Executor):
    """A process pool on this machine (``workers`` processes, one thread each).

    Workers are spawned, not forked (a parent that already ran numba's OpenMP kernels
    must not fork); their events come back through a manager queue and are passed to
    ``emit`` by a relay thread of the driver.
    """

    task_threads = 1

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def run(self, tasks: Sequence[RunTask], emit: EventSink) -> Iterator[list[dict[str, Any]]]:
        ctx = multiprocessing.get_context("spawn")
        manager = SyncManager(ctx=ctx)
        manager.start(initializer=worker_init)  # dies with this process too
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                   initializer=worker_init)
        queue = manager.Queue()
        relay = threading.Thread(target=_relay, args=(queue, emit), daemon=True)
        relay.start()
        stopped = False
        try:
            futures = [pool.submit(_queued_task, task, queue) for task in tasks]
            for future in futures:
                yield future.result()
        except BaseException:  # interrupted (a signal, Ctrl-C) or failed: stop the workers
            stopped = True
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=not stopped, cancel_futures=stopped)
            try:
                queue.put(None)
                relay.join(timeout=10)
            finally:
                manager.shutdown()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes now (``shutdown`` would wait for running tasks)."""
    procs = list(getattr(pool, "_processes", {}).values())  # no public API before 3.14
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():  # pragma: no cover - a worker stuck in native code
            proc.kill()


def _queued_task(task: RunTask, queue: Any) -> list[dict[str, Any]]:
    return run_task(task, queue.put)


def _relay(queue: Any, emit: EventSink) -> None:
    """Pass the workers' events to ``emit`` until a ``None`` arrives."""
    while (event := queue.get()) is not None:
        emit(event)


EXECUTORS = ("auto", "serial", "local", "ray")
"""Executor names of :func:`make_executor` (a study's ``executor``)."""


def check_executor(name: str, address: str | None = None) -> None:
    """Check that :func:`make_executor` can make executor ``name`` (with ``address``).

    Raises
    ------
    InputError
        For an unknown name, an ``address`` for another executor than ``ray``, or
        ``ray`` without Ray installed (saying how to install it).
    """
    if name not in EXECUTORS:
        raise InputError(f"executor (--executor): expected one of {', '.join(EXECUTORS)}, "
                         f"got {name!r}")
    if address is not None and name != "ray":
        raise InputError(f"ray_address (--address) {address!r} is for executor 'ray', not "
                         f"{name!r}")
    if name == "ray":
        from pulsetrain.study.ray_executor import import_ray

        import_ray()


def make_executor(name: str, workers: int, address: str | None = None,
                  n_tasks: int = 2) -> Executor:
    """The executor called ``name``: ``serial``, ``local`` (a pool of ``workers``
    processes), ``ray`` (:class:`~pulsetrain.study.ray_executor.RayExecutor` at
    ``address``, or a local Ray with ``workers`` CPUs) or ``auto`` (the pool when
    ``workers`` > 1 and there are ``n_tasks`` > 1 tasks, else serial).

    Raises
    ------
    InputError
        As :func:`check_executor`.
    """
    check_executor(name, address)
    if name == "ray":
        from pulsetrain.study.ray_executor import RayExecutor

        return RayExecutor(address, workers)
    if name == "local" or (name == "auto" and workers > 1 and n_tasks > 1):
        return LocalPoolExecutor(workers)
    return SerialExecutor()


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
    """The dataset of a run, loaded once per process and shared by its runs."""
    from pulsetrain.training.datasets import load_dataset

    key = (cfg.dataset, cfg.data_dir, cfg.val_size, cfg.train_subset, cfg.test_subset)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_dataset(cfg.dataset, cfg.data_dir, cfg.val_size,
                                  train_subset=cfg.train_subset, test_subset=cfg.test_subset)
    return _DATA[key]


EXIT_AFTER_EPOCH_ENV = "PULSETRAIN_TEST_EXIT_AFTER_EPOCH"
"""Fault injection for tests only: where this environment variable names a marker file
that does not exist yet, :func:`run_task` creates it and ends its process
(``os._exit``) right after reporting its first new epoch — once, whichever worker gets
there first.  Unset (always, outside tests) it does nothing."""


def _exit_once_after_epoch(emit: EventSink, marker: str) -> EventSink:
    """``emit``, then die after the first new epoch if ``marker`` can be created."""

    def wrapped(event: RunEvent) -> None:
        emit(event)
        if event.kind == "epoch" and not event.replay:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(70)

    return wrapped


def run_task(task: RunTask, emit: EventSink) -> list[dict[str, Any]]:
    """Worker body: train the task's run(s), resuming from their checkpoints, and report
    every event to ``emit``; returns one summary per run."""
    import torch

    from pulsetrain.training.driver import train_runs

    if marker := os.environ.get(EXIT_AFTER_EPOCH_ENV):
        emit = _exit_once_after_epoch(emit, marker)

    if task.threads:
        torch.set_num_threads(task.threads)
        try:  # numba's parallel kernels use their own thread pool
            import numba

            numba.set_num_threads(task.threads)
        except ImportError:  # pragma: no cover
            pass
    cfgs = [TrainConfig.model_validate(c) for c in task.configs]
    mvm = "exact" if len(cfgs) == 1 else task.mvm
    results = train_runs(cfgs, out=task.out, resume=True, data=_mnist(cfgs[0]), mvm=mvm,
                         sink=emit)
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
    as stacks (``cfg.stack``, see :func:`plan_stacks`).  The executor: ``executor``, else
    the one ``cfg.executor`` names (:func:`make_executor`; ``auto``: a
    :class:`LocalPoolExecutor` with ``cfg.workers`` processes when there is more than
    one task and worker, else a :class:`SerialExecutor`).  SIGTERM (and SIGINT) stop
    it: the executor stops its workers and :class:`~pulsetrain.study.signals.StudyInterrupted`
    (``KeyboardInterrupt``) is raised, with every finished epoch stored; running it again
    resumes.  This process writes the store
    from the events the runs report; ``on_epoch`` is called per new epoch of a run (its
    metrics and the run's ``key``) and ``on_done`` per finished run, whatever the
    executor.  Worker events travel on their own channel: a run's last ``on_epoch`` may
    come after its ``on_done``.
    """
    cfg.check()
    if executor is None and (cfg.executor != "auto" or cfg.ray_address is not None):
        # a named one now, so its errors (Ray missing, stray address) come before any write
        executor = make_executor(cfg.executor, cfg.workers, cfg.ray_address)
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
    if executor is None:
        executor = make_executor("auto", cfg.workers, n_tasks=len(groups))
    threads = executor.task_threads
    tasks = [RunTask(tuple(r.model_dump(mode="json") for r in g), str(out), threads,
                     cfg.stack_mvm) for g in groups]
    lock = threading.Lock()  # events may arrive on an executor's relay thread

    def emit(event: RunEvent) -> None:
        with lock:
            store.apply(event)
            if event.kind == "epoch" and not event.replay and event.key in pending \
                    and on_epoch is not None:
                on_epoch({**event.metrics, "key": event.key})

    out_items: list[dict[str, Any]] = []
    with stop_on_signals():  # SIGTERM: the executor stops its workers, the store stays
        for items in executor.run(tasks, emit):
            for item in items:
                if item["key"] not in pending:  # a finished run that rode along in its stack
                    continue
                out_items.append(item)
                if on_done is not None:
                    on_done(item, len(done) + len(out_items), total)
    return done + out_items
