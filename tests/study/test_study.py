"""Studies: config errors, interrupted runs resume to the same store, report files."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.errors import InputError
from pulsetrain.study import StudyConfig, run_study
from pulsetrain.study.analysis import convergence, pareto_front
from pulsetrain.training.config import load_config_file
from pulsetrain.training.data import default_mnist_folder

needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")

TINY = """name: tiny
devices: [ID161ZR15000-20us, ID161ZR15000-200us]
algorithms: [{name: sgd, lr: 0.1}, {name: mixed-precision}]
epochs: 3
hidden: [16]
train_subset: 768
val_size: 300
test_subset: 300
target_accuracy: 0.3
"""


@pytest.mark.parametrize(
    ("text", "words"),
    [("epochs: 3\nspeed: fast\n", "key 'speed': unknown key"),
     ("epochs: many\n", "key 'epochs'"),
     ("pulse_widths_s: [2.0e-8, -1.0e-6]\n", "pulse_widths_s[1] must be > 0 seconds"),
     ("devices: [no/such/device.json]\n", "no/such/device.json: device file not found"),
     ("pulse_widths_s: [3.0e-8]\n", "no ID161ZR15000 device at 3e-08 s")],
)
def test_bad_study_config_one_line(tmp_path: Path, text: str, words: str) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text(text)
    result = CliRunner().invoke(app, ["study", "run", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert words in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_expansion_and_helpers(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(TINY + "seeds: [0, 1]\n")
    cfg = load_config_file(tmp_path / "s.yaml", StudyConfig)
    assert isinstance(cfg, StudyConfig)
    runs = cfg.runs()
    assert len(runs) == 2 * 2 * 2 and len({r.key() for r in runs}) == 8
    assert {r.learning_rate for r in runs if r.algorithm == "mixed-precision"} == {0.5}
    epochs = [{"epoch": k + 1, "val_acc": v} for k, v in enumerate([0.5, 0.91, 0.96, 0.97])]
    # 99 % of the final 0.97 is 0.9603: first reached at epoch 4
    assert convergence(epochs, 0.95) == (3, 4)
    assert convergence(epochs, 0.99) == (None, 4)
    import numpy as np

    front = pareto_front(np.array([1.0, 2.0, 3.0, 0.5]), np.array([0.9, 0.95, 0.94, 0.5]))
    assert front.tolist() == [True, True, False, True]
    with pytest.raises(InputError):
        StudyConfig(devices=["nope"]).device_names()


def _epoch_count(path: Path) -> int:
    """Stored epoch rows (0 while the store does not exist or is locked by the writer)."""
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(path, timeout=0.1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM epochs").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _store_rows(path: Path) -> list[tuple[str, int, dict[str, object]]]:
    con = sqlite3.connect(path)
    rows = con.execute("SELECT key, epoch, metrics FROM epochs ORDER BY key, epoch").fetchall()
    con.close()
    out = []
    for key, epoch, blob in rows:
        m = json.loads(blob)
        m.pop("wall_s")  # bookkeeping, not results: time, and the stack a run trained in
        m.pop("stacked_runs", None)
        out.append((key, epoch, m))
    return out


@needs_mnist
def test_parallel_study_after_in_process_training_matches_serial(tmp_path: Path) -> None:
    """A process that already ran the (OpenMP-parallel) numba kernels starts a 2-worker
    pool; the workers' store equals a serial run's row for row: same pulses and
    accuracies; losses to 1e-6 (workers run torch with 1 thread: another summation order).
    Serially the 4 runs train as one stack, in the pool as two stacks of 2."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    cfg = load_config_file(tmp_path / "tiny.yaml", StudyConfig)
    assert isinstance(cfg, StudyConfig)
    run_study(cfg, tmp_path / "serial")  # uses the numba kernels in this process
    reports: list[tuple[str, int]] = []  # workers report every epoch through a queue
    run_study(cfg.model_copy(update={"workers": 2}), tmp_path / "pool",
              on_epoch=lambda m: reports.append((m["key"], m["epoch"])))
    assert sorted(reports) == sorted((r.key(), e) for r in cfg.runs() for e in (1, 2, 3))
    serial = _store_rows(tmp_path / "serial" / "results.sqlite")
    pool = _store_rows(tmp_path / "pool" / "results.sqlite")
    assert len(serial) == len(pool) == 4 * 3
    for (key_s, ep_s, m_s), (key_p, ep_p, m_p) in zip(serial, pool, strict=True):
        assert (key_s, ep_s) == (key_p, ep_p)
        assert m_p.pop("train_loss") == pytest.approx(m_s.pop("train_loss"), rel=1e-6)
        assert m_p == m_s


