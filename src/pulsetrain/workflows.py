"""End-to-end jobs that read and write files (the CLI calls these; so can notebooks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from pulsetrain.devices.extract import WindowMode
from pulsetrain.devices.fit import DeviceFit
from pulsetrain.devices.io import save_device
from pulsetrain.devices.metrics import METRIC_COLUMNS
from pulsetrain.devices.recipes import RECIPES, get_recipe
from pulsetrain.errors import FitError, InputError, UnknownDeviceError
from pulsetrain.fileio import atomic_write
from pulsetrain.measurements.scan import FileProblem, FolderScan, MeasuredRun, scan_folder
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.report.device_figures import (
    population_figure,
    raw_figure,
    response_figure,
    save_figure,
    summary_figure,
)
from pulsetrain.report.device_report import write_device_report

SUMMARY_COLUMNS = ("device_id", "run", "pulse_width_s", "status", "reason", "window",
                   "quality")
"""First columns of ``summary.csv``; the metric columns follow."""

RunStatus = Literal["fitted", "refused", "unreadable"]


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run of a folder fit."""

    device_id: str
    run: str
    pulse_width_s: float | None
    status: RunStatus
    reason: str = ""
    fit: DeviceFit | None = None

    def row(self) -> dict[str, Any]:
        """One row of ``summary.csv``."""
        row: dict[str, Any] = {"device_id": self.device_id, "run": self.run,
                               "pulse_width_s": self.pulse_width_s, "status": self.status,
                               "reason": self.reason, "window": "", "quality": ""}
        if self.fit is not None:
            metrics = self.fit.metrics.as_dict()
            row.update({k: v for k, v in metrics.items() if k not in row})
            row["window"] = metrics["window"]
            row["quality"] = metrics["quality"]
        return row


@dataclass
class FitFolderResult:
    """What :func:`fit_device_folder` / :func:`fit_folder` produced for one device."""

    device_id: str = ""
    fits: list[DeviceFit] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Runs not fitted: ``(run, reason)``."""
    outcomes: list[RunOutcome] = field(default_factory=list)
    device_files: list[Path] = field(default_factory=list)
    metrics_csv: Path | None = None
    figures: list[Path] = field(default_factory=list)
    report: Path | None = None

    def metrics_table(self) -> pd.DataFrame:
        """Metrics of every fitted run, one row each."""
        return pd.DataFrame([f.metrics.as_dict() for f in self.fits], columns=METRIC_COLUMNS)


@dataclass
class FolderFit:
    """What :func:`fit_folder` produced: one result per device, and the folder's problems."""

    devices: list[FitFolderResult] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    summary_csv: Path | None = None
    summary_figure: Path | None = None

    @property
    def outcomes(self) -> list[RunOutcome]:
        """Every run of every device."""
        return [o for d in self.devices for o in d.outcomes]

    def summary_table(self) -> pd.DataFrame:
        """``summary.csv``: one row per run (fitted, refused or unreadable)."""
        columns = list(SUMMARY_COLUMNS) + [c for c in METRIC_COLUMNS
                                           if c not in SUMMARY_COLUMNS]
        return pd.DataFrame([o.row() for o in self.outcomes], columns=columns)


def _provenance(fit: DeviceFit, root: Path, options: dict[str, Any],
                recipe: str = "measured") -> dict[str, Any]:
    sweep = fit.clean.sweep
    return {**fit.device.provenance,
        "source": f"measured run {fit.device.run} of device {fit.device.device_id} in {root}",
        "source_file": str(sweep.source) if sweep.source else None,
        "repetition": sweep.repetition,
        "window": fit.metrics.window,
        "quality": fit.metrics.quality,
        "date": date.today().isoformat(),
        "fit": f"pulsetrain.devices.get_recipe({recipe!r}, "
               f"**{_recipe_options(recipe, options)}).fit(run)",
    }


def _recipe_options(recipe: str, options: dict[str, Any]) -> dict[str, Any]:
    """The fit options a recipe takes (``thesis`` has its own rules: only a repetition)."""
    if get_recipe(recipe).name == "measured":
        return options
    return {} if options["repetition"] is None else {"repetition": options["repetition"]}


