"""Command-line interface: a thin layer over the library (no maths here)."""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pulsetrain import __version__
from pulsetrain.crossbar.symmetry import SymmetryProgress
from pulsetrain.devices import builtin_names, resolve_device
from pulsetrain.devices.io import device_to_dict
from pulsetrain.devices.quality import training_warnings
from pulsetrain.energy.costs import (
    COST_PARTS,
    DigitalEnergyModel,
    RunCostMeter,
    format_joules,
    run_costs,
)
from pulsetrain.energy.read import ReadEnergyModel, read_energy
from pulsetrain.errors import PulsetrainError, describe_validation_error
from pulsetrain.measurements import FileProblem, format_seconds, scan_folder
from pulsetrain.study.signals import StudyInterrupted, interrupted_exit_code, stop_on_signals
from pulsetrain.training.config import TrainConfig, load_config_file
from pulsetrain.training.registry import ALGORITHMS
from pulsetrain.training.registry import algorithm as algorithm_entry
from pulsetrain.workflows import fit_folder

HELP_SETTINGS = {"show_default": True}
"""Every ``--help`` shows each option's default (plain on/off flags: off)."""

app = typer.Typer(
    help="pulsetrain: accuracy, convergence and energy of on-chip training with measured "
    "synaptic devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP_SETTINGS,
)
device_app = typer.Typer(help="Measured devices: scan folders, fit device models, list "
                         "built-ins.", no_args_is_help=True, context_settings=HELP_SETTINGS)
app.add_typer(device_app, name="device")
study_app = typer.Typer(help="Energy–convergence studies: run a grid of trainings, report.",
                        no_args_is_help=True, context_settings=HELP_SETTINGS)
app.add_typer(study_app, name="study")

