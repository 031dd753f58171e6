"""Command-line interface: a thin layer over the library (no maths here)."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from pulsetrain import __version__
from pulsetrain.devices import builtin_names, resolve_device
from pulsetrain.devices.io import device_to_dict
from pulsetrain.devices.quality import training_warnings
from pulsetrain.energy.read import ReadEnergyModel, read_energy
from pulsetrain.errors import PulsetrainError, describe_validation_error
from pulsetrain.measurements import FileProblem, format_seconds, scan_folder
from pulsetrain.training.config import TrainConfig, load_config_file
from pulsetrain.training.registry import algorithm as algorithm_entry
from pulsetrain.workflows import fit_folder

app = typer.Typer(
    help="pulsetrain: accuracy, convergence and energy of on-chip training with measured "
    "synaptic devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
device_app = typer.Typer(help="Measured devices: scan folders, fit device models, list "
                         "built-ins.", no_args_is_help=True)
app.add_typer(device_app, name="device")
study_app = typer.Typer(help="Energy–convergence studies: run a grid of trainings, report.",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class WindowChoice(str, Enum):
    """Where ``device fit`` takes the switching window from."""

    prefer_cutoffs = "prefer-cutoffs"
    cutoffs = "cutoffs"
    auto = "auto"


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


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
    """List the measured runs in FOLDER: device, date, time, pulse width, pulses,
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
    for col in ("device", "date", "time", "pulse width", "pulses", "amplitude (V)",
                "reps", "cutoff"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["device_id"], r["date"] or "", r["time"] or "", r["pulse_width"],
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
    if as_json:
        _print_json({"runs": rows, "problems": [p.as_dict() for p in result.problems],
                     "out": str(out_dir) if out_dir else None})
        return
    fitted = sum(len(d.fits) for d in result.devices)
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


@app.command("train")
def train_cmd(
    device: Annotated[str | None, typer.Option("--device", "-d", help="Built-in device name "
                                               "or device file (default "
                                               "ID161ZR15000-200ns).")] = None,
    algorithm: Annotated[str | None, typer.Option(
        "--algorithm", "-a", help="sgd | mixed-precision | sp-shift | float")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1)] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default per "
                                             "algorithm: sgd 0.05, mixed-precision 0.5, "
                                             "sp-shift 0.1, float 0.5).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML/TOML file with "
                                                "any TrainConfig keys; options override "
                                                "it.")] = None,
    train_subset: Annotated[int | None, typer.Option("--train-subset", min=1, help="Use only "
                                                     "the first N training images.")] = None,
    torch_device: Annotated[str | None, typer.Option(
        "--torch-device", help="Where the tensors live: cpu (default; numba kernels) or "
        "cuda[:N] (torch kernels, not yet tuned).")] = None,
    periphery: Annotated[str | None, typer.Option(
        "--periphery", help="Analog read-out: ideal (default) or aihwkit-default (AIHWKit "
        "1.1.0's default IOParameters; override fields with periphery_options in "
        "--config).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write results.sqlite "
                                                 "and per-epoch checkpoints here.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint "
                                         "in --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print per-epoch metrics as JSON.")]
    = False,
) -> None:
    """Train the MNIST MLP on simulated devices and count every programming pulse."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pulsetrain.training.driver import train

    try:
        base = load_config_file(config) if config else TrainConfig()
        overrides = {k: v for k, v in {"device": device, "algorithm": algorithm,
                                        "epochs": epochs, "lr": lr, "seed": seed,
                                        "train_subset": train_subset,
                                        "torch_device": torch_device,
                                        "periphery": periphery}.items()
                     if v is not None}
        cfg = TrainConfig.model_validate({**base.model_dump(), **overrides})
    except PulsetrainError as exc:
        _fail(exc)
    except ValidationError as exc:  # CLI values that break the config schema
        _fail(PulsetrainError(describe_validation_error(exc, "option/key")))
    if resume and out_dir is None:
        _fail(PulsetrainError("--resume needs --out (where the checkpoints are)"))
    analog = algorithm_entry(cfg.algorithm).analog
    if analog:
        _warn_devices([cfg.device])
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task("epoch 1", total=None)
        state = {"epoch": 1}

        def on_batch(k: int, n: int) -> None:
            bar.update(task, completed=k, total=n, description=f"epoch {state['epoch']}")

        def on_epoch(m: dict[str, Any]) -> None:
            state["epoch"] = m["epoch"] + 1
            if not as_json:
                err.print(f"epoch {m['epoch']:3d}  loss {m['train_loss']:.4f}  val "
                          f"{m['val_acc']:.4f}  test {m['test_acc']:.4f}  pulses "
                          f"{m['pulses']:,}  ({m['wall_s']:.1f} s)", highlight=False)

        try:
            result = train(cfg, out_dir, resume=resume, on_epoch=on_epoch, on_batch=on_batch)
        except PulsetrainError as exc:
            _fail(exc)
    if as_json:
        reads = read_energy(result.epochs)
        records = [{**m, **r} for m, r in zip(result.epochs, reads, strict=True)]
        _print_json({"key": result.key, "config": result.config, "sp_shift": result.sp_report,
                     "epochs": records, "read_energy_model": asdict(ReadEnergyModel())})
    else:
        f = result.final
        out.print(f"{cfg.algorithm} on {cfg.device if analog else 'float'}: "
                  f"test accuracy {f['test_acc']:.4f} after {f['epoch']} epochs, "
                  f"{f['pulses_total']:,} pulses" + (f"; results in {out_dir}" if out_dir
                                                      else ""))


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
        epochs_done = [0]
        lock = threading.Lock()  # worker reports arrive on a relay thread

        def on_epoch(metrics: dict[str, Any]) -> None:
            with lock:
                epochs_done[0] += 1
                bar.update(task, completed=epochs_done[0])

        def on_done(item: dict[str, Any], k: int, total: int) -> None:
            with lock:
                epochs_done[0] = max(epochs_done[0], k * cfg.epochs)
                bar.update(task, completed=epochs_done[0])
            if not item.get("skipped"):
                bar.console.print(f"  {item['algorithm']:16s} {item['device']:22s} seed "
                                  f"{item['seed']}: test {100 * item['test_acc']:.1f} %",
                                  highlight=False)

        run_study(cfg, out_dir, on_done=on_done, on_epoch=on_epoch)
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
) -> None:
    """Run every (device × algorithm × seed) of CONFIG, resuming what is unfinished, then
    write the report."""
    from pulsetrain.study import StudyConfig

    try:
        cfg = load_config_file(config, StudyConfig)
        if workers is not None:
            cfg = cfg.model_copy(update={"workers": workers})
        if stack is not None:
            cfg = cfg.model_copy(update={"stack": _parse_stack(stack)})
        assert isinstance(cfg, StudyConfig)
        cfg.check()  # devices and their energy parameters, before any training
        _run_and_report(cfg, out_dir)
    except PulsetrainError as exc:
        _fail(exc)


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
) -> None:
    """The paper's energy–convergence study on the built-in ID161ZR15000 family:
    every pulse width × {sgd, mixed-precision, sp-shift}; ends with the report's path."""
    from pulsetrain.study import reproduce_config

    try:
        cfg = reproduce_config(quick, recipe).model_copy(
            update={"workers": workers, "stack": _parse_stack(stack)})
        _run_and_report(cfg, out_dir or Path(f"results/{cfg.name}"))
    except PulsetrainError as exc:
        _fail(exc)


def main() -> None:
    """Entry point of the ``pulsetrain`` command."""
    app()
