"""Learning-rate tuning (pulsetrain.study.tune): validation split only, resumable,
deterministic under the sampler seed, tuned.yaml loadable by study run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsetrain.errors import InputError
from pulsetrain.study import StudyConfig
from pulsetrain.training.config import load_config_file
from pulsetrain.training.data import default_mnist_folder

optuna = pytest.importorskip("optuna")
needs_mnist = pytest.mark.skipif(default_mnist_folder() is None, reason="MNIST not installed")

TINY = """name: tiny
devices: [ID161ZR15000-200us]
algorithms: [{name: sgd}]
epochs: 3
hidden: [16]
train_subset: 300
val_size: 200
test_subset: 100
"""


def _cfg(tmp_path: Path) -> StudyConfig:
    path = tmp_path / "study.yaml"
    path.write_text(TINY)
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    return cfg


def _trial_counts(out: Path) -> list[int]:
    storage = f"sqlite:///{out / 'tune.sqlite3'}"
    return [s.n_trials for s in optuna.get_all_study_summaries(storage)]


def test_bad_trials_is_a_one_line_input_error(tmp_path: Path) -> None:
    from pulsetrain.study.tune import tune_study

    with pytest.raises(InputError, match=r"trials \(--trials\): expected an integer >= 1"):
        tune_study(_cfg(tmp_path), tmp_path / "t", trials=0)


@needs_mnist
def test_tune_uses_val_only_resumes_and_is_deterministic(tmp_path: Path) -> None:
    """The objective is the last epoch's val_acc (never test_acc); tuned.yaml loads and
    differs from the config only in the algorithm entry; a second call with more trials
    adds only the missing ones; a fresh DIR with the same seed gives the same trials."""
    import csv

    from pulsetrain.store.sqlite import ResultStore
    from pulsetrain.study.tune import tune_study

    cfg = _cfg(tmp_path)
    out = tmp_path / "tune"
    first = tune_study(cfg, out, trials=2, epochs=1)
    assert _trial_counts(out) == [2]
    res = tune_study(cfg, out, trials=3, epochs=1)[0]
    assert _trial_counts(out) == [3]  # one more, the first two kept
    assert [t["lr"] for t in res.trials[:2]] == [t["lr"] for t in first[0].trials]
    # objective = validation accuracy of each trial's run, not its test accuracy
    store = ResultStore(out / "runs" / "results.sqlite")
    run_keys = store.keys()
    vals = {round(store.epochs(key)[-1]["val_acc"], 6) for key in run_keys}
    told = {round(t["val_acc"], 6) for t in res.trials}
    assert told <= vals
    assert res.best_val_acc == max(t["val_acc"] for t in res.trials if not t["pruned"])
    assert 0.05 / 10 <= res.best_lr <= 0.05 * 10
    # tuned.yaml: StudyConfig loads it; only the algorithm entry differs
    tuned = load_config_file(out / "tuned.yaml", StudyConfig)
    assert isinstance(tuned, StudyConfig)
    assert tuned.model_copy(update={"algorithms": cfg.algorithms}) == cfg
    assert tuned.algorithms[0].lr == pytest.approx(res.best_lr)
    assert tuned.algorithms[0].options["bl"] in (15, 31, 63)
    # ... and study run takes it as is (one run, at the tuned lr)
    from pulsetrain.study.runner import run_study

    done = run_study(tuned, tmp_path / "run")
    assert len(done) == 1 and done[0]["algorithm"] == "sgd"
    ran = ResultStore(tmp_path / "run" / "results.sqlite")
    assert ran.run_status(tuned.runs()[0].key()) == "done"
    assert tuned.runs()[0].lr == pytest.approx(res.best_lr)
    rows = list(csv.DictReader((out / "tuning.csv").open()))
    assert len(rows) == 3 and (out / "tuning.png").stat().st_size > 1000
    # determinism: a fresh folder, the same sampler seed, the same learning rates
    again = tune_study(cfg, tmp_path / "again", trials=3, epochs=1)[0]
    assert [t["lr"] for t in again.trials] == [t["lr"] for t in res.trials]
    assert [t["val_acc"] for t in again.trials] == [t["val_acc"] for t in res.trials]


@pytest.mark.parametrize(("args", "words"), [
    (["nope.yaml"], "nope.yaml"),
    (["STUDY", "--trials", "0"], "trials (--trials): expected an integer >= 1, got 0"),
])
def test_cli_tune_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str],
                                               words: str) -> None:
    from typer.testing import CliRunner

    from pulsetrain.cli import app

    path = tmp_path / "study.yaml"
    path.write_text(TINY)
    args = [str(path) if a == "STUDY" else a for a in args]
    result = CliRunner().invoke(app, ["study", "tune", *args, "--out", str(tmp_path / "t")])
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("error:")


def test_missing_optuna_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from pulsetrain.study.tune import import_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(InputError, match=r'pip install "pulsetrain\[tune\]"'):
        import_optuna()


def test_reproduce_seeds_and_tune_flags(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    """--seeds N runs seeds 0 … N-1; --tune B tunes with B trials, then runs the tuned
    config (tuning itself replaced by a stub here; it is tested above)."""
    from typer.testing import CliRunner

    import pulsetrain.cli as cli
    import pulsetrain.study.tune as tune

    ran: list[StudyConfig] = []
    monkeypatch.setattr(cli, "_run_and_report", lambda cfg, out: ran.append(cfg))
    asked: list[int] = []

    def fake_tune(cfg: StudyConfig, out: Path, trials: int) -> list[tune.PairResult]:
        asked.append(trials)
        return [tune.PairResult("d", i, s, 0.123, {}, 0.5) for i, s in
                enumerate(cfg.algorithms)]

    monkeypatch.setattr(tune, "tune_study", fake_tune)
    result = CliRunner().invoke(cli.app, ["reproduce", "--seeds", "3", "--out",
                                          str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ran[-1].seeds == [0, 1, 2] and asked == []
    result = CliRunner().invoke(cli.app, ["reproduce", "--tune", "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert asked == [4] and ran[-1].seeds == [0]
    assert all(a.lr == pytest.approx(0.123) for a in ran[-1].algorithms)


@needs_mnist
def test_a_trial_killed_mid_run_is_asked_again(tmp_path: Path) -> None:
    """A trial left RUNNING by a killed tuning run is marked failed on resume and the
    budget is filled with finished trials (its lr asked again under the same seed)."""
    from pulsetrain.study.tune import _pair_name, tune_study

    cfg = _cfg(tmp_path)
    out = tmp_path / "tune"
    out.mkdir()
    study = optuna.create_study(study_name=_pair_name(cfg.devices[0], 0, cfg.algorithms[0]),
                                storage=f"sqlite:///{out / 'tune.sqlite3'}",
                                direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0))
    study.ask()  # the killed run's trial, never told
    res = tune_study(cfg, out, trials=1, epochs=1)[0]
    states = [t.state for t in study.get_trials()]
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    assert states.count(optuna.trial.TrialState.COMPLETE) == 1 and len(res.trials) == 1