EXIT_INPUT = 2
"""Exit status for bad input (every ``PulsetrainError``)."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class WindowChoice(str, Enum):
    """Where ``device fit`` takes the switching window from."""

    prefer_cutoffs = "prefer-cutoffs"
    cutoffs = "cutoffs"
    auto = "auto"


def _fail(exc: Exception) -> NoReturn:
    """Print the error (one ``error:`` line per problem it lists) and exit with status 2."""
    for line in str(exc).splitlines() or [type(exc).__name__]:
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=EXIT_INPUT)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Print the version.")]
          = False) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit()


def _print_problems(problems: list[FileProblem]) -> None:
    for p in problems:
        tag = "[red]unreadable[/]" if p.severity == "error" else "[yellow]warning[/]"
        err.print(f"{tag} {p}", highlight=False, soft_wrap=True)


@device_app.command("scan")
def device_scan(
    folder: Annotated[Path, typer.Argument(help="Folder with measurement files (searched "
                                            "recursively).")],
    cutoffs: Annotated[Path | None, typer.Option("--cutoffs", help="Cutoffs CSV (default "
                                                 "FOLDER/cutoffs.csv).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON ({runs, problems}) "
                                          "instead of a table.")] = False,
) -> None:
    """List the measured runs in FOLDER: device, run, date, time, pulse width, pulses,
    amplitude window, repetitions, whether a cutoff window is known; then every file
    that could not be read (and why) and every warning."""
    try:
        scan = scan_folder(folder, cutoffs=cutoffs)
    except PulsetrainError as exc:
        _fail(exc)
    rows = [r.summary() for r in scan.runs]
    if as_json:
        _print_json({"runs": rows, "problems": [p.as_dict() for p in scan.problems]})
        return
    table = Table(title=f"{len(rows)} runs in {folder}")
    for col in ("device", "run", "date", "time", "pulse width", "pulses", "amplitude (V)",
                "reps", "cutoff"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["device_id"], str(r["run"]), r["date"] or "", r["time"] or "",
                      r["pulse_width"],
                      str(r["pulses"]), f"{r['amplitude_min_v']:.2f} … {r['amplitude_max_v']:.2f}",
                      str(r["repetitions"]), "yes" if r["has_cutoff"] else "no")
    out.print(table)
    _print_problems(scan.problems)


@device_app.command("fit")
def device_fit(
    folder: Annotated[Path, typer.Argument(help="Folder with the measurements (and "
                                            "cutoffs.csv).")],
    device: Annotated[str | None, typer.Option("--device", "-d", help="Fit only this device "
                                               "(e.g. ID161ZR15000); default: every device "
                                               "in FOLDER.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write device files, "
                                                 "metrics.csv, figures, report.md (one folder "
                                                 "per device without --device) and "
                                                 "summary.csv/summary.png here.")] = None,
    points: Annotated[int, typer.Option("--points", min=4, help="Lookup-table nodes.")] = 32,
    repetition: Annotated[int | None, typer.Option("--repetition", help="Repetition to fit "
                                                   "(default: the last usable one).")] = None,
    min_pulses: Annotated[int, typer.Option("--min-pulses", min=3, help="Hard floor of "
                                            "usable pulses per direction (fits with fewer "
                                            "than 40 are flagged).")] = 10,
    window: Annotated[WindowChoice, typer.Option("--window", help="Switching window: the "
                                                 "cutoffs row where one matches, else found "
                                                 "from the data (prefer-cutoffs); cutoffs "
                                                 "rows only; always automatic.")]
    = WindowChoice.prefer_cutoffs,
    cutoffs: Annotated[Path | None, typer.Option("--cutoffs", help="Cutoffs CSV (default "
                                                 "FOLDER/cutoffs.csv).")] = None,
    area_m2: Annotated[float | None, typer.Option("--area-m2", help="Device area (m²) "
                                                  "written into the device files (energy "
                                                  "models need it).")] = None,
    thickness_m: Annotated[float | None, typer.Option("--thickness-m", help="Film thickness "
                                                      "(m) written into the device "
                                                      "files.")] = None,
    recipe: Annotated[str, typer.Option("--recipe", help="Device-model recipe: measured "
                                        "(pulsetrain's fit) or thesis (the published "
                                        "study's; docs/recipes.md).")] = "measured",
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Skip the PNG figures.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one record per run as "
                                          "JSON.")] = False,
) -> None:
    """Fit a lookup-table device model to every run in FOLDER (or of one device): each
    run ends fitted (with quality flags), refused (with the reason) or unreadable."""
    try:
        with err.status("fitting runs…") as status:
            result = fit_folder(
                folder, out_dir, device_id=device, n_points=points, repetition=repetition,
                min_pulses=min_pulses, window=window.value, figures=not no_figures,
                cutoffs=cutoffs, area_m2=area_m2, thickness_m=thickness_m, recipe=recipe,
                on_run=lambda label: status.update(f"fitting {label}…"))
    except PulsetrainError as exc:
        _fail(exc)
    rows = result.summary_table().to_dict(orient="records")
    fitted = sum(len(d.fits) for d in result.devices)
    nothing = PulsetrainError(f"{folder}: none of the {len(rows)} runs"
                              + (f" of device {device}" if device else "") + " could be "
                              "fitted (reasons in the table)")
    if as_json:
        _print_json({"runs": rows, "problems": [p.as_dict() for p in result.problems],
                     "out": str(out_dir) if out_dir else None})
        if rows and not fitted:
            _fail(nothing)
        return
    table = Table(title=f"{folder}: {fitted} of {len(rows)} runs fitted")
    for col in ("device", "run", "pulse width", "status", "window", "Gmax/Gmin", "n up/down",
                "dw_min", "SP", "quality / reason"):
        table.add_column(col, overflow="fold")
    for o in result.outcomes:
        pw = format_seconds(o.pulse_width_s) if o.pulse_width_s else "?"
        if o.fit is None:
            table.add_row(o.device_id, o.run, pw, o.status, "", "", "", "", "", o.reason)
            continue
        m = o.fit.metrics
        table.add_row(o.device_id, m.run, pw, o.status, m.window.split(" ")[0],
                      f"{m.gmax_gmin:.2f}", f"{m.n_up}/{m.n_down}", f"{m.dw_min:.4f}",
                      f"{m.symmetry_point:.3f}", m.quality)
    out.print(table)
    _print_problems([p for p in result.problems if p.severity == "warning"])
    if out_dir is not None:
        files = sum(len(d.device_files) for d in result.devices)
        out.print(f"wrote {files} device files and {out_dir / 'summary.csv'}")
    if rows and not fitted:  # nothing to train on: exit 2, as bad input does
        _fail(nothing)


@device_app.command("list")
def device_list(
    recipe: Annotated[str | None, typer.Option("--recipe", help="Only built-ins of this "
                                               "device-model recipe (measured, thesis); "
                                               "default: all.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the built-in devices (fitted from measured data shipped as parameters), with
    the device-model recipe each was made with."""
    devices = [resolve_device(n) for n in builtin_names(recipe)]
    if as_json:
        _print_json([{"name": d.name, "recipe": d.metrics.get("recipe", "measured"),
                      "pulse_width_s": d.pulse_width_s, "dw_min": d.dw_min,
                      "symmetry_point": d.metrics.get("symmetry_point"),
                      "gmax_gmin": d.metrics.get("gmax_gmin")} for d in devices])
        return
    table = Table(title="built-in devices")
    for col in ("name", "recipe", "pulse width", "Gmax/Gmin", "dw_min", "SP", "source run"):
        table.add_column(col)
    for d in devices:
        table.add_row(d.name, str(d.metrics.get("recipe", "measured")),
                      format_seconds(d.pulse_width_s or 0),
                      f"{d.metrics.get('gmax_gmin', float('nan')):.2f}", f"{d.dw_min:.4f}",
                      f"{d.metrics.get('symmetry_point', float('nan')):.3f}", str(d.run))
    out.print(table)


