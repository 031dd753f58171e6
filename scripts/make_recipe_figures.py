"""Figures of docs/recipes.md: one run's measured trace against each recipe's device.

    python scripts/make_recipe_figures.py ../shared/data/hzo-lbe247 [--run 20241024112926]

Left: the measured conductance of the kept pulses (the thesis's window, repetition (1))
and the noise-free response of each recipe's device to the same pulse sequence, started
at the first measured point (each point's label drives the next pulse, as in the thesis
trace fit). Right: the two recipes' step responses |ΔG| per pulse against G.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pulsetrain.devices import LutDevice, get_recipe
from pulsetrain.devices.mapping import WeightMapping
from pulsetrain.measurements import format_seconds, scan_folder

OUT = Path("docs/figures")


def simulate(device: LutDevice, mapping: WeightMapping, g0: float,
             labels: np.ndarray) -> np.ndarray:
    """Conductance after each pulse of ``labels`` (state i+1 from state i and label i)."""
    w = float(mapping.to_weight(g0))
    out = [w]
    for lab in labels[:-1]:
        w = float(device.pulse(w, 1 if lab > 0 else -1))
        out.append(w)
    return np.asarray(mapping.to_conductance(np.array(out)))


def main(data: str, run_id: str = "20241024112926") -> None:
    (run,) = [r for r in scan_folder(data).runs_of("ID161ZR15000") if r.run == run_id]
    thesis = get_recipe("thesis").fit(run)
    measured = get_recipe("measured").fit(run)
    rec = thesis.device.provenance["recipe"]
    sweep = thesis.clean.sweep
    keep = np.flatnonzero(thesis.clean.keep)
    g = sweep.conductance_s[keep]
    labels = sweep.direction[keep].astype(int)
    assert thesis.device.mapping is not None and measured.device.mapping is not None
    sim_thesis = simulate(thesis.device, thesis.device.mapping, g[0], labels)
    sim_measured = simulate(measured.device, measured.device.mapping, g[0], labels)
    rms = {name: float(np.sqrt(np.mean((s - g) ** 2)) / (g.max() - g.min()))
           for name, s in (("thesis", sim_thesis), ("measured", sim_measured))}

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6))
    n = np.arange(g.size)
    ax.plot(n, 1e9 * g, "o", ms=3, color="0.3", label="measured (kept pulses)")
    ax.plot(n, 1e9 * sim_thesis, "-", color="C2",
            label=f"thesis recipe (up_down {rec['up_down']:.2f}; rms {100 * rms['thesis']:.0f} %"
            " of range)")
    ax.plot(n, 1e9 * sim_measured, "-", color="C0",
            label=f"measured recipe (rms {100 * rms['measured']:.0f} % of range)")
    ax.set_xlabel("pulse (positive ramp, then negative ramp)")
    ax.set_ylabel("conductance (nS)")
    ax.set_title(f"{format_seconds(run.pulse_width_s)} run {run.run}: the same pulses on each "
                 "device", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    for fit, color, name in ((measured, "C0", "measured"), (thesis, "C2", "thesis")):
        dev, mp = fit.device, fit.device.mapping
        assert mp is not None
        w = np.linspace(dev.w_min, dev.w_max, 300)
        gg = 1e9 * mp.to_conductance(w)
        bx.plot(gg, 1e9 * dev.step_up(w) * mp.siemens_per_weight, "-", color=color,
                label=f"{name}: up (negative pulse)")
        bx.plot(gg, 1e9 * dev.step_down(w) * mp.siemens_per_weight, "--", color=color,
                label=f"{name}: down (positive pulse)")
        sp = float(mp.to_conductance(dev.metrics["symmetry_point"]))
        bx.axvline(1e9 * sp, color=color, lw=0.8, ls=":",
                   label=f"{name}: SP (w = {dev.metrics['symmetry_point']:.2f})")
    bx.set_xlabel("conductance G (nS)")
    bx.set_ylabel("|ΔG| per pulse (nS)")
    bx.set_title("step responses of the two recipes", fontsize=10)
    bx.legend(fontsize=7)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"recipes-{format_seconds(run.pulse_width_s)}.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}; rms trace error / range: thesis {rms['thesis']:.3f}, "
          f"measured {rms['measured']:.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    run = args[args.index("--run") + 1] if "--run" in args else "20241024112926"
    main(args[0] if args and not args[0].startswith("--") else "../shared/data/hzo-lbe247",
         run)
