"""Command-line friction: defaults in --help, data-size options, config errors (syntax
positions, all problems at once, suggestions), plain algorithm names in studies,
interrupt/resume messages, progress of the symmetry-point estimation."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.crossbar.symmetry import SymmetryProgress
from pulsetrain.errors import InputError
from pulsetrain.study import StudyConfig
from pulsetrain.training.config import TrainConfig, load_config_file
from pulsetrain.training.data import default_mnist_folder
from pulsetrain.training.trainer import RunLog, Trainer

runner = CliRunner()
needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")
TINY = ["--train-subset", "256", "--val-size", "128", "--test-subset", "128"]


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command of the click tree under ``cmd`` with its argument path."""
    found = [(path, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def _shown_default(option: Any) -> str:
    """How --help should print an option's default."""
    if option.is_flag and option.secondary_opts:  # --quick/--full: the chosen form
        return str((option.opts if option.default else option.secondary_opts)[0]).lstrip("-")
    if isinstance(option.default, Enum):
        return str(option.default.value)
    return str(option.default)


def test_every_help_shows_defaults_and_flags_as_flags() -> None:
    commands = _commands(get_command(app))
    assert {p for p, _ in commands} >= {("train",), ("study", "run"), ("device", "fit")}
    checked = 0
    for path, cmd in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)  # undo the panel's wrapping
        for param in cmd.params:
            if param.param_type_name != "option" or param.hidden or param.default is None:
                continue
            if param.is_flag and not param.secondary_opts:
                # a plain on/off flag: shown as the flag alone, off unless given
                assert param.default is False, (path, param.opts)
                assert f"{param.opts[0]}/--no-" not in text
                continue
            assert f"[default: {_shown_default(param)}]" in text, (path, param.opts, text)
            checked += 1
        assert "/--no-" not in text, path
    assert checked >= 9  # fit: points, min-pulses, window, recipe; study run: out; reproduce: 4
    # train's options left unset fall back to TrainConfig (or the --config file)
    text = re.sub(r"[\s│]+", " ", runner.invoke(app, ["train", "--help"]).output)
    assert f"(default: {TrainConfig().epochs}, or the --config file's)" in text
    assert f"(default: {TrainConfig().val_size}, or the --config file's)" in text


@needs_mnist
def test_train_val_size_and_test_subset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--algorithm", "float", "--epochs", "1",
                                 "--train-subset", "256", "--val-size", "100",
                                 "--test-subset", "120", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"]["val_size"] == 100 and data["config"]["test_subset"] == 120
    # accuracies are counts over those many images
    epoch = data["epochs"][0]
    assert epoch["val_acc"] * 100 == pytest.approx(round(epoch["val_acc"] * 100))
    assert epoch["test_acc"] * 120 == pytest.approx(round(epoch["test_acc"] * 120))
    result = runner.invoke(app, ["train", "--val-size", "0"])
    assert result.exit_code == 2  # typer's own range check


@pytest.mark.parametrize(("name", "text", "line", "column", "kind"), [
    ("run.yaml", "epochs: 3\nhidden: [16,\nlr: 0.1: x\n", 3, 8, "YAML"),  # ':' after 0.1
    ("run.yaml", "epochs: 3\n  hidden: [16]\n", 2, 9, "YAML"),  # ':' of an indented key
    ("run.toml", "epochs = 3\nlr = \n", 2, 6, "TOML"),  # the value missing after 'lr = '
])
@pytest.mark.parametrize("command", ["train", "study"])
def test_syntax_errors_name_file_line_column(tmp_path: Path, name: str, text: str,
                                             line: int, column: int, kind: str,
                                             command: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    args = (["train", "--config", str(path)] if command == "train"
            else ["study", "run", str(path), "--out", str(tmp_path / "o")])
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"{path}, line {line}, column {column}: not valid {kind}:" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_all_config_errors_at_once_with_suggestions(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("epoch: 3\nbatch_size: -1\n")
    result = runner.invoke(app, ["train", "--config", str(cfg)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(x.startswith(f"error: {cfg}: key '") for x in lines)
    assert f"{cfg}: key 'epoch': unknown key (got 3); did you mean 'epochs'?" in result.stderr
    assert "key 'batch_size': Input should be greater than or equal to 1 (got -1)" \
        in result.stderr

    study = tmp_path / "study.yaml"
    study.write_text("epoch: 3\nbatch_size: 0\nalgorithms: [sdg, {name: sgd, lrr: 0.1}]\n")
    result = runner.invoke(app, ["study", "run", str(study), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 4
    for words in ("key 'epoch': unknown key (got 3); did you mean 'epochs'?",
                  "key 'batch_size': Input should be greater than or equal to 1",
                  "unknown algorithm 'sdg'; did you mean 'sgd'?",
                  "key 'algorithms.1.lrr': unknown key (got 0.1); did you mean 'lr'?"):
        assert words in result.stderr, result.stderr
    # the study's own checks, collected too (they run once the fields are valid)
    study.write_text("seeds: [-1]\ntrain: {bll: 3, epochs: 2, activation: softmax}\n")
    with pytest.raises(InputError) as info:
        load_config_file(study, StudyConfig)
    lines = str(info.value).splitlines()
    assert len(lines) == 6 and all(x.startswith(f"{study}: ") for x in lines)
    text = str(info.value)
    assert "seeds must be >= 0, got [-1]" in text
    assert "train.bll: not a training option; did you mean 'bl'?" in text
    assert "train.epochs: set by the study itself (epochs)" in text
    # a bad value in train: is checked against each algorithm's runs
    assert text.count("key 'activation': Input should be 'sigmoid', 'relu' or 'tanh'") == 3


def test_plain_algorithm_names_in_studies(tmp_path: Path) -> None:
    devices = ["ID161ZR15000-20us", "ID161ZR15000-200us"]
    plain = StudyConfig.model_validate({
        "devices": devices, "seeds": [0, 1],
        "algorithms": ["sgd", "mixed-precision", {"name": "sp-shift", "lr": 0.2}]})
    mapped = StudyConfig.model_validate({
        "devices": devices, "seeds": [0, 1],
        "algorithms": [{"name": "sgd"}, {"name": "mixed-precision"},
                       {"name": "sp-shift", "lr": 0.2}]})
    runs = plain.runs()
    assert [r.key() for r in runs] == [r.key() for r in mapped.runs()]
    assert len(runs) == 3 * 2 * 2  # algorithms × devices × seeds
    assert {(r.algorithm, r.lr) for r in runs} == {("sgd", None), ("mixed-precision", None),
                                                   ("sp-shift", 0.2)}
    assert {(r.device, r.seed) for r in runs if r.algorithm == "sgd"} == {
        (d, s) for d in devices for s in (0, 1)}
    # from a file, and an unknown name with the closest registered one
    path = tmp_path / "s.yaml"
    path.write_text("algorithms: [sgd, float]\ndevices: [ID161ZR15000-200us]\n")
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    assert [r.algorithm for r in cfg.runs()] == ["sgd", "float"]
    path.write_text("algorithms: [sgd, mixed_precision]\n")
    with pytest.raises(InputError, match="unknown algorithm 'mixed_precision'; did you mean "
                                         "'mixed-precision'"):
        load_config_file(path, StudyConfig)


@needs_mnist
def test_interrupt_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("algorithm: mixed-precision\nhidden: [16]\n")
    args = ["train", "--config", str(cfg), *TINY, "--epochs", "2"]
    record = RunLog.record_epoch

    def record_then_interrupt(self: RunLog, epoch: int, *a: Any, **k: Any) -> Any:
        metrics = record(self, epoch, *a, **k)  # epoch checkpointed, as on a real Ctrl-C
        if epoch == 1:
            raise KeyboardInterrupt
        return metrics

    monkeypatch.setattr(RunLog, "record_epoch", record_then_interrupt)
    out = tmp_path / "o"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert "interrupted after epoch 1 — rerun with --resume" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(app, args)  # without --out there is nothing to resume
    assert result.exit_code == 130
    assert "interrupted after epoch 0 — nothing was saved (no --out)" in result.stderr
    monkeypatch.undo()

    result = runner.invoke(app, [*args, "--out", str(out), "--resume", "--json"])
    assert result.exit_code == 0, result.output
    assert "resuming at epoch 2 of 2" in result.stderr
    resumed = json.loads(result.stdout)["epochs"]
    whole = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["epochs"]
    assert [m["epoch"] for m in resumed] == [1, 2]
    for a, b in zip(resumed, whole, strict=True):  # as if never interrupted
        assert (a["train_loss"], a["test_acc"], a["pulses"]) == \
            (b["train_loss"], b["test_acc"], b["pulses"])
    result = runner.invoke(app, [*args, "--out", str(out), "--resume"])
    assert "all 2 epochs already done" in result.stderr and "epoch   2" not in result.stderr


def test_sp_estimation_reports_progress() -> None:
    cfg = TrainConfig(algorithm="sp-shift", hidden=[16])
    events: list[SymmetryProgress] = []
    trainer = Trainer.build(cfg, on_sp_progress=events.append)
    assert len(events) > 2
    assert [e.layer for e in events if e.finished] == [0, 1]
    assert {e.layers for e in events} == {2}
    for layer in (0, 1):
        mine = [e for e in events if e.layer == layer]
        assert mine[-1].finished and not any(e.finished for e in mine[:-1])
        rounds = [e.rounds for e in mine]
        assert rounds == sorted(rounds) and rounds[0] >= 1
        assert mine[-1].settled == 1.0
    # the alternation pulses reported plus two probe pulses per device are the cost
    assert trainer.sp_report is not None
    devices = 784 * 16 + 16 * 10
    assert sum(e.pulses for e in events if e.finished) + 2 * devices == trainer.sp_report.pulses


@needs_mnist
def test_train_prints_sp_estimation_progress(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("hidden: [16]\n")
    result = runner.invoke(app, ["train", "--config", str(cfg), "--algorithm", "sp-shift",
                                 *TINY, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith("estimating symmetry")]
    assert len(lines) >= 2
    assert any("array 1/2, round " in x and "% of devices settled" in x for x in lines)
    assert any(x.startswith("estimating symmetry points: array 2/2 done after ")
               for x in lines)
    # before the first epoch
    assert result.stderr.index("estimating symmetry") < result.stderr.index("epoch   1")


def test_study_progress_counts_each_run_once_whatever_the_report_order() -> None:
    """A worker's last epoch report can arrive after its run's end (stop 22 showed
    151/150): the bar counts a finished run's epochs once, and a resumed run's earlier
    epochs (never reported) when it ends."""
    from pulsetrain.cli import EpochCount

    count = EpochCount(epochs=3)
    for _ in range(2):
        count.epoch("a")
    assert count.done("a") == 3          # a's third report is still in flight
    assert count.epoch("a") == 3         # ... and arrives late: not counted again
    assert count.epoch("b") == 4
    assert count.done("c") == 7          # a resumed run ends with no reports seen
    for _ in range(2):
        count.epoch("b")
    assert count.done("b") == 9          # 3 runs × 3 epochs