def _fit_one(run: MeasuredRun, recipe: str, options: dict[str, Any]) -> DeviceFit:
    return get_recipe(recipe, **_recipe_options(recipe, options)).fit(run)


def _fit_runs(scan: FolderScan, device_id: str, runs: list[MeasuredRun],
              options: dict[str, Any], on_run: Callable[[str], None] | None,
              recipe: str = "measured") -> FitFolderResult:
    result = FitFolderResult(device_id=device_id)
    for run in runs:
        if on_run is not None:
            on_run(f"{run.device_id} {format_seconds(run.pulse_width_s)} run {run.run}")
        try:
            fit = _fit_one(run, recipe, options)
        except FitError as exc:
            why = str(exc).removeprefix(f"{run.last.label}: ")
            result.skipped.append((run.run, why))
            result.outcomes.append(RunOutcome(run.device_id, run.run, run.pulse_width_s,
                                              "refused", why))
            continue
        result.fits.append(fit)
        result.outcomes.append(RunOutcome(run.device_id, run.run, run.pulse_width_s, "fitted",
                                          "", fit))
    for (dev, run_id), problems in sorted(scan.unreadable_runs().items()):
        if dev == device_id:
            why = "; ".join(f"{p.path.name}: {p.reason}" for p in problems)
            result.skipped.append((run_id, why))
            result.outcomes.append(RunOutcome(dev, run_id, None, "unreadable", why))
    return result


def _write_device(result: FitFolderResult, out: Path, root: Path, options: dict[str, Any],
                  figures: bool, area_m2: float | None, thickness_m: float | None,
                  recipe: str = "measured") -> None:
    (out / "devices").mkdir(parents=True, exist_ok=True)
    for fit in result.fits:
        device = replace(fit.device, provenance=_provenance(fit, root, options, recipe))
        if area_m2 is not None:
            device = replace(device, area_m2=area_m2)
        if thickness_m is not None:
            device = replace(device, thickness_m=thickness_m)
        result.device_files.append(save_device(device, out / "devices" /
                                               f"{device.name}.json"))
    result.metrics_csv = out / "metrics.csv"
    table = result.metrics_table()
    atomic_write(result.metrics_csv, lambda tmp: table.to_csv(tmp, index=False))
    if figures and result.fits:
        fig_dir = out / "figures"
        for fit in result.fits:
            result.figures.append(save_figure(raw_figure(fit), fig_dir /
                                              f"{fit.device.name}-raw.png"))
            result.figures.append(save_figure(response_figure(fit), fig_dir /
                                              f"{fit.device.name}-response.png"))
        result.figures.append(save_figure(summary_figure([f.metrics for f in result.fits]),
                                          fig_dir / "summary.png"))
    result.report = write_device_report(result.fits, result.skipped, out, figures)


