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


class SerialExecutor:
    """Runs tasks one after another in this process."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return (fn(item) for item in items)


@dataclass(frozen=True)
class RunTask:
    config: dict[str, Any]
    out: str
    threads: int | None


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


def _run_one(task: RunTask) -> dict[str, Any]:
    """Worker body: train one configuration (resuming from its checkpoint)."""
    import torch

    from pulsetrain.training.trainer import train

    if task.threads:
        torch.set_num_threads(task.threads)
        try:  # numba's parallel kernels use their own thread pool
            import numba

            numba.set_num_threads(task.threads)
        except ImportError:  # pragma: no cover
            pass
    cfg = TrainConfig.model_validate(task.config)
    result = train(cfg, out=task.out, resume=True, data=_mnist(cfg))
    return {"key": result.key, "test_acc": result.final["test_acc"],
            "device": cfg.device, "algorithm": cfg.algorithm, "seed": cfg.seed}


def run_study(cfg: StudyConfig, out: str | Path, executor: Executor | None = None,
              on_done: Callable[[dict[str, Any], int, int], None] | None = None
              ) -> list[dict[str, Any]]:
    """Run every run of ``cfg`` not yet finished in ``out`` (``results.sqlite`` there).

    Finished runs (status ``done`` in the store) are never recomputed; a half-finished
    run continues from its last checkpoint.  Runs are independent: with
    ``cfg.workers > 1`` a local process pool runs them in parallel (one torch thread
    each), or pass any ``executor`` with a ``map`` method (e.g. a distributed one).
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
    tasks = [RunTask(r.model_dump(mode="json"), str(out), threads) for r in todo]
    if executor is None:
        if cfg.workers > 1 and len(tasks) > 1:
            # spawn, not fork: a parent that already ran numba's parallel (OpenMP) kernels
            # must not fork (GNU OpenMP aborts the child)
            with ProcessPoolExecutor(max_workers=cfg.workers,
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                return done + _collect(pool.map(_run_one, tasks), done, total, on_done)
        executor = SerialExecutor()
    return done + _collect(executor.map(_run_one, tasks), done, total, on_done)


def _collect(results: Iterable[dict[str, Any]], done: list[dict[str, Any]], total: int,
             on_done: Callable[[dict[str, Any], int, int], None] | None
             ) -> list[dict[str, Any]]:
    out = []
    for item in results:
        out.append(item)
        if on_done is not None:
            on_done(item, len(done) + len(out), total)
    return out
