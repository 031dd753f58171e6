"""Energy–convergence studies: many training runs, stored, analysed, reported."""

from pulsetrain.study.analysis import summarise_runs, summarise_study
from pulsetrain.study.config import AlgorithmSpec, StudyConfig, reproduce_config
from pulsetrain.study.runner import (
    Executor,
    LocalPoolExecutor,
    RunTask,
    SerialExecutor,
    run_study,
)

__all__ = ["AlgorithmSpec", "Executor", "LocalPoolExecutor", "RunTask", "SerialExecutor",
           "StudyConfig", "reproduce_config", "run_study", "summarise_runs",
           "summarise_study"]
