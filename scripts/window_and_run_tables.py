"""Print the two device-model tables of docs/device-model.md (run from the repo root).

    python scripts/window_and_run_tables.py ../shared/data/hzo-lbe247

1. Every run of the folder as `pulsetrain device fit FOLDER` treats it (defaults).
2. Every ID161ZR15000 run with a cutoffs row, fitted with that row and with the
   automatic window: the windows, Gmax/Gmin and SP side by side.
"""

from __future__ import annotations

import sys
import time

from pulsetrain.devices import fit_device
from pulsetrain.errors import FitError
from pulsetrain.measurements import format_seconds, scan_folder
from pulsetrain.workflows import fit_folder


def main(data: str) -> None:
    t0 = time.perf_counter()
    result = fit_folder(data, figures=False)
    took = time.perf_counter() - t0
    print(f"Every run (`fit_folder`, defaults; {took:.1f} s without figures):\n")
    print("| device | run | pulse width | status | window | n up/down | Gmax/Gmin | SP "
          "| quality / reason |")
    print("|---|---|---|---|---|---|---|---|---|")
    for o in result.outcomes:
        pw = format_seconds(o.pulse_width_s) if o.pulse_width_s else "?"
        if o.fit is None:
            print(f"| {o.device_id} | {o.run} | {pw} | {o.status} | | | | | {o.reason} |")
            continue
        m = o.fit.metrics
        print(f"| {o.device_id} | {o.run} | {pw} | {o.status} | {m.window.split(' ')[0]} "
              f"| {m.n_up}/{m.n_down} | {m.gmax_gmin:.2f} | {m.symmetry_point:.3f} "
              f"| {m.quality} |")
    print("\nCutoffs row vs automatic window (ID161ZR15000, runs with a row):\n")
    print("| run | pulse width | cutoffs window (V) | auto window (V) | n up/down cutoffs / auto "
          "| Gmax/Gmin cutoffs / auto | SP cutoffs / auto |")
    print("|---|---|---|---|---|---|---|")
    for run in scan_folder(data).runs_of("ID161ZR15000"):
        if run.cutoff is None:
            continue
        try:
            a = fit_device(run, window="cutoffs").metrics
            b = fit_device(run, window="auto").metrics
        except FitError as exc:
            print(f"| {run.run} | {format_seconds(run.pulse_width_s)} | {exc} |")
            continue
        print(f"| {run.run} | {format_seconds(run.pulse_width_s)} "
              f"| {a.window.removeprefix('cutoffs ')} | {b.window.removeprefix('auto ')} "
              f"| {a.n_up}/{a.n_down} / {b.n_up}/{b.n_down} "
              f"| {a.gmax_gmin:.2f} / {b.gmax_gmin:.2f} "
              f"| {a.symmetry_point:.3f} / {b.symmetry_point:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hzo-lbe247")
