"""End-to-end jobs that read and write files (the CLI calls these; so can notebooks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pulsetrain.devices.fit import DeviceFit, fit_device
from pulsetrain.devices.io import save_device
from pulsetrain.devices.metrics import METRIC_COLUMNS
from pulsetrain.devices.reference import PUBLISHED_GMAX_GMIN, PUBLISHED_SYMMETRY_POINT
from pulsetrain.errors import FitError
from pulsetrain.fileio import atomic_write
from pulsetrain.measurements.scan import scan_folder
from pulsetrain.measurements.sweep import format_seconds
from pulsetrain.report.device_figures import (
    raw_figure,
    response_figure,
    save_figure,
    summary_figure,
)


@dataclass
class FitFolderResult:
    """What :func:`fit_device_folder` produced."""

    fits: list[DeviceFit] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    device_files: list[Path] = field(default_factory=list)
    metrics_csv: Path | None = None
    figures: list[Path] = field(default_factory=list)
    report: Path | None = None

    def metrics_table(self) -> pd.DataFrame:
        """Metrics of every fitted run, one row each."""
        return pd.DataFrame([f.metrics.as_dict() for f in self.fits], columns=METRIC_COLUMNS)


def fit_device_folder(root: str | Path, device_id: str, out: str | Path | None = None,
                      n_points: int = 32, repetition: int | None = None,
                      min_pulses: int = 40, figures: bool = True,
                      cutoffs: str | Path | None = None,
                      on_run: Callable[[str], None] | None = None) -> FitFolderResult:
    """Fit every usable run of one device in a folder.

    A run is usable when it has a cutoff window and at least ``min_pulses``
    pulses per direction inside it; the others are listed in ``skipped`` with
    the reason.  With ``out`` set, writes ``OUT/devices/NAME.json`` per run,
    ``OUT/metrics.csv``, ``OUT/figures/*.png`` and ``OUT/report.md``.

    Raises
    ------
    NoSweepsError, UnknownDeviceError, DataFormatError
        For an empty folder, an unknown device id or an unreadable file.
    """
    scan = scan_folder(root, cutoffs=cutoffs)
    runs = scan.runs_of(device_id)
    result = FitFolderResult()
    for run in runs:
        if on_run is not None:
            on_run(f"{format_seconds(run.pulse_width_s)} run {run.run}")
        if run.cutoff is None:
            result.skipped.append((run.run, "no cutoff window"))
            continue
        try:
            result.fits.append(fit_device(run, n_points=n_points, repetition=repetition,
                                          min_pulses=min_pulses))
        except FitError as exc:
            result.skipped.append((run.run, str(exc)))
    if not result.fits:
        reasons = "; ".join(f"{r}: {why}" for r, why in result.skipped)
        raise FitError(f"{root}: no usable run of device {device_id} ({reasons})")
    if out is None:
        return result
    out = Path(out)
    (out / "devices").mkdir(parents=True, exist_ok=True)
    for fit in result.fits:
        result.device_files.append(save_device(fit.device, out / "devices" /
                                               f"{fit.device.name}.json"))
    result.metrics_csv = out / "metrics.csv"
    table = result.metrics_table()
    atomic_write(result.metrics_csv, lambda tmp: table.to_csv(tmp, index=False))
    if figures:
        fig_dir = out / "figures"
        for fit in result.fits:
            result.figures.append(save_figure(raw_figure(fit), fig_dir /
                                              f"{fit.device.name}-raw.png"))
            result.figures.append(save_figure(response_figure(fit), fig_dir /
                                              f"{fit.device.name}-response.png"))
        result.figures.append(save_figure(summary_figure([f.metrics for f in result.fits]),
                                          fig_dir / "summary.png"))
    result.report = write_device_report(result, out)
    return result


def _published(pw: float, table: dict[float, tuple[float, ...]] | dict[float, float]) -> str:
    for key, value in table.items():
        if abs(key - pw) / key < 1e-6:
            if isinstance(value, tuple):
                return " / ".join(f"{v:.2f}" for v in value)
            return f"{value:.1f}"
    return "–"


def write_device_report(result: FitFolderResult, out: Path) -> Path:
    """``report.md``: table of metrics (with published values) and the figures."""
    lines = [
        "# Device fit report",
        "",
        "| run | pulse width | Gmax/Gmin (published) | n up/down | dw_min | up/down at 0 "
        "| SP analytic | SP by pulses (pulses) | SP thesis recipe (published) | c2c |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fit in result.fits:
        m = fit.metrics
        pw = m.pulse_width_s
        lines.append(
            f"| {m.run} | {format_seconds(pw)} | {m.gmax_gmin:.2f} "
            f"({_published(pw, PUBLISHED_GMAX_GMIN)}) | {m.n_up}/{m.n_down} | {m.dw_min:.4f} "
            f"| {m.asymmetry:.2f} | {m.symmetry_point:.3f} | {m.symmetry_point_sim:.3f} "
            f"({m.sp_pulses}) | {m.symmetry_point_recipe:.3f} "
            f"({_published(pw, PUBLISHED_SYMMETRY_POINT)}) | {m.c2c_noise:.3f} |")
    if result.skipped:
        lines += ["", "Skipped runs:", ""]
        lines += [f"- {run}: {why}" for run, why in result.skipped]
    lines += ["", "![summary](figures/summary.png)", ""]
    for fit in result.fits:
        name = fit.device.name
        lines += [f"## {name}", "", f"![raw](figures/{name}-raw.png)",
                  f"![response](figures/{name}-response.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