@device_app.command("show")
def device_show(
    device: Annotated[str, typer.Argument(help="Built-in name or device file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the device file content.")]
    = False,
) -> None:
    """Show one device (built-in name or device file)."""
    try:
        dev = resolve_device(device)
    except PulsetrainError as exc:
        _fail(exc)
    if as_json:
        _print_json(device_to_dict(dev))
        return
    out.print(repr(dev))
    for key, value in dev.metrics.items():
        out.print(f"  {key:24s} {value:.4g}" if isinstance(value, float)
                  else f"  {key:24s} {value}")
    if dev.provenance:
        out.print("provenance:")
        for key, value in dev.provenance.items():
            out.print(f"  {key}: {value}", highlight=False)


class ExportFormat(str, Enum):
    """Targets of ``device export``."""

    aihwkit = "aihwkit"
    neurosim = "neurosim"


@device_app.command("export")
def device_export(
    device: Annotated[str, typer.Argument(help="Built-in name or device file.")],
    to: Annotated[ExportFormat, typer.Option("--to", help="aihwkit: PiecewiseStepDevice "
                                             "arguments; neurosim: NeuroSim-style device "
                                             "parameters.")],
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write JSON here "
                                                "instead of stdout.")] = None,
) -> None:
    """Export a device's parameters for AIHWKit or NeuroSim (JSON).

    For AIHWKit: ``PiecewiseStepDevice(**{k: v for k, v in params.items() if k != "class"})``.
    """
    from pulsetrain.fileio import atomic_write
    from pulsetrain.interop import to_neurosim, to_piecewise_step

    try:
        dev = resolve_device(device)
        params = to_piecewise_step(dev) if to is ExportFormat.aihwkit else to_neurosim(dev)
    except (PulsetrainError, ValueError) as exc:
        _fail(exc)
    text = json.dumps(params, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write(output, lambda tmp: tmp.write_text(text))
        err.print(f"wrote {output}")


def _cfg_default(field: str, none: str = "") -> str:
    """``(default: V, or the --config file's)`` for a ``train`` option left unset, V the
    TrainConfig default (``none`` standing in for a ``None`` default)."""
    value = TrainConfig.model_fields[field].get_default(call_default_factory=True)
    return f"(default: {none if value is None else value}, or the --config file's)"


@app.command("train")
def train_cmd(
    device: Annotated[str | None, typer.Option(
        "--device", "-d", help="Built-in device name or device file "
        f"{_cfg_default('device')}.")] = None,
    algorithm: Annotated[str | None, typer.Option(
        "--algorithm", "-a", help=f"{' | '.join(ALGORITHMS)} "
        f"{_cfg_default('algorithm')}.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Network: mlp | lenet5 | cifar-cnn "
        f"{_cfg_default('model')}.")] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", min=1, help=f"Training epochs {_cfg_default('epochs')}.")] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Learning rate (default: the algorithm's, "
        f"{', '.join(f'{a} {algorithm_entry(a).default_lr:g}' for a in ALGORITHMS)}; "
        "or the --config file's).")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, help=f"Seed of initial weights, data order and pulse draws "
        f"{_cfg_default('seed')}.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML/TOML file with "
                                                "any TrainConfig keys; options override "
                                                "it.")] = None,
    train_subset: Annotated[int | None, typer.Option(
        "--train-subset", min=1, help="Use only the first N training images "
        f"{_cfg_default('train_subset', 'all')}.")] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="mnist | fashion-mnist | cifar10 | idx (cifar10 and idx need "
        f"--data-dir) {_cfg_default('dataset')}.")] = None,
    data_dir: Annotated[str | None, typer.Option(
        "--data-dir", help="The dataset's folder (default: its installed files, or the "
        "--config file's).")] = None,
    val_size: Annotated[int | None, typer.Option(
        "--val-size", min=1, help="Validation images, taken from the dataset's training "
        f"images (at most their number − 1) {_cfg_default('val_size')}.")] = None,
    test_subset: Annotated[int | None, typer.Option(
        "--test-subset", min=1, help="Use only the first N test images "
        f"{_cfg_default('test_subset', 'all 10 000')}.")] = None,
    torch_device: Annotated[str | None, typer.Option(
        "--torch-device", help="Where the tensors live: cpu (numba kernels) or cuda[:N] "
        f"(torch kernels, not yet tuned) {_cfg_default('torch_device')}.")] = None,
    periphery: Annotated[str | None, typer.Option(
        "--periphery", help="Analog read-out: ideal or aihwkit-default (AIHWKit 1.1.0's "
        "default IOParameters; override fields with periphery_options in --config) "
        f"{_cfg_default('periphery')}.")] = None,
    max_tile_inputs: Annotated[int | None, typer.Option(
        "--max-tile-inputs", min=0, help="Map a layer with more inputs onto several tiles "
        "of at most N inputs, each with its own read-out and pulse management (AIHWKit's "
        "mapping.max_input_size; the published study ran with 512); 0: one tile per layer "
        f"{_cfg_default('max_tile_inputs')}.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write results.sqlite "
                                                 "and per-epoch checkpoints here.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint "
                                         "in --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print per-epoch metrics as JSON.")]
    = False,
) -> None:
    """Train a network (default: the MNIST MLP) on simulated devices; count every pulse.

    With --out, every finished epoch is checkpointed: after Ctrl-C, rerun with --resume."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pulsetrain.training.driver import train
    from pulsetrain.training.trainer import (
        checkpoint_path,
        checkpointed_epochs,
        read_checkpoint,
    )

    try:
        overrides = {k: v for k, v in {"device": device, "algorithm": algorithm,
                                        "model": model,
                                        "epochs": epochs, "lr": lr, "seed": seed,
                                        "train_subset": train_subset, "val_size": val_size,
                                        "dataset": dataset, "data_dir": data_dir,
                                        "test_subset": test_subset,
                                        "torch_device": torch_device,
                                        "periphery": periphery,
                                        "max_tile_inputs": max_tile_inputs}.items()
                     if v is not None}
        cfg = (cast(TrainConfig, load_config_file(config, TrainConfig, overrides)) if config
               else TrainConfig.model_validate(overrides))
    except PulsetrainError as exc:
        _fail(exc)
    except ValidationError as exc:  # CLI values that break the config schema
        _fail(PulsetrainError(describe_validation_error(exc, "option/key", TrainConfig)))
    if resume and out_dir is None:
        _fail(PulsetrainError("--resume needs --out (where the checkpoints are)"))
    analog = algorithm_entry(cfg.algorithm).analog
    noise = None
    if analog:
        _warn_devices([cfg.device_label])
        try:
            noise = cfg.noise(resolve_device(cfg.device))
        except PulsetrainError as exc:
            _fail(exc)
    done = checkpointed_epochs(cfg, out_dir) if resume and out_dir is not None else 0
    if resume:
        err.print(_resume_line(done, cfg.epochs, out_dir), highlight=False)
    meter, energy_note = _cost_meter(cfg, analog)
    if meter is not None and done and out_dir is not None:
        # costs continue from the checkpoint's epochs (what the resumed run replays)
        meter.epochs = list(read_checkpoint(checkpoint_path(cfg, out_dir)).history)
    if energy_note and not as_json:
        err.print(energy_note, highlight=False)
    finished = [done]  # the last epoch finished (and, with --out, checkpointed)
    try:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      disable=as_json or not sys.stderr.isatty()) as bar:
            task = bar.add_task(f"epoch {done + 1}", total=None)

            def on_batch(k: int, n: int) -> None:
                bar.update(task, completed=k, total=n, description=f"epoch {finished[0] + 1}")

            def on_epoch(m: dict[str, Any]) -> None:
                finished[0] = m["epoch"]
                costs = meter.add(m) if meter is not None else None
                if not as_json:
                    err.print("  ".join(_epoch_fields(m, costs)), highlight=False)

            on_sp = None if as_json else _sp_progress_printer(bar, task)
            try:
                result = train(cfg, out_dir, resume=resume, on_epoch=on_epoch,
                               on_batch=on_batch, on_sp_progress=on_sp)
            except PulsetrainError as exc:
                _fail(exc)
    except KeyboardInterrupt:
        if out_dir is not None:  # what a rerun with --resume will find
            finished[0] = checkpointed_epochs(cfg, out_dir)
        err.print(_interrupt_line(finished[0], out_dir), highlight=False)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    costs = (run_costs(result.epochs, meter.device, meter.pulse_model, meter.read_model,
                       meter.digital_model)
             if meter is not None else [{} for _ in result.epochs])
    if as_json:
        reads = read_energy(result.epochs)
        records = [{**m, **r, **c}
                   for m, r, c in zip(result.epochs, reads, costs, strict=True)]
        energy: dict[str, Any] = {"note": energy_note} if meter is None else {
            "total_j": costs[-1]["energy_total_j"],
            **{f"{p}_j": costs[-1][f"{p}_energy_total_j"] for p in COST_PARTS},
            "pulse_energy_model": type(meter.pulse_model).__name__,
            "digital_energy_per_op_j": DigitalEnergyModel().energy_per_op_j}
        _print_json({"key": result.key, "config": result.config,
                     "noise": noise.as_dict() if noise is not None else None,
                     "sp_shift": result.sp_report,
                     "epochs": records, "energy": energy,
                     "read_energy_model": asdict(ReadEnergyModel())})
    else:
        f = result.final
        spent = (f", {format_joules(costs[-1]['energy_total_j'])} in all"
                 if meter is not None else "")
        out.print(f"{cfg.algorithm} on {cfg.device if analog else 'float'}: "
                  f"test accuracy {f['test_acc']:.4f} after {f['epoch']} epochs, "
                  f"{f['pulses_total']:,} pulses{spent}"
                  + (f"; {noise.describe()}" if noise is not None else "")
                  + (f"; results in {out_dir}" if out_dir else ""))


def _epoch_fields(m: dict[str, Any], costs: dict[str, float] | None = None) -> list[str]:
    """The columns of ``train``'s line per finished epoch (``m``: the epoch's metrics,
    ``costs``: its :func:`~pulsetrain.energy.costs.run_costs` row, if known)."""
    fields = [f"epoch {m['epoch']:3d}", f"loss {m['train_loss']:.4f}",
              f"val {m['val_acc']:.4f}", f"test {m['test_acc']:.4f}",
              f"pulses {m['pulses']:,}"]
    if costs is not None:
        fields.append(f"energy {format_joules(costs['energy_j'])} "
                      f"(total {format_joules(costs['energy_total_j'])})")
    return [*fields, f"({m['wall_s']:.1f} s)"]


def _cost_meter(cfg: TrainConfig, analog: bool) -> tuple[RunCostMeter | None, str]:
    """A meter of the run's costs, or why there is none (a one-line note)."""
    if not analog:
        return None, "no energy: the float baseline has no device energy model"
    try:
        device = resolve_device(cfg.device)
    except PulsetrainError as exc:  # a missing or broken device file: the run's own error
        _fail(exc)
    try:
        return RunCostMeter(device), ""
    except PulsetrainError as exc:
        return None, f"no energy: {exc}"


