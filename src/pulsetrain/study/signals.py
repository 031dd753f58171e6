"""Stopping a study cleanly on SIGTERM / SIGINT, and workers that never outlive it.

A batch scheduler (SLURM, Kubernetes) stops a job with SIGTERM to its main process; a
user presses Ctrl-C (SIGINT).  :func:`stop_on_signals` turns SIGTERM into
:class:`StudyInterrupted` in the main thread (SIGINT raises ``KeyboardInterrupt`` as
usual), so the executor's clean-up runs: the local pool terminates its workers, the Ray
executor cancels its tasks.  What is stored stays: the results store is written per
event by the driver and checkpoints are written atomically, so a rerun of the same
command resumes.  :func:`worker_init` runs first in every pool worker (and the pool's
queue manager): it asks Linux to SIGKILL the process when its parent dies
(``PR_SET_PDEATHSIG``), so even a SIGKILLed driver leaves no orphans, and it ignores
SIGINT (a Ctrl-C reaches the whole process group; the driver decides and stops them).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from pulsetrain.errors import PulsetrainError

_PR_SET_PDEATHSIG = 1


class StudyInterrupted(PulsetrainError):
    """The study was stopped by a signal (``signum``); what is stored is kept."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


def interrupted_exit_code(signum: int) -> int:
    """The shell's convention for a process ended by signal ``signum``: 128 + signum."""
    return 128 + signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`StudyInterrupted` in the main thread.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    The previous handler is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupted(signum: int, frame: FrameType | None) -> None:
        raise StudyInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def worker_init() -> None:
    """First call in a worker process: die with the parent, leave SIGINT to the driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to ask for
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
