"""Learning-rate tuning of a study's (device, algorithm) pairs on the validation split.

Each pair (one device × one ``algorithms`` entry) gets its own Optuna study in
``OUT/tune.sqlite3`` (TPE sampler seeded with ``seed`` + the trial's number, a median
pruner on validation accuracy per epoch), so a killed tuning run resumes
where it stopped.  Trials are asked
in batches (as many as the study's ``workers``), each batch trained as a sub-study of
runs through the study's executor (:func:`~pulsetrain.study.runner.run_study`, runs
stored under ``OUT/runs``), and told back with their validation accuracy.  Pruning is
applied per batch: the batch's epochs are reported in order and a trial whose
accuracy falls below the median of earlier trials at an epoch is told *pruned* (it
still trained to the end; its compute is not saved).  The objective is the last
epoch's ``val_acc``; ``test_acc`` is never read.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain.errors import InputError
from pulsetrain.study.config import AlgorithmSpec, StudyConfig
from pulsetrain.study.runner import Executor, run_study
from pulsetrain.training.registry import algorithm

STORAGE_FILE = "tune.sqlite3"
LR_SPAN = 10.0
"""The learning rate is searched log-uniformly over default / LR_SPAN … default × LR_SPAN."""
INSTALL_HINT = 'optuna is not installed: pip install "pulsetrain[tune]"'


def import_optuna() -> Any:
    """The optuna module; raises :class:`InputError` with the install hint without it."""
    try:
        import optuna
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass
class PairResult:
    """Tuning outcome of one (device, algorithm entry)."""

    device: str
    index: int
    spec: AlgorithmSpec
    best_lr: float
    best_options: dict[str, Any]
    best_val_acc: float
    trials: list[dict[str, Any]] = field(default_factory=list)


def _sample(trial: Any, spec: AlgorithmSpec) -> tuple[float, dict[str, Any]]:
    """Learning rate and decisive options of one trial for ``spec``."""
    algo = algorithm(spec.name)
    default = spec.lr if spec.lr is not None else algo.default_lr
    lr = float(trial.suggest_float("lr", default / LR_SPAN, default * LR_SPAN, log=True))
    options = dict(spec.options)
    if "bl" in algo.options and "bl" not in spec.options:
        options["bl"] = int(trial.suggest_categorical("bl", [15, 31, 63]))
    if "transfer" in algo.options:
        every = int(trial.suggest_categorical("transfer_every", [1, 2, 5, 10]))
        options["transfer"] = {**dict(spec.options.get("transfer", {})),
                               "transfer_every": every}
    return lr, options


def _pair_name(device: str, index: int, spec: AlgorithmSpec) -> str:
    return f"{device}|{index}:{spec.name}"


def tune_study(cfg: StudyConfig, out: str | Path, trials: int, epochs: int | None = None,
               seed: int = 0, executor: Executor | None = None) -> list[PairResult]:
    """Tune every (device, algorithm entry) of ``cfg`` with ``trials`` trials of
    ``epochs`` epochs (default ``cfg.epochs``) on ``cfg.seeds[0]``; resumes the trials
    stored in ``OUT/tune.sqlite3``.  Writes ``tuned.yaml``, ``tuning.csv`` and
    ``tuning.png`` in ``out``.

    Raises
    ------
    InputError
        For ``trials`` < 1, ``epochs`` < 1 or optuna missing.
    """
    if trials < 1:
        raise InputError(f"trials (--trials): expected an integer >= 1, got {trials}")
    if epochs is not None and epochs < 1:
        raise InputError(f"epochs (--epochs): expected an integer >= 1, got {epochs}")
    optuna = import_optuna()
    cfg.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{out / STORAGE_FILE}"
    n_epochs = epochs or cfg.epochs
    names = cfg.device_names()
    results: list[PairResult] = []
    for index, spec in enumerate(cfg.algorithms):
        for device in (names if algorithm(spec.name).analog else names[:1]):
            study = optuna.create_study(
                study_name=_pair_name(device, index, spec), storage=storage,
                direction="maximize", load_if_exists=True,
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
            _tune_pair(optuna, study, cfg, device, spec, trials, n_epochs, out, executor,
                       seed)
            results.append(_pair_result(optuna, study, device, index, spec))
    write_outputs(cfg, results, out)
    return results


def _tune_pair(optuna: Any, study: Any, cfg: StudyConfig, device: str, spec: AlgorithmSpec,
               trials: int, epochs: int, out: Path, executor: Executor | None,
               seed: int) -> None:
    state = optuna.trial.TrialState
    for old in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        study.tell(old.number, state=state.FAIL)  # a killed run's trial: asked again
    finished = (state.COMPLETE, state.PRUNED)
    while (left := trials - len(study.get_trials(deepcopy=False, states=finished))) > 0:
        batch = []
        for _ in range(min(cfg.workers, left)):
            # reseeded per trial (seed + its number): a resumed tuning run asks the same
            # trials as an uninterrupted one, not the first ones again
            study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
            batch.append(study.ask())
        specs = []
        for trial in batch:
            lr, options = _sample(trial, spec)
            specs.append(AlgorithmSpec(name=spec.name, lr=lr, options=options))
        sub = cfg.model_copy(update={"devices": [device], "algorithms": specs,
                                     "seeds": cfg.seeds[:1], "epochs": epochs,
                                     "name": f"{cfg.name}-tune"})
        runs = sub.runs()
        curves: dict[str, dict[int, float]] = {r.key(): {} for r in runs}

        def on_epoch(metrics: dict[str, Any],
                     curves: dict[str, dict[int, float]] = curves) -> None:
            curves.setdefault(metrics["key"], {})[int(metrics["epoch"])] = \
                float(metrics["val_acc"])

        run_study(sub, out / "runs", executor=executor, on_epoch=on_epoch)
        for trial, run in zip(batch, runs, strict=True):
            curve = curves[run.key()] or _stored_curve(out / "runs", run.key())
            pruned = False
            for step in sorted(curve):
                trial.report(curve[step], step)
                if trial.should_prune():
                    pruned = True
                    break
            value = curve[max(curve)] if curve else 0.0
            trial.set_user_attr("val_acc", value)
            if pruned:
                study.tell(trial, state=state.PRUNED)
            else:
                study.tell(trial, value)


def _stored_curve(runs_dir: Path, key: str) -> dict[int, float]:
    """Validation accuracy per epoch of a run already finished in ``runs_dir``."""
    from pulsetrain.store.sqlite import ResultStore

    store = ResultStore(runs_dir / "results.sqlite")
    return {int(m["epoch"]): float(m["val_acc"]) for m in store.epochs(key)}


def _pair_result(optuna: Any, study: Any, device: str, index: int, spec: AlgorithmSpec
                 ) -> PairResult:
    state = optuna.trial.TrialState
    rows = []
    for t in study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED)):
        rows.append({"trial": t.number, "lr": t.params["lr"],
                     "options": {k: v for k, v in t.params.items() if k != "lr"},
                     "val_acc": t.user_attrs.get("val_acc", t.value),
                     "pruned": t.state == state.PRUNED})
    complete = [r for r in rows if not r["pruned"]] or rows
    best = max(complete, key=lambda r: (r["val_acc"], -r["trial"]))
    options = dict(spec.options)
    if "bl" in best["options"]:
        options["bl"] = best["options"]["bl"]
    if "transfer_every" in best["options"]:
        options["transfer"] = {**dict(spec.options.get("transfer", {})),
                               "transfer_every": best["options"]["transfer_every"]}
    return PairResult(device, index, spec, float(best["lr"]), options,
                      float(best["val_acc"]), rows)


def tuned_config(cfg: StudyConfig, results: list[PairResult]) -> StudyConfig:
    """``cfg`` with each algorithm entry's tuned learning rate and options.  With several
    devices an entry takes the geometric mean of its devices' best learning rates and
    the options of its best device (a study config has one lr per entry)."""
    specs = []
    for index, spec in enumerate(cfg.algorithms):
        mine = [r for r in results if r.index == index]
        lr = math.exp(sum(math.log(r.best_lr) for r in mine) / len(mine))
        best = max(mine, key=lambda r: r.best_val_acc)
        specs.append(AlgorithmSpec(name=spec.name, lr=lr, options=best.best_options))
    return cfg.model_copy(update={"algorithms": specs})


def write_outputs(cfg: StudyConfig, results: list[PairResult], out: Path) -> None:
    """``tuned.yaml``, ``tuning.csv`` and ``tuning.png`` in ``out``."""
    import yaml

    tuned = tuned_config(cfg, results)
    data = tuned.model_dump(mode="json", exclude_unset=True)
    data["algorithms"] = [s.model_dump(mode="json", exclude_defaults=True)
                          for s in tuned.algorithms]
    (out / "tuned.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with (out / "tuning.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["pair", "trial", "lr", "options", "val_acc", "pruned"])
        for r in results:
            for row in r.trials:
                writer.writerow([_pair_name(r.device, r.index, r.spec), row["trial"],
                                 f"{row['lr']:.6g}", row["options"], f"{row['val_acc']:.4f}",
                                 int(row["pruned"])])
    _plot(results, out / "tuning.png")


def _plot(results: list[PairResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for r in results:
        rows = sorted(r.trials, key=lambda x: x["lr"])
        ax.plot([x["lr"] for x in rows], [100 * x["val_acc"] for x in rows], "o-",
                label=f"{r.spec.name} @ {r.device}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
