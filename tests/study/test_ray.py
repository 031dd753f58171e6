"""Studies on Ray (the ``ray`` extra), executor choice, and device folders/globs.

The Ray tests share one local Ray (2 CPUs, started once for the module: Ray's start-up
takes seconds) and skip where Ray is not installed; the others need no Ray.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.errors import InputError
from pulsetrain.study import StudyConfig, run_study
from pulsetrain.study.config import expand_devices
from pulsetrain.study.runner import (
    EXIT_AFTER_EPOCH_ENV,
    LocalPoolExecutor,
    SerialExecutor,
    make_executor,
)
from pulsetrain.training.data import default_mnist_folder

needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")

# two runs (one device × two algorithms), two epochs, tiny sizes (as test_study's TINY);
# workers = 2: two tasks of one run each, whatever the executor
TWO = StudyConfig(name="two", devices=["ID161ZR15000-20us"],
                  algorithms=[{"name": "sgd", "lr": 0.1}, {"name": "mixed-precision"}],
                  epochs=2, hidden=[16], train_subset=768, val_size=300, test_subset=300,
                  target_accuracy=0.3, workers=2)


def _store_rows(path: Path) -> list[tuple[str, int, dict[str, object]]]:
    """Every epoch row of a store, in key and epoch order, without its timing."""
    con = sqlite3.connect(path)
    rows = con.execute("SELECT key, epoch, metrics FROM epochs ORDER BY key, epoch").fetchall()
    con.close()
    out = []
    for key, epoch, blob in rows:
        metrics = json.loads(blob)
        metrics.pop("wall_s")
        out.append((key, epoch, metrics))
    return out


def _assert_same_store(got: Path, want: Path) -> None:
    """Same runs, epochs and metrics; losses to 1e-6 (Ray tasks run torch with one
    thread, the serial reference with the default: another summation order)."""
    rows_got, rows_want = _store_rows(got), _store_rows(want)
    assert len(rows_got) == len(rows_want) == 2 * 2  # 2 runs × 2 epochs, each once
    for (key_g, ep_g, m_g), (key_w, ep_w, m_w) in zip(rows_got, rows_want, strict=True):
        assert (key_g, ep_g) == (key_w, ep_w)
        assert m_g.pop("train_loss") == pytest.approx(m_w.pop("train_loss"), rel=1e-6)
        assert m_g == m_w
    con = sqlite3.connect(got)
    assert con.execute("SELECT status FROM runs").fetchall() == [("done",), ("done",)]
    con.close()


@pytest.fixture(scope="module")
def ray_local() -> Iterator[ModuleType]:
    """One local Ray with 2 CPUs for the module's Ray tests."""
    ray = pytest.importorskip("ray")
    # "local": a Ray of its own, even where `ray start` left a cluster on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-run study trained serially in this process: its store."""
    out = tmp_path_factory.mktemp("serial")
    run_study(TWO, out, executor=SerialExecutor())
    return out / "results.sqlite"


@needs_mnist
def test_ray_study_matches_serial(ray_local: ModuleType, serial_reference: Path,
                                  tmp_path: Path) -> None:
    from pulsetrain.study.ray_executor import RayExecutor

    reports: list[int] = []  # epochs streamed back from the Ray tasks to the driver
    results = run_study(TWO, tmp_path, executor=RayExecutor(workers=2),
                        on_epoch=lambda m: reports.append(m["epoch"]))
    assert sorted(reports) == [1, 1, 2, 2]
    assert sorted(r["algorithm"] for r in results) == ["mixed-precision", "sgd"]
    _assert_same_store(tmp_path / "results.sqlite", serial_reference)
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2  # written by the workers


