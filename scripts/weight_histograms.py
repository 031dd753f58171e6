"""Weight histograms of finished runs (device states with the SP marked), from checkpoints.

    python scripts/weight_histograms.py RESULTS_DIR [OUT.png]

RESULTS_DIR is where ``train``/``full_training_runs.py`` wrote ``results.sqlite`` and
``checkpoints/``.  One row per device, one column per algorithm (sgd, sp-shift): the
histogram of the device states ``w_device`` of the last layer after training, the
device's symmetry point (dashed) and, for sp-shift, the effective weights.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from pulsetrain.devices import resolve_device


def main(results: str, out: str) -> None:
    root = Path(results)
    con = sqlite3.connect(root / "results.sqlite")
    runs = [(k, json.loads(c)) for k, c in con.execute("SELECT key, config FROM runs")]
    runs = [(k, c) for k, c in runs if c["algorithm"] in ("sgd", "sp-shift")
            and (root / "checkpoints" / f"{k}.pt").is_file()]
    devices = sorted({c["device"] for _, c in runs},
                     key=lambda n: resolve_device(n).pulse_width_s or 0)
    algs = ["sgd", "sp-shift"]
    fig, axes = plt.subplots(len(devices), 2, figsize=(10, 2.2 * len(devices)), squeeze=False)
    for key, cfg in runs:
        r, c = devices.index(cfg["device"]), algs.index(cfg["algorithm"])
        state = torch.load(root / "checkpoints" / f"{key}.pt", weights_only=False)
        tile = state["tiles"][-1]
        w = tile["w"].flatten().numpy()
        ax = axes[r][c]
        ax.hist(w, bins=80, range=(-1, 1), color="C0", alpha=0.7, label="device state")
        if cfg["algorithm"] == "sp-shift":
            eff = (tile["w"] - tile["ref"]).flatten().numpy()
            ax.hist(eff, bins=80, range=(-1, 1), color="C2", alpha=0.5, label="effective")
        sp = resolve_device(cfg["device"]).metrics["symmetry_point"]
        ax.axvline(sp, color="k", ls="--", label=f"SP {sp:.2f}")
        acc = state["history"][-1]["test_acc"]
        ax.set_title(f"{cfg['device']} {cfg['algorithm']}: test {acc:.1%}", fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("weight (device units), last layer")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "docs/figures/weight-histograms.png")
