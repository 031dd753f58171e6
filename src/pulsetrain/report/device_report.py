"""The device-fit report (Markdown): metrics beside the published values, skipped runs, figures."""

from __future__ import annotations

from pathlib import Path

from pulsetrain.devices.fit import DeviceFit
from pulsetrain.devices.reference import PUBLISHED_GMAX_GMIN, PUBLISHED_SYMMETRY_POINT
from pulsetrain.fileio import atomic_write
from pulsetrain.measurements.sweep import format_seconds

PUBLISHED_DEVICE = "ID161ZR15000"
"""The device whose metrics were published (the only one whose columns say so)."""


def _published(pw: float, table: dict[float, tuple[float, ...]] | dict[float, float]) -> str:
    for key, value in table.items():
        if abs(key - pw) / key < 1e-6:
            if isinstance(value, tuple):
                return " / ".join(f"{v:.2f}" for v in value)
            return f"{value:.1f}"
    return "–"


def write_device_report(fits: list[DeviceFit], skipped: list[tuple[str, str]], out: Path,
                        figures: bool = True) -> Path:
    """``OUT/report.md``: one table row per fitted run (published values where the run is
    of the published device), the runs not fitted with the reason, and the figures."""
    label = " (published)" if any(f.device.device_id == PUBLISHED_DEVICE for f in fits) else ""
    lines = [
        "# Device fit report",
        "",
        f"| run | pulse width | window | Gmax/Gmin{label} | n up/down | dw_min "
        f"| up/down at 0 | SP | SP by pulses (pulses) | SP thesis recipe{label} | c2c "
        "| quality |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fit in fits:
        m = fit.metrics
        pw = m.pulse_width_s
        published = fit.device.device_id == PUBLISHED_DEVICE
        gpub = f" ({_published(pw, PUBLISHED_GMAX_GMIN)})" if published else ""
        spub = f" ({_published(pw, PUBLISHED_SYMMETRY_POINT)})" if published else ""
        lines.append(
            f"| {m.run} | {format_seconds(pw)} | {m.window} | {m.gmax_gmin:.2f}{gpub} "
            f"| {m.n_up}/{m.n_down} | {m.dw_min:.4f} | {m.asymmetry:.2f} "
            f"| {m.symmetry_point:.3f} | {m.symmetry_point_sim:.3f} ({m.sp_pulses}) "
            f"| {m.symmetry_point_recipe:.3f}{spub} | {m.c2c_noise:.3f} "
            f"| {m.quality.replace('|', '/')} |")
    if skipped:
        lines += ["", "Runs not fitted:", ""]
        lines += [f"- {run}: {why}" for run, why in skipped]
    if figures and fits:
        lines += ["", "![summary](figures/summary.png)", ""]
        for fit in fits:
            name = fit.device.name
            lines += [f"## {name}", "", f"![raw](figures/{name}-raw.png)",
                      f"![response](figures/{name}-response.png)", ""]
    path = out / "report.md"
    text = "\n".join(lines) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