@needs_mnist
def test_dead_worker_is_retried_from_its_checkpoint(ray_local: ModuleType,
                                                    serial_reference: Path,
                                                    tmp_path: Path) -> None:
    """The first worker to report an epoch ends its process (os._exit, once: a marker
    file); Ray reruns its task, which resumes from the epoch-1 checkpoint: the store
    equals the uninterrupted one, and the driver hears every new epoch exactly once (a
    restart from scratch would report the dead run's epoch 1 twice)."""
    from pulsetrain.study.ray_executor import RayExecutor

    marker = tmp_path / "died"
    executor = RayExecutor(workers=2,
                           runtime_env={"env_vars": {EXIT_AFTER_EPOCH_ENV: str(marker)}})
    reports: list[int] = []
    run_study(TWO, tmp_path / "out", executor=executor,
              on_epoch=lambda m: reports.append(m["epoch"]))
    assert marker.is_file()  # a worker did die
    assert sorted(reports) == [1, 1, 2, 2]
    _assert_same_store(tmp_path / "out" / "results.sqlite", serial_reference)


def _done_runs(path: Path) -> list[str]:
    """Keys of the runs stored as done (none while the store is missing or locked)."""
    if not path.exists():
        return []
    try:
        con = sqlite3.connect(path, timeout=0.1)
        try:
            rows = con.execute("SELECT key FROM runs WHERE status = 'done'").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return []
    return sorted(str(key) for (key,) in rows)


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid`` (Linux /proc; else none)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # ended meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session``: the
    driver and its private Ray) and wait up to 10 s for all of it to end."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10.0
    while _group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)