def _resume_line(done: int, epochs: int, out_dir: Path | None) -> str:
    """What ``train --resume`` is about to do, given ``done`` checkpointed epochs."""
    if done >= epochs:
        return (f"all {epochs} epoch{'s' * (epochs != 1)} already done (checkpoint in "
                f"{out_dir}): nothing to train")
    if done == 0:
        return f"no checkpoint of this run in {out_dir}: starting at epoch 1"
    return f"resuming at epoch {done + 1} of {epochs} ({done} done, checkpoint in {out_dir})"


def _interrupt_line(done: int, out_dir: Path | None) -> str:
    """What to tell after Ctrl-C with ``done`` finished epochs."""
    if out_dir is None:
        return (f"interrupted after epoch {done} — nothing was saved (no --out); rerun with "
                "--out DIR to be able to resume")
    if done == 0:
        return "interrupted before epoch 1 finished — nothing checkpointed yet; rerun to start"
    return (f"interrupted after epoch {done} — rerun with --resume (same options) to continue "
            f"at epoch {done + 1}")


SP_PRINT_EVERY_S = 5.0
"""Seconds between two SP-estimation progress lines when stderr is not a terminal."""


def _sp_progress_printer(bar: Any, task: Any) -> Callable[[SymmetryProgress], None]:
    """Show SP shifting's symmetry-point estimation: on a terminal in the progress bar's
    description, otherwise as a line every :data:`SP_PRINT_EVERY_S` and per finished
    layer."""
    last = [-float("inf")]

    def show(p: SymmetryProgress) -> None:
        where = f"array {p.layer + 1}/{p.layers}"  # one per tile (a layer may span several)
        if p.finished:
            text = (f"estimating symmetry points: {where} done after {p.rounds} rounds, "
                    f"{100 * p.settled:.0f} % of devices settled, {p.pulses:,} pulses")
        else:
            text = (f"estimating symmetry points: {where}, round {p.rounds}, "
                    f"{100 * p.settled:.0f} % of devices settled")
        if sys.stderr.isatty():
            bar.update(task, description=text)
            return
        now = time.monotonic()
        if p.finished or now - last[0] >= SP_PRINT_EVERY_S:
            last[0] = now
            err.print(text, highlight=False)

    return show


