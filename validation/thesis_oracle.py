"""pulsetrain's ``thesis`` recipe against the thesis's own computation, on every run.

The oracle is the AIHWKit venv's worker task ``thesis_recipe``: the preprocessing of
DOMAIN.md §11 written there from the text alone, then AIHWKit's own
``fit_measurements`` (lmfit's Powell on an AIHWKit tile), as the thesis ran it.  Each
run of a data folder that pulsetrain's recipe fits is given to both on the same
repetition and window::

    .venv/bin/python -m validation.thesis_oracle ../shared/data/hzo-lbe247

prints one row per run (and ``--markdown`` the table of docs/recipes.md).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pulsetrain.devices.recipes import get_recipe
from pulsetrain.errors import PulsetrainError
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.measurements import format_seconds, scan_folder
from validation.aihwkit_bridge import run_aihwkit

SCALARS = ("up_down", "w_min", "w_max")


@dataclass(frozen=True)
class OracleRow:
    """One run: pulsetrain's thesis recipe vs the oracle (differences are absolute)."""

    device_id: str
    run: str
    pulse_width_s: float
    repetition: int | None
    status: str
    """``compared`` or why pulsetrain's recipe refused the run."""
    d_dw_min: float = float("nan")
    d_scalars: float = float("nan")
    """Largest difference of ``up_down``, ``w_min``, ``w_max``."""
    d_nodes: float = float("nan")
    """Largest difference of the 64 piecewise nodes."""
    d_trace: float = float("nan")
    """Largest difference of the simulated weight traces at the fitted parameters."""
    n_points: int = 0


def compare_run(run: object) -> OracleRow:
    """pulsetrain's default thesis recipe and the oracle on one :class:`MeasuredRun`."""
    from pulsetrain.devices.recipes import ThesisRecipe, simulate_trace
    from pulsetrain.measurements.scan import MeasuredRun

    assert isinstance(run, MeasuredRun)
    recipe = ThesisRecipe()
    base = dict(device_id=run.device_id, run=run.run, pulse_width_s=run.pulse_width_s)
    try:
        fit = get_recipe("thesis").fit(run)
    except PulsetrainError as exc:
        return OracleRow(**base, repetition=None, status=f"refused: {exc}")
    sweep = recipe._sweep(run)
    window = recipe._window(run, sweep)
    ours = to_piecewise_step(fit.device)
    o = run_aihwkit("thesis_recipe", amplitude_v=sweep.amplitude_v.tolist(),
                    conductance_s=sweep.conductance_s.tolist(), window=list(window))
    nodes = np.abs(np.r_[np.asarray(ours["piecewise_up"]) - o["piecewise_up"],
                         np.asarray(ours["piecewise_down"]) - o["piecewise_down"]])
    w = np.asarray(o["w"])
    labels = np.r_[-np.ones(o["n_down"]), np.ones(o["n_up"])]
    trace = simulate_trace(w[0], labels, ours["dw_min"], ours["up_down"], ours["w_min"],
                           ours["w_max"], ours["piecewise_up"], ours["piecewise_down"])
    return OracleRow(
        **base, repetition=sweep.repetition, status="compared",
        d_dw_min=abs(ours["dw_min"] - o["dw_min"]),
        d_scalars=max(abs(ours[k] - o[k]) for k in SCALARS), d_nodes=float(nodes.max()),
        d_trace=float(np.abs(trace - np.asarray(o["trace"])).max()), n_points=int(w.size))


def compare_folder(folder: str | Path) -> list[OracleRow]:
    """:func:`compare_run` on every run of every device in ``folder``."""
    return [compare_run(run) for run in scan_folder(folder).runs]


def markdown(rows: list[OracleRow]) -> str:
    """The table of docs/recipes.md."""
    out = ["| device | run | width | rep. | points | Δ dw_min | Δ scalars | Δ nodes | "
           "Δ trace |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.status != "compared":
            out.append(f"| {r.device_id} | {r.run} | {format_seconds(r.pulse_width_s)} | | | "
                       f"{r.status.split(': ', 2)[-1][:90]} | | | |")
            continue
        out.append(f"| {r.device_id} | {r.run} | {format_seconds(r.pulse_width_s)} | "
                   f"{r.repetition} | {r.n_points} | {r.d_dw_min:.1e} | {r.d_scalars:.1e} | "
                   f"{r.d_nodes:.1e} | {r.d_trace:.1e} |")
    return "\n".join(out)


def main() -> None:  # pragma: no cover - a command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = compare_folder(args.folder)
    if args.markdown:
        print(markdown(rows))
        return
    for r in rows:
        print(r)


if __name__ == "__main__":  # pragma: no cover
    main()
