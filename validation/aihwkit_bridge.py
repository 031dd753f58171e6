"""Run AIHWKit tasks in its own virtual env, through a subprocess.

AIHWKit 1.1.0's CPU wheel needs torch 2.10.0, so it lives in a separate venv
(``scripts/setup-aihwkit.sh`` creates ``.venv-aihwkit``) and pulsetrain talks to it
with JSON over stdin/stdout (:mod:`validation.aihwkit_worker`).  The venv's Python is
the ``python`` argument of :func:`aihwkit_python`, else ``$PULSETRAIN_AIHWKIT_PYTHON``,
else ``.venv-aihwkit/bin/python`` in this checkout or in the working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from pulsetrain.errors import PulsetrainError

WORKER = Path(__file__).with_name("aihwkit_worker.py")
ENV_VAR = "PULSETRAIN_AIHWKIT_PYTHON"


class AihwkitUnavailable(PulsetrainError):
    """The AIHWKit venv is missing or broken."""


def _candidates(python: str | None) -> list[Path]:
    out = []
    if python:
        out.append(Path(python))
    if os.environ.get(ENV_VAR):
        out.append(Path(os.environ[ENV_VAR]))
    checkout = Path(__file__).resolve().parents[1]  # validation/ lives in the checkout
    out.append(checkout / ".venv-aihwkit" / "bin" / "python")
    out.append(Path.cwd() / ".venv-aihwkit" / "bin" / "python")
    return out


@lru_cache(maxsize=4)
def aihwkit_python(python: str | None = None) -> Path:
    """Path of a Python that imports AIHWKit (``python``, else the env var, else the
    checkout's ``.venv-aihwkit``); raises :class:`AihwkitUnavailable` if none."""
    tried = []
    for py in _candidates(python):
        tried.append(str(py))
        if py.exists():
            probe = subprocess.run([str(py), "-c", "import aihwkit"], capture_output=True,
                                   text=True, timeout=300, check=False)
            if probe.returncode == 0:
                return py
    raise AihwkitUnavailable(
        "AIHWKit is not available: no Python importing aihwkit at " + ", ".join(tried)
        + f". Run scripts/setup-aihwkit.sh or set {ENV_VAR}.")


def aihwkit_available() -> bool:
    """Whether :func:`aihwkit_python` finds a working AIHWKit venv."""
    try:
        aihwkit_python()
    except AihwkitUnavailable:
        return False
    return True


def run_aihwkit(task: str, timeout_s: float = 3600.0, **request: Any) -> dict[str, Any]:
    """Run one worker ``task`` with ``request`` fields in the AIHWKit venv; its JSON reply.

    Raises :class:`AihwkitUnavailable` without the venv, and ``RuntimeError`` with the
    worker's message if the task fails.
    """
    py = aihwkit_python()
    proc = subprocess.run([str(py), str(WORKER)], input=json.dumps({"task": task, **request}),
                          capture_output=True, text=True, timeout=timeout_s, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = proc.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"AIHWKit worker task {task!r} failed (exit {proc.returncode}): "
                           + " | ".join(tail))
    reply: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in reply:
        raise RuntimeError(f"AIHWKit worker task {task!r}: {reply['error']}")
    return reply


if __name__ == "__main__":  # pragma: no cover - manual probe
    print(run_aihwkit("version"), file=sys.stdout)