def _warn_devices(names: list[str]) -> None:
    """Print the devices' training warnings (SP at a bound, SP mismatch) before training."""
    for name in names:
        try:
            dev = resolve_device(name)
        except PulsetrainError:
            continue  # reported by the run itself
        for line in training_warnings(dev):
            err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


STACK_HELP = ("Runs trained together per process (one batched MVM per layer and step): "
              "'auto' (the runs dealt evenly over the workers) or a maximum N; 1 = off.")


def _parse_stack(text: str) -> int | str:
    """``--stack`` value: ``auto`` or a positive integer."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise PulsetrainError(f"--stack: expected 'auto' or a positive integer, got {text!r}")
    return value


class EpochCount:
    """Epochs of a study's runs for its progress bar: a finished run counts all its
    epochs, however many of its epoch reports arrived (a resumed run's earlier epochs
    are not reported; a worker's last report may come after the run's end)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.per_run: dict[str, int] = {}

    def epoch(self, key: str) -> int:
        """One more epoch of run ``key``; returns the total."""
        self.per_run[key] = min(self.per_run.get(key, 0) + 1, self.epochs)
        return sum(self.per_run.values())

    def done(self, key: str) -> int:
        """Run ``key`` finished; returns the total."""
        self.per_run[key] = self.epochs
        return sum(self.per_run.values())