def fit_folder(root: str | Path, out: str | Path | None = None, device_id: str | None = None,
               n_points: int = 32, repetition: int | None = None, min_pulses: int = 10,
               window: WindowMode = "prefer-cutoffs", figures: bool = True,
               cutoffs: str | Path | None = None, area_m2: float | None = None,
               thickness_m: float | None = None, recipe: str = "measured",
               on_run: Callable[[str], None] | None = None) -> FolderFit:
    """Fit every run of every device in a folder (or of one device).

    Every run ends ``fitted`` (with quality flags), ``refused`` (with the
    reason) or ``unreadable`` (none of its files could be read); nothing
    stops the others.  With ``out`` set, writes per device
    ``OUT/DEVICE/{devices/NAME.json, metrics.csv, figures/, report.md}`` (with
    ``device_id`` given: straight into ``OUT``), and ``OUT/summary.csv`` (one
    row per run: :data:`SUMMARY_COLUMNS` then the metrics) and
    ``OUT/summary.png`` (metrics vs pulse width, one line per device).

    Parameters
    ----------
    root
        Folder with the measurements (searched recursively).
    out
        Output folder; ``None`` writes nothing.
    device_id
        Fit only this device (instrument Device ID or the part after the sample name).
    n_points, repetition, min_pulses, window
        Passed to :func:`~pulsetrain.devices.fit_device`.
    figures
        Write the PNG figures.
    cutoffs
        Cutoffs CSV (default ``ROOT/cutoffs.csv`` when it exists).
    area_m2, thickness_m
        Device area (m²) and film thickness (m) written into every device file
        (the energy models need them).
    recipe
        Device-model recipe (:data:`pulsetrain.devices.RECIPES`): ``measured`` (the
        options above) or ``thesis`` (its own rules; ``repetition`` passed on).
    on_run
        Called with a label before each run is fitted (progress).

    Raises
    ------
    NoSweepsError, UnknownDeviceError, DataFormatError
        For a folder without readable sweeps, an unknown device id, or an
        unreadable cutoffs file.
    FitError
        When ``device_id`` is given and none of its runs can be fitted (one
        line listing each run and why).
    """
    for name, value in (("area_m2", area_m2), ("thickness_m", thickness_m)):
        if value is not None and not value > 0:
            raise InputError(f"{name} must be > 0, got {value}")
    if recipe not in RECIPES:
        get_recipe(recipe)  # raises, listing the recipes
    root = Path(root)
    scan = scan_folder(root, cutoffs=cutoffs)
    options: dict[str, Any] = {"n_points": n_points, "repetition": repetition,
                               "min_pulses": min_pulses, "window": window}
    if device_id is not None:
        try:
            groups = {device_id: scan.runs_of(device_id)}
        except UnknownDeviceError:
            unreadable = [k for k in scan.unreadable_runs() if k[0] == device_id.strip("_")]
            if not unreadable:
                raise
            groups = {device_id.strip("_"): []}
    else:
        ids = sorted(set(scan.device_ids()) | {d for d, _ in scan.unreadable_runs()})
        groups = {d: [r for r in scan.runs if r.device_id == d] for d in ids}
    result = FolderFit(problems=list(scan.problems))
    for dev, runs in groups.items():
        result.devices.append(_fit_runs(scan, runs[0].device_id if runs else dev, runs,
                                        options, on_run, recipe))
    if device_id is not None and not result.devices[0].fits:
        reasons = "; ".join(f"{r}: {why}" for r, why in result.devices[0].skipped)
        raise FitError(f"{root}: no usable run of device {device_id} ({reasons})")
    if out is None:
        return result
    out = Path(out)
    for dev_result in result.devices:
        target = out if device_id is not None else out / dev_result.device_id
        _write_device(dev_result, target, root, options, figures, area_m2, thickness_m, recipe)
    result.summary_csv = out / "summary.csv"
    table = result.summary_table()
    atomic_write(result.summary_csv, lambda tmp: table.to_csv(tmp, index=False))
    fitted = [f.metrics for d in result.devices for f in d.fits]
    if figures and fitted:
        result.summary_figure = save_figure(population_figure(fitted), out / "summary.png")
    return result


def fit_device_folder(root: str | Path, device_id: str, out: str | Path | None = None,
                      n_points: int = 32, repetition: int | None = None,
                      min_pulses: int = 10, figures: bool = True,
                      cutoffs: str | Path | None = None,
                      window: WindowMode = "prefer-cutoffs",
                      on_run: Callable[[str], None] | None = None) -> FitFolderResult:
    """Fit every run of one device in a folder (:func:`fit_folder` with ``device_id``).

    Runs that cannot be fitted are listed in ``skipped`` with the reason.
    With ``out`` set, writes ``OUT/devices/NAME.json`` per run,
    ``OUT/metrics.csv``, ``OUT/figures/*.png``, ``OUT/report.md`` and
    ``OUT/summary.csv``.

    Raises
    ------
    NoSweepsError, UnknownDeviceError, DataFormatError
        For an empty folder, an unknown device id or an unreadable cutoffs file.
    FitError
        If no run of the device can be fitted (one line listing each run and why).
    """
    done = fit_folder(root, out, device_id=device_id, n_points=n_points,
                      repetition=repetition, min_pulses=min_pulses, window=window,
                      figures=figures, cutoffs=cutoffs, on_run=on_run)
    return done.devices[0]
