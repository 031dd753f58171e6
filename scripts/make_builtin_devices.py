"""Regenerate the built-in device files from the measured data (run from the repo root).

    python scripts/make_builtin_devices.py ../shared/data/hzo-lbe247

Fits the seven runs of ID161ZR15000 the published study trained on, twice:

* recipe ``measured`` (``pulsetrain.workflows.fit_device_folder`` with the cutoffs windows
  and a floor of 40 pulses per branch) → ``ID161ZR15000-<width>[-a|-b].json``;
* recipe ``thesis`` (``pulsetrain.devices.get_recipe("thesis")``) →
  ``ID161ZR15000-<width>[-a|-b]-thesis.json``, with the SP the thesis reported for the run
  as ``metrics.symmetry_point_reported`` (from ../shared/reference/thesis-ID161ZR15000.json;
  SP shifting with ``sp_reference: reported`` uses it).  For the 200 ns run the thesis's
  published parameters come from repetition (0)'s cutoffs row (0.4…4.1 V, see
  docs/recipes.md), so that window is used there.

The raw measurement files are not copied.  ``tests/test_builtin.py`` refits from the data
and checks these files still match.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from pulsetrain.devices import get_recipe
from pulsetrain.devices.io import save_device
from pulsetrain.measurements import format_seconds
from pulsetrain.workflows import fit_device_folder

FAMILY = "ID161ZR15000"
OUT = Path("src/pulsetrain/data/devices")
REFERENCE = Path("../shared/reference/thesis-ID161ZR15000.json")
REPO = Path(__file__).resolve().parents[1]
REP0_WINDOW = {"20241024110755"}
"""Runs whose published thesis parameters come from repetition (0)'s cutoffs row."""


def main(data: str) -> None:
    result = fit_device_folder(data, FAMILY, out=None, min_pulses=40, window="cutoffs")
    by_width: dict[str, list] = {}
    for fit in result.fits:
        by_width.setdefault(format_seconds(fit.device.pulse_width_s or 0), []).append(fit)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for width, fits in by_width.items():
        for k, fit in enumerate(fits):
            suffix = f"-{'abcdefgh'[k]}" if len(fits) > 1 else ""
            name = f"{FAMILY}-{width}{suffix}"
            provenance = {
                "source": "HZO superlattice device LBE247/ID161ZR15000, Keysight WGFMU "
                          "pulsed amplitude sweeps (P. Uriarte Vicandi, ETH Zurich MSc thesis; "
                          "data behind arXiv 2509.18121)",
                "licence": "MIT (measurement data); fitted parameters derived by pulsetrain",
                "measurement_run": fit.device.run,
                "repetition": fit.clean.sweep.repetition,
                "source_file": repo_path(fit.clean.sweep.source),
                "date": date.today().isoformat(),
                "command": "python scripts/make_builtin_devices.py ../shared/data/hzo-lbe247",
                "fit": "pulsetrain.devices.fit_device(n_points=32, repetition=last usable, "
                       "min_pulses=40, window=cutoffs, smoothing=GCV)",
                "amplitudes": "amplitude_up_v/amplitude_down_v: mean pulse amplitude of the "
                              "measured potentiation/depression branch inside the cutoff "
                              "window",
                "area_m2": "ASSUMED 1e-10 m² (100 µm²): the measurement files do not state "
                           "the device area; the energy anchor in ../shared/docs/DOMAIN.md is "
                           "for devices under 100 µm². Override it in a device file.",
                "thickness_m": "5e-9 m: HZO superlattice thickness used by the thesis's "
                               "Schottky model (../shared/docs/DOMAIN.md §5)",
            }
            metrics = {**fit.device.metrics,
                       "symmetry_point_reported": reported_sp(fit.clean.sweep.source)}
            provenance["symmetry_point_reported"] = REPORTED_NOTE
            save_device(replace(fit.device, name=name, provenance=provenance, area_m2=1e-10,
                                thickness_m=5e-9, metrics=metrics),
                        OUT / f"{name}.json")
            print(f"wrote {OUT / (name + '.json')}")
            write_thesis_device(data, fit.device.run or "", f"{name}-thesis", provenance)


REPORTED_NOTE = ("metrics.symmetry_point_reported: the SP the thesis reported for this run "
                 "and used as its SP-shifting reference (../shared/reference/"
                 "thesis-ID161ZR15000.json, from results/test56 of the thesis repository)")


def repo_path(path: Path | None) -> str | None:
    """``path`` relative to the repository root (``../shared/...`` for the measured data)."""
    if path is None:
        return None
    return Path(os.path.relpath(path.resolve(), REPO)).as_posix()


def reported_sp(source: Path | None) -> float:
    """The SP the thesis reported for the run whose repetition-(1) file is ``source``."""
    stamp = source.name[-18:-4] if source else ""
    runs = {r["file_stamp"]: r for r in json.loads(REFERENCE.read_text())["runs"]}
    return float(runs[stamp]["symmetry_point_reported"])


def write_thesis_device(data: str, run_id: str, name: str, base: dict) -> None:
    """The thesis-recipe built-in of one run (see the module docstring)."""
    from pulsetrain.measurements import scan_folder

    (run,) = [r for r in scan_folder(data).runs_of(FAMILY) if r.run == run_id]
    options = {}
    if run_id in REP0_WINDOW:
        cut = run.cutoffs[0]
        options["window"] = (cut.v_start_pos, cut.v_end_pos, cut.v_start_neg, cut.v_end_neg)
    fit = get_recipe("thesis", **options).fit(run, name=name)
    metrics = {**fit.device.metrics,
               "symmetry_point_reported": reported_sp(fit.clean.sweep.source)}
    provenance = {**base, **fit.device.provenance,
                  "measurement_file": repo_path(fit.clean.sweep.source),
                  "fit": f"pulsetrain.devices.get_recipe('thesis', **{options}).fit(run)"}
    save_device(replace(fit.device, metrics=metrics, provenance=provenance, area_m2=1e-10,
                        thickness_m=5e-9), OUT / f"{name}.json")
    print(f"wrote {OUT / (name + '.json')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hzo-lbe247")