def _interrupted(exc: BaseException, kept: str) -> NoReturn:
    """A study or tuning run stopped by a signal (``exc``: :class:`StudyInterrupted` or
    ``KeyboardInterrupt``): say what is ``kept`` and how to resume; exit 128 + signum."""
    signum = exc.signum if isinstance(exc, StudyInterrupted) else signal.SIGINT
    again = "pulsetrain " + shlex.join(sys.argv[1:])
    err.print(f"[bold yellow]interrupted ({signal.Signals(signum).name}):[/] {kept}; "
              f"resume with: {escape(again)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=interrupted_exit_code(signum))


def _run_and_report(cfg: Any, out_dir: Path) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pulsetrain.report.study_report import write_study_report
    from pulsetrain.study import run_study

    n = len(cfg.runs())
    _warn_devices(cfg.device_names())
    err.print(f"{cfg.name}: {n} runs ({len(cfg.device_names())} devices × "
              f"{len(cfg.algorithms)} algorithms × {len(cfg.seeds)} seeds, {cfg.epochs} epochs)"
              f" → {out_dir}", highlight=False)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
        # epochs of all runs, reported as each run finishes one (also from worker
        # processes)
        task = bar.add_task("run-epochs", total=n * cfg.epochs)
        count = EpochCount(cfg.epochs)
        lock = threading.Lock()  # worker reports arrive on a relay thread

        def on_epoch(metrics: dict[str, Any]) -> None:
            with lock:
                bar.update(task, completed=count.epoch(metrics["key"]))

        finished = [0]

        def on_done(item: dict[str, Any], k: int, total: int) -> None:
            with lock:
                finished[0] = k
                bar.update(task, completed=count.done(item["key"]))
            if not item.get("skipped"):
                bar.console.print(f"  {item['algorithm']:16s} {item['device']:22s} seed "
                                  f"{item['seed']}: test {100 * item['test_acc']:.1f} %",
                                  highlight=False)

        try:
            run_study(cfg, out_dir, on_done=on_done, on_epoch=on_epoch)
        except (StudyInterrupted, KeyboardInterrupt) as exc:
            _interrupted(exc, f"workers stopped; {finished[0]} of {n} runs finished, every "
                         "finished epoch kept in "
                         f"{escape(str(out_dir / 'results.sqlite'))}")
    report = write_study_report(out_dir)
    out.print(f"report: {report.html} (and {report.markdown.name}, summary.csv, figures/)")


@study_app.command("run")
def study_run(
    config: Annotated[Path, typer.Argument(help="Study config (YAML or TOML).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Study folder (store, "
                                          "checkpoints, report).")] = Path("results/study"),
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Parallel runs "
                                                "(processes); overrides the config.")] = None,
    stack: Annotated[str | None, typer.Option("--stack", help=STACK_HELP)] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="Where runs train: auto, serial, local (process pool) or ray "
        "(Ray tasks; needs pulsetrain's 'ray' extra); overrides the config.")] = None,
    address: Annotated[str | None, typer.Option(
        "--address", help="Ray cluster for --executor ray (HOST:PORT, ray://HOST:10001 or "
        "auto); default a local Ray with --workers CPUs.")] = None,
) -> None:
    """Run every (device × algorithm × seed) of CONFIG, resuming what is unfinished, then
    write the report."""
    from pulsetrain.study import StudyConfig
    from pulsetrain.study.runner import check_executor

    try:
        cfg = load_config_file(config, StudyConfig)
        if workers is not None:
            cfg = cfg.model_copy(update={"workers": workers})
        if stack is not None:
            cfg = cfg.model_copy(update={"stack": _parse_stack(stack)})
        if executor is not None:
            cfg = cfg.model_copy(update={"executor": executor})
        if address is not None:
            cfg = cfg.model_copy(update={"ray_address": address})
        assert isinstance(cfg, StudyConfig)
        check_executor(cfg.executor, cfg.ray_address)  # e.g. Ray missing: before training
        cfg.check()  # devices and their energy parameters, before any training
        _run_and_report(cfg, out_dir)
    except PulsetrainError as exc:
        _fail(exc)