@needs_mnist
def test_killed_study_resumes_to_the_same_store(tmp_path: Path) -> None:
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(TINY)
    cfg = load_config_file(cfg_path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    run_study(cfg, tmp_path / "clean")  # uninterrupted reference, in this process

    cmd = [sys.executable, "-c", "from pulsetrain.cli import main; main()", "study", "run",
           str(cfg_path), "--out", str(tmp_path / "killed")]
    rng = random.Random(20261123)
    kills = 0
    store = tmp_path / "killed" / "results.sqlite"
    for _ in range(3):  # kill at random moments (seeded), SIGKILL: no clean-up possible
        before = _epoch_count(store)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # a fixed delay misses a study that finishes in seconds (warm kernel cache): wait
        # for this process's first stored epoch, then kill a random moment later
        while proc.poll() is None and _epoch_count(store) <= before:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    assert kills >= 1  # the test did interrupt something
    clean = _store_rows(tmp_path / "clean" / "results.sqlite")
    resumed = _store_rows(tmp_path / "killed" / "results.sqlite")
    assert len(clean) == 4 * 3  # 4 runs × 3 epochs, one row each: no duplicates
    assert resumed == clean
    assert (tmp_path / "killed" / "report.html").is_file()


@needs_mnist
def test_report_files(tmp_path: Path) -> None:
    from pulsetrain.devices import builtin_device, save_device

    mine = save_device(builtin_device("ID161ZR15000-200us").with_options(name="mine"),
                       tmp_path / "mine.json")  # a user device file, named unlike its path
    (tmp_path / "s.yaml").write_text(TINY.replace("epochs: 3", "epochs: 2").replace(
        "devices: [ID161ZR15000-20us, ID161ZR15000-200us]",
        f"devices: [ID161ZR15000-20ns-b, '{mine}']").replace(
        "{name: mixed-precision}", "{name: mixed-precision}, {name: sp-shift}"))
    result = CliRunner().invoke(app, ["study", "run", str(tmp_path / "s.yaml"), "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "o"
    for stem in ("devices", "accuracy", "energy-per-pulse", "energy-tradeoff",
                 "energy-vs-accuracy", "energy-breakdown", "weights"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 10_000
        assert (out / "figures" / f"{stem}.svg").is_file()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7 and "<table>" in html
    import pandas as pd

    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6
    mp = runs[runs.algorithm == "mixed-precision"].sort_values("pulse_width_s")
    # energy = pulses × energy per pulse, and 200 µs pulses cost far more than 20 ns ones
    assert (mp.energy_per_pulse_up_j.iloc[1] / mp.energy_per_pulse_up_j.iloc[0]) > 100
    assert (runs.total_energy_j > 0).all()
    # every cost, and the total is their sum; MP's accumulator is counted
    parts = runs[["programming_energy_j", "sp_estimation_energy_j", "digital_energy_j",
                  "read_energy_j"]].fillna(0).sum(axis=1)
    assert (abs(runs.total_energy_j - parts) <= 1e-9 * runs.total_energy_j).all()
    assert (runs[runs.algorithm == "mixed-precision"].digital_energy_j > 0).all()
    assert (runs[runs.algorithm == "sp-shift"].sp_estimation_energy_j > 0).all()
    usable = runs.dropna(subset=["energy_per_point_j"])
    assert sorted(usable.rank_accuracy_per_joule) == list(
        usable.energy_per_point_j.rank(method="min").astype(int).sort_values())
    summary = pd.read_csv(out / "summary.csv")
    for column in ("total_energy_j_mean", "digital_energy_j_mean", "energy_per_point_j_mean",
                   "rank_accuracy_per_joule", "at_chance"):
        assert column in summary.columns
    md = (out / "report.md").read_text()
    assert md.index("## Verdict") < md.index("## Summary")
    assert "Best final accuracy: **" in md and "Pareto-optimal" in md
    assert (out / "figures" / "energy-breakdown.png").stat().st_size > 10_000
    rerun = CliRunner().invoke(app, ["study", "run", str(tmp_path / "s.yaml"), "--out",
                                     str(out)])
    assert rerun.exit_code == 0 and "seed 0: test" not in rerun.stderr  # all done: none re-run


def test_study_checks_energy_inputs_and_dedupes(tmp_path: Path) -> None:
    from pulsetrain.devices import builtin_device, save_device

    dev = builtin_device("ID161ZR15000-2us").with_options(area_m2=None)
    path = save_device(dev, tmp_path / "no-area.json")
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"devices: ['{path}']\n")
    result = CliRunner().invoke(app, ["study", "run", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no-area.json" in result.stderr and "area_m2" in result.stderr
    assert not (tmp_path / "o").exists()  # refused before any training
    twice = StudyConfig(devices=["ID161ZR15000-2us", "ID161ZR15000-2us"], seeds=[0, 0])
    assert len(twice.runs()) == 3  # one run per algorithm, not four
    with pytest.raises(ValueError, match="val_size"):
        StudyConfig(val_size=60_000)


def test_plan_stacks_deals_compatible_runs_over_the_workers() -> None:
    """auto: the 6 analog runs of one shape in as many stacks as workers, algorithms
    mixed in each; the float baseline and a run of another shape alone; stack = 1: every
    run alone; stack = 4: stacks of at most 4."""
    from pulsetrain.study.runner import plan_stacks

    cfg = StudyConfig(devices=["ID161ZR15000-20us", "ID161ZR15000-200us"],
                      algorithms=[{"name": "sgd"}, {"name": "mixed-precision"},
                                  {"name": "sp-shift"}, {"name": "float"}])
    runs = cfg.runs()
    odd = runs[0].model_copy(update={"hidden": [8]})
    tasks = plan_stacks([*runs, odd], "auto", 2)
    assert [len(t) for t in tasks] == [3, 3, 1, 1]
    assert {r.algorithm for r in tasks[0]} == {"sgd", "mixed-precision", "sp-shift"}
    assert tasks[3][0].algorithm == "float" and tasks[2][0].hidden == [8]
    assert sorted(r.key() for t in tasks for r in t) == sorted(
        r.key() for r in [*runs, odd])
    assert [len(t) for t in plan_stacks(runs, 1, 2)] == [1] * 7
    assert [len(t) for t in plan_stacks(runs, 4, 1)] == [3, 3, 1]
    # auto never leaves a worker without a stack while runs remain (6 runs, 4 workers)
    assert [len(t) for t in plan_stacks(runs, "auto", 4)] == [2, 2, 1, 1, 1]
    assert [len(t) for t in plan_stacks(runs, "auto", 9)] == [1] * 7
