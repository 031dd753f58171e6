"""Full-length training runs of the thesis setup on the built-in ID161ZR15000 family.

    python scripts/full_training_runs.py [OUT] [--algorithms sgd,mixed-precision,...]

Every (device × algorithm) run, 25 epochs, seed 0, no device noise; per-epoch metrics go to
``OUT/results.sqlite`` (resumable: rerun the same command after an interruption) and a
summary table to ``OUT/summary.csv``.  Numbers in docs/training.md come from this script.
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from pulsetrain.devices import builtin_names
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.driver import train


def main(out: str, algorithms: list[str], epochs: int) -> None:
    data = load_mnist()
    rows = []
    devices = builtin_names()
    for algorithm in algorithms:
        for device in (devices if algorithm != "float" else devices[:1]):
            cfg = TrainConfig(device=device, algorithm=algorithm, epochs=epochs)
            t0 = time.time()
            res = train(cfg, out=out, resume=True, data=data)
            f = res.final
            first95 = next((m["epoch"] for m in res.epochs if m["val_acc"] >= 0.95), None)
            rows.append({"device": device if algorithm != "float" else "-",
                         "algorithm": algorithm, "lr": cfg.learning_rate,
                         "test_acc": f["test_acc"], "val_acc": f["val_acc"],
                         "pulses_total": f["pulses_total"], "first_epoch_val_95": first95,
                         "sp_estimation_pulses": (res.sp_report or {}).get("pulses"),
                         "digital_updates_total": f.get("digital_updates_total"),
                         "seconds": round(time.time() - t0, 1), "key": res.key})
            print(rows[-1], flush=True)
            pd.DataFrame(rows).to_csv(f"{out}/summary.csv", index=False)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    algs = ["mixed-precision", "float", "sgd", "sp-shift"]
    n_epochs = 25
    for a in sys.argv[1:]:
        if a.startswith("--algorithms="):
            algs = a.split("=", 1)[1].split(",")
        if a.startswith("--epochs="):
            n_epochs = int(a.split("=", 1)[1])
    main(args[0] if args else "results/full-training", algs, n_epochs)