@study_app.command("tune")
def study_tune(
    config: Annotated[Path, typer.Argument(help="Study config (YAML or TOML).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Tuning folder (Optuna "
                                          "storage, trial runs, tuned.yaml).")]
    = Path("results/tune"),
    trials: Annotated[int, typer.Option("--trials", help="Trials per (device, "
                                        "algorithm) pair.")] = 20,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs per trial "
                                               "(default the config's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampler seed.")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Trials trained "
                                                "at once; overrides the config.")] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="auto, serial, local or ray; overrides the config.")] = None,
) -> None:
    """Tune each (device, algorithm)'s learning rate (and bl / transfer_every) on the
    validation split; writes OUT/tuned.yaml for `study run`, tuning.csv, tuning.png."""
    from pulsetrain.study import StudyConfig
    from pulsetrain.study.runner import check_executor
    from pulsetrain.study.tune import tune_study

    try:
        cfg = load_config_file(config, StudyConfig)
        if workers is not None:
            cfg = cfg.model_copy(update={"workers": workers})
        if executor is not None:
            cfg = cfg.model_copy(update={"executor": executor})
        assert isinstance(cfg, StudyConfig)
        check_executor(cfg.executor, cfg.ray_address)
        with stop_on_signals():  # SIGTERM as SIGINT: trials' workers stopped, storage kept
            results = tune_study(cfg, out_dir, trials, epochs, seed)
    except (StudyInterrupted, KeyboardInterrupt) as exc:  # before PulsetrainError
        _interrupted(exc, f"finished trials kept in {escape(str(out_dir / 'tune.sqlite3'))}")
    except PulsetrainError as exc:
        _fail(exc)
    for r in results:
        out.print(f"{r.spec.name} @ {r.device}: lr {r.best_lr:.4g} {r.best_options} "
                  f"val {100 * r.best_val_acc:.1f} %")
    out.print(f"tuned: {out_dir / 'tuned.yaml'} (and tuning.csv, tuning.png)")


