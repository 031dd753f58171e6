"""SIGTERM / SIGINT to a running `study run` with 2 workers: the workers go, the parent
exits non-zero with a resume hint, and a rerun ends with the rows of an uninterrupted
study (issue 27)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.study.test_study import TINY, _epoch_count, _store_rows, needs_mnist

pytestmark = [needs_mnist, pytest.mark.slow]

STUDY = TINY.replace("epochs: 3", "epochs: 4") + "workers: 2\n"


def _cmd(cfg: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", "from pulsetrain.cli import main; main()", "study", "run",
            str(cfg), "--out", str(out)]


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie has exited; only its parent's wait is missing
            alive.add(pid)
    return alive


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int, dict[str, object]]]:
    """The same study, uninterrupted, with the same 2 workers (so the same stacks)."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "s.yaml").write_text(STUDY)
    done = subprocess.run(_cmd(folder / "s.yaml", folder / "out"), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return _store_rows(folder / "out" / "results.sqlite")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_workers_and_the_study_resumes(
        signum: int, code: int, tmp_path: Path,
        reference: list[tuple[str, int, dict[str, object]]]) -> None:
    cfg, out = tmp_path / "s.yaml", tmp_path / "out"
    cfg.write_text(STUDY)
    store = out / "results.sqlite"
    proc = subprocess.Popen(_cmd(cfg, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 600
    while proc.poll() is None and _epoch_count(store) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the study ended before it could be interrupted"
    children = _descendants(proc.pid)
    assert len(children) >= 2  # the two pool workers (and the queue manager)
    sent = time.monotonic()
    proc.send_signal(signum)  # to the parent alone, as a scheduler does
    while _alive(children) and time.monotonic() - sent < 10:
        time.sleep(0.05)
    workers_gone_s = time.monotonic() - sent
    assert not _alive(children), f"workers still running {workers_gone_s:.1f} s after the signal"
    _, stderr = proc.communicate(timeout=30)
    exit_s = time.monotonic() - sent
    assert exit_s < 30
    assert proc.returncode == code, stderr
    assert "resume with: pulsetrain study run" in stderr and str(cfg) in stderr
    assert _epoch_count(store) < len(reference)  # it really stopped mid-study
    print(f"{signal.Signals(signum).name}: workers gone {workers_gone_s:.2f} s, "
          f"parent exited {exit_s:.2f} s after the signal")
    again = subprocess.run(_cmd(cfg, out), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert _store_rows(store) == reference
