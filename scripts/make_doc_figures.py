"""Figures for docs/device-model.md (run from the repo root with the data beside it).

    python scripts/make_doc_figures.py ../shared/data/hzo-lbe247
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from pulsetrain.devices.reference import PUBLISHED_SYMMETRY_POINT
from pulsetrain.workflows import fit_device_folder

OUT = Path("docs/figures")


def main(data: str) -> None:
    result = fit_device_folder(data, "ID161ZR15000", min_pulses=40, window="cutoffs")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    for pw, values in PUBLISHED_SYMMETRY_POINT.items():
        ax.semilogx([pw] * len(values), values, "s", color="C3", ms=8, mfc="none",
                    label="published (thesis)" if pw == 2e-8 else None)
        ax.fill_between([pw * 0.8, pw * 1.25], min(values) - 0.15, max(values) + 0.15,
                        color="C3", alpha=0.08)
    for k, fit in enumerate(result.fits):
        m = fit.metrics
        ax.semilogx(m.pulse_width_s, m.symmetry_point, "o", color="k",
                    label="pulsetrain analytic (converged)" if k == 0 else None)
        ax.semilogx(m.pulse_width_s, m.symmetry_point_recipe, "^", color="C1", mfc="none",
                    label="thesis recipe on pulsetrain LUT" if k == 0 else None)
    ax.set_xlabel("pulse width (s)")
    ax.set_ylabel("symmetry point (normalised w)")
    ax.set_title("SP: published vs this pipeline (band = ±0.15)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    for ax, run in zip(axes[1:], ("20241024104555", "20241024112926"), strict=True):
        fit = next(f for f in result.fits if f.metrics.run == run)
        c, d = fit.clean, fit.device
        ax.plot(c.up.state, c.up.step, "o", ms=3, color="C0", alpha=0.6, label="measured up")
        ax.plot(c.down.state, c.down.step, "o", ms=3, color="C3", alpha=0.6,
                label="measured down")
        ax.plot(d.grid, d.lut_up, "-", color="C0", label="LUT up")
        ax.plot(d.grid, d.lut_down, "-", color="C3", label="LUT down")
        ax.axvline(fit.metrics.symmetry_point, color="k", ls="--",
                   label=f"SP {fit.metrics.symmetry_point:.2f}")
        ax.axvline(fit.metrics.symmetry_point_recipe, color="C1", ls=":",
                   label=f"50-pulse recipe {fit.metrics.symmetry_point_recipe:.2f}")
        ax.set_title(d.name)
        ax.set_xlabel("w")
        ax.set_ylabel("|Δw| per pulse")
        ax.legend(fontsize=7)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "sp-vs-published.png", dpi=100)
    print(f"wrote {OUT / 'sp-vs-published.png'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hzo-lbe247")
