"""Studies on Ray: one Ray task per run or stack, their events streamed to the driver.

Optional (``pip install 'pulsetrain[ray]'``): nothing imports Ray before a
:class:`RayExecutor` is made, so ``import pulsetrain`` and the CLI never pay for it.

Each :class:`~pulsetrain.study.runner.RunTask` is one Ray task (``num_cpus`` = its
threads).  The tasks put every :class:`~pulsetrain.training.records.RunEvent` on one
Ray queue (an actor; each put returns once the queue holds the event); the driver
drains it while it waits for the tasks and calls ``emit`` itself, so it stays the single
writer of the study's store.  A task whose worker process dies is run again by Ray
(``max_retries``); the new attempt resumes from the run's last per-epoch checkpoint
(``OUT/checkpoints``, which must be on a path every Ray node reaches), reports the
checkpointed epochs again as ``replay`` events (stored again with the same metrics:
the store keeps one row per run and epoch) and continues.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from pulsetrain.errors import InputError, PulsetrainError
from pulsetrain.study.runner import Executor, RunTask, run_task
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.records import EventSink

RAY_HINT = ("executor 'ray' needs Ray, which is not installed: pip install "
            "'pulsetrain[ray]' (or pip install 'ray>=2.9')")
"""The one-line error when Ray is asked for but missing."""


def import_ray() -> ModuleType:
    """The ``ray`` module.

    Raises
    ------
    InputError
        With :data:`RAY_HINT` (how to install it) when Ray cannot be imported.
    """
    try:
        import ray
    except ImportError:
        raise InputError(RAY_HINT) from None
    return ray


class RayExecutor(Executor):
    """Every task as a Ray task, on a local Ray or a cluster.

    Parameters
    ----------
    address
        Ray cluster to join: ``HOST:PORT`` of a head node (``ray start --head``),
        ``ray://HOST:10001`` (Ray Client) or ``auto`` (the cluster started on this
        machine).  ``None``: the cluster in ``RAY_ADDRESS`` if that is set, else a
        private local Ray started for this study with ``workers`` CPUs and shut down
        after it.  Ignored when this process already called ``ray.init``.
    workers
        CPUs of the private local Ray (``address`` None), i.e. runs in parallel.
    threads
        Torch/numba threads of each task, and the CPUs it asks Ray for.
    max_retries
        How often Ray reruns a task whose worker process died (each attempt resumes
        from the last checkpoint).  Exceptions raised by the training itself are not
        retried.
    runtime_env
        Ray runtime environment of the tasks (e.g. ``{"env_vars": {...}}``).
    poll_s
        How often (seconds) the driver drains the event queue while tasks run.

    Raises
    ------
    InputError
        When Ray is not installed (:data:`RAY_HINT`), or for bad arguments.
    """

    def __init__(self, address: str | None = None, workers: int = 1, threads: int = 1,
                 max_retries: int = 3, runtime_env: dict[str, Any] | None = None,
                 poll_s: float = 0.2) -> None:
        import_ray()  # fail before anything is written
        if workers < 1 or threads < 1 or max_retries < 0 or not poll_s > 0:
            raise InputError(f"RayExecutor: need workers >= 1, threads >= 1, max_retries >= 0"
                             f" and poll_s > 0, got {workers}, {threads}, {max_retries}, "
                             f"{poll_s}")
        self.address = address
        self.workers = workers
        self.task_threads = threads
        self.max_retries = max_retries
        self.runtime_env = runtime_env
        self.poll_s = poll_s

    def _init(self, ray: ModuleType) -> bool:
        """Start or join Ray unless this process already did; whether we started it."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
        address = self.address
        if address is None and not os.environ.get("RAY_ADDRESS"):
            address = "local"
            kwargs.update(num_cpus=self.workers, include_dashboard=False)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = address or os.environ.get("RAY_ADDRESS")
            raise PulsetrainError(f"cannot start or reach Ray at {where!r}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else exc!r}"
                                  ) from None
        return True

    def run(self, tasks: Sequence[RunTask], emit: EventSink) -> Iterator[list[dict[str, Any]]]:
        if not tasks:  # e.g. a finished study run again: no Ray start-up for nothing
            return
        ray = import_ray()
        from ray.util.queue import Queue

        # ray.init may set its own SIGTERM handler (exit at once): keep the caller's, e.g.
        # pulsetrain.study.signals.stop_on_signals, so a stop runs the clean-up below
        in_main = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if in_main else None
        started = self._init(ray)
        if in_main and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
        queue = Queue(actor_options={"num_cpus": 0})
        pending: dict[Any, RunTask] = {}
        try:
            remote = ray.remote(_ray_task)
            for task in tasks:
                # workers may start elsewhere: the checkpoint folder as an absolute path
                task = replace(task, out=os.path.abspath(task.out))
                options: dict[str, Any] = {"num_cpus": task.threads or 1,
                                           "max_retries": self.max_retries}
                if self.runtime_env is not None:
                    options["runtime_env"] = self.runtime_env
                pending[remote.options(**options).remote(task, queue)] = task
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s)
                _drain(queue, emit)  # a finished task's events are all queued by now
                for ref in ready:
                    task = pending.pop(ref)
                    yield self._result(ray, ref, task)
        finally:
            for ref in pending:  # the driver stops early (error, signal: see signals)
                ray.cancel(ref, force=True)
            ray.kill(queue.actor)
            if started:
                ray.shutdown()

    def _result(self, ray: ModuleType, ref: Any, task: RunTask) -> list[dict[str, Any]]:
        """A finished task's results; its failure as a one-line error where it is ours."""
        try:
            result: list[dict[str, Any]] = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, PulsetrainError):
                raise exc.cause from None
            raise
        except ray.exceptions.RayError as exc:
            keys = ", ".join(TrainConfig.model_validate(c).key() for c in task.configs)
            raise PulsetrainError(
                f"Ray task of run(s) {keys} failed after {self.max_retries} retries "
                f"({type(exc).__name__}); run the study again to resume from its "
                "checkpoints") from None
        return result


def _ray_task(task: RunTask, queue: Any) -> list[dict[str, Any]]:
    """Worker body of a Ray task: :func:`run_task`, reporting to the driver's queue."""
    return run_task(task, queue.put)


def _drain(queue: Any, emit: EventSink) -> None:
    """Pass every queued event to ``emit``, oldest first (the driver is the only reader)."""
    n = queue.qsize()
    if n:
        for event in queue.get_nowait_batch(n):
            emit(event)