@needs_mnist
def test_killed_ray_driver_resumes_without_recomputing_finished_runs(
        serial_reference: Path, tmp_path: Path) -> None:
    """`study run --executor ray` (a private local Ray of 1 CPU, no stacks: the two runs
    train one after the other) is SIGKILLed with its Ray (one process group) once one
    run is stored done and the other is not.  The rerun trains only the unfinished run:
    the done run's rows (its ``updated`` time, its epochs' ``wall_s``) are untouched and
    the rerun prints one finished run; the store equals the uninterrupted serial one."""
    pytest.importorskip("ray")
    cfg = tmp_path / "two.yaml"  # JSON is YAML
    cfg.write_text(json.dumps(TWO.model_dump(mode="json", exclude_unset=True)
                              | {"workers": 1, "stack": 1, "executor": "ray"}))
    out = tmp_path / "out"
    store = out / "results.sqlite"
    cmd = [sys.executable, "-c", "from pulsetrain.cli import main; main()", "study", "run",
           str(cfg), "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a private Ray

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            text=True, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60.0
        while proc.poll() is None and not _done_runs(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        alive = proc.poll() is None
    finally:
        _kill_group(proc)
    assert alive, f"the study ended (exit {proc.returncode}) before it could be killed"
    assert not _group_members(proc.pid), "Ray processes outlived the killed driver"
    done_before = _done_runs(store)
    assert len(done_before) == 1, done_before  # killed between the two runs' ends
    (key,) = done_before
    con = sqlite3.connect(store)
    run_row = con.execute("SELECT config, status, updated FROM runs WHERE key = ?",
                          (key,)).fetchone()
    epoch_rows = con.execute("SELECT epoch, metrics FROM epochs WHERE key = ? ORDER BY "
                             "epoch", (key,)).fetchall()
    con.close()
    assert [e for e, _ in epoch_rows] == [1, 2]
    finished = json.loads(run_row[0])["algorithm"]
    other = ({"sgd", "mixed-precision"} - {finished}).pop()

    rerun = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
    try:
        _, stderr = rerun.communicate(timeout=90)
    finally:
        _kill_group(rerun)  # normally gone already; on a timeout, Ray's processes too
    assert rerun.returncode == 0, stderr
    _assert_same_store(store, serial_reference)  # both runs done, metrics as serial
    con = sqlite3.connect(store)
    assert con.execute("SELECT config, status, updated FROM runs WHERE key = ?",
                       (key,)).fetchone() == run_row  # no new start/done of the done run
    assert con.execute("SELECT epoch, metrics FROM epochs WHERE key = ? ORDER BY epoch",
                       (key,)).fetchall() == epoch_rows  # same wall_s: not retrained
    con.close()
    trained = [line for line in stderr.splitlines() if "seed 0: test" in line]
    assert len(trained) == 1 and other in trained[0].split(), stderr


def test_ray_missing_is_a_one_line_install_hint(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    cfg = tmp_path / "s.yaml"
    cfg.write_text("devices: [ID161ZR15000-20us]\nepochs: 1\n")
    result = CliRunner().invoke(app, ["study", "run", str(cfg), "--out", str(tmp_path / "o"),
                                      "--executor", "ray"])
    assert result.exit_code == 2
    assert "pip install 'pulsetrain[ray]'" in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()  # refused before anything is written
    # the same from the library, before the study folder is made
    with pytest.raises(InputError, match=r"pulsetrain\[ray\]"):
        run_study(TWO.model_copy(update={"executor": "ray"}), tmp_path / "lib")
    assert not (tmp_path / "lib").exists()


def test_make_executor_choices() -> None:
    assert isinstance(make_executor("auto", 1, n_tasks=4), SerialExecutor)
    assert isinstance(make_executor("auto", 2, n_tasks=1), SerialExecutor)
    pool = make_executor("auto", 2, n_tasks=2)
    assert isinstance(pool, LocalPoolExecutor) and pool.task_threads == 1
    assert isinstance(make_executor("local", 2, n_tasks=1), LocalPoolExecutor)
    assert make_executor("serial", 3).task_threads is None
    with pytest.raises(InputError, match="is for executor 'ray', not 'local'"):
        make_executor("local", 2, address="10.0.0.1:6379")
    with pytest.raises(InputError, match="expected one of auto, serial, local, ray"):
        make_executor("dask", 2)


def _device_tree(root: Path) -> list[Path]:
    """What fitting a folder of two devices writes: ROOT/DEV/devices/NAME.json, plus
    files that are not device files."""
    from pulsetrain.devices import builtin_device, save_device

    base = builtin_device("ID161ZR15000-20us")
    paths = [save_device(base.with_options(name=f"dev-{d}"), root / d / "devices" / f"{d}.json")
             for d in ("b", "a")]  # written out of order
    (root / "summary.csv").write_text("device\n")
    (root / "a" / "report.md").write_text("# a\n")
    return sorted(paths)


def test_devices_folder_and_glob_expand_sorted(tmp_path: Path) -> None:
    files = [str(p) for p in _device_tree(tmp_path / "fits")]
    assert files[0].endswith("a/devices/a.json") and files[1].endswith("b/devices/b.json")
    folder = StudyConfig(devices=[str(tmp_path / "fits")])
    assert folder.device_names() == files
    pattern = str(tmp_path / "fits" / "*" / "devices" / "*.json")
    assert StudyConfig(devices=[pattern]).device_names() == files
    # a glob of folders takes their device files; entries keep their order, each once
    mixed = [str(tmp_path / "fits" / "[ab]"), "ID161ZR15000-2us", files[0]]
    assert expand_devices(mixed) == [*files, "ID161ZR15000-2us"]
    runs = StudyConfig(devices=[str(tmp_path / "fits")], algorithms=["sgd"]).runs()
    assert [r.device for r in runs] == files


def test_devices_glob_matching_nothing_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    pattern = str(tmp_path / "nowhere" / "*.json")
    with pytest.raises(InputError, match=r"pattern .*nowhere/\*\.json.* matches no device"):
        StudyConfig(devices=[pattern]).device_names()
    with pytest.raises(InputError, match=r"folder .*empty.* holds no device file"):
        StudyConfig(devices=[str(tmp_path / "empty")]).device_names()
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"devices: ['{pattern}']\n")
    result = CliRunner().invoke(app, ["study", "run", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert pattern in result.stderr and result.stderr.strip().count("\n") == 0