@study_app.command("report")
def study_report(
    folder: Annotated[Path, typer.Argument(help="Study folder written by `study run`.")],
) -> None:
    """(Re)write report.html, report.md, summary.csv and figures of a study folder."""
    from pulsetrain.report.study_report import write_study_report

    if not (folder / "study.json").is_file():
        _fail(PulsetrainError(f"{folder}: not a study folder (no study.json)"))
    try:
        report = write_study_report(folder)
    except PulsetrainError as exc:
        _fail(exc)
    out.print(f"report: {report.html}")


@app.command("reproduce")
def reproduce(
    quick: Annotated[bool, typer.Option("--quick/--full", help="--quick: reduced data and "
                                        "epochs (minutes on 2 cores); --full: the thesis "
                                        "setup (25 epochs, full MNIST).")] = True,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Default "
                                                 "results/reproduce-quick or -full.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel runs.")] = 1,
    stack: Annotated[str, typer.Option("--stack", help=STACK_HELP)] = "auto",
    recipe: Annotated[str, typer.Option("--recipe", help="Device-model recipe of the "
                                        "built-ins: measured, thesis (the published study's "
                                        "devices; adds SP shifting at its reported SPs) or "
                                        "both (with a recipe-sensitivity section).")]
    = "measured",
    setup: Annotated[str, typer.Option("--setup", help="Simulator settings: ideal "
                                       "(pulsetrain's defaults: ideal MVMs, one tile per "
                                       "layer) or aihwkit (as the published study ran "
                                       "AIHWKit: its default read-out, 512-input tiles, its "
                                       "pulse-management granularity).")] = "ideal",
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Seeds per pair "
                                       "(0 … N-1).")] = 1,
    tune: Annotated[int | None, typer.Option("--tune", min=1, help="Tune each pair's "
                                             "learning rate first with this many trials "
                                             "(needs the 'tune' extra), then run the "
                                             "tuned study.")] = None,
) -> None:
    """The paper's energy–convergence study on the built-in ID161ZR15000 family:
    every pulse width × {sgd, mixed-precision, sp-shift}; ends with the report's path."""
    from pulsetrain.study import reproduce_config

    try:
        cfg = reproduce_config(quick, recipe, setup).model_copy(
            update={"workers": workers, "stack": _parse_stack(stack),
                    "seeds": list(range(seeds))})
        folder = out_dir or Path(f"results/{cfg.name}")
        if tune is not None:
            from pulsetrain.study.tune import tune_study, tuned_config

            cfg = tuned_config(cfg, tune_study(cfg, folder / "tune", tune))
        _run_and_report(cfg, folder)
    except PulsetrainError as exc:
        _fail(exc)


def main() -> None:
    """Entry point of the ``pulsetrain`` command."""
    app()
