"""AIHWKit with its default read-out on the thesis-recipe devices, thesis setup.

    .venv/bin/python scripts/aihwkit_default_io_runs.py OUT.json \
        [--runs ID161ZR15000-200us-thesis:sgd \
                ID161ZR15000-200ns-thesis:mixed-precision \
                ID161ZR15000-20ns-b-thesis:sp-shift:reported]

The published study's configuration: 784-256-128-10 sigmoid, 48k training images, batch
64, thesis learning rates, StepLR(10, 0.5), 25 epochs, AIHWKit's default IOParameters
forward and backward, each device exported from pulsetrain as a PiecewiseStepDevice (the
thesis recipe exports the thesis's own parameters).  A run is ``DEVICE:ALGORITHM``;
SP shifting takes its reference as ``DEVICE:sp-shift:reported`` (the SP the thesis
reported for that run, the default) or ``DEVICE:sp-shift:0.36``.
``--seeds 0 1 2`` repeats every run per seed; ``--thesis-mapping`` maps the layers as the
published study's AIHWKit did (tiles of at most 512 inputs: the first layer on two).
The runs go two at a time, one AIHWKit process each (1 torch thread each); results are
written to OUT.json (final and per-epoch test accuracy) for docs/training.md, next to
pulsetrain's ``periphery: aihwkit-default``.  The AIHWKit venv is ``.venv-aihwkit``
(1.1.0) unless ``PULSETRAIN_AIHWKIT_PYTHON`` names another, e.g. the published study's
own version, 0.9.2 (``AIHWKIT_VERSION=0.9.2 PYTHON=python3.10
scripts/setup-aihwkit.sh``); OUT.json records the version under ``"aihwkit"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pulsetrain.devices import builtin_device
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.training.data import load_mnist
from pulsetrain.training.registry import algorithm as algorithm_entry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--runs", nargs="+", default=["ID161ZR15000-200us-thesis:sgd",
                                                  "ID161ZR15000-200ns-thesis:mixed-precision"])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--thesis-mapping", action="store_true",
                    help="AIHWKit's default mapping as the published study ran it (the "
                    "784-input layer on two tiles of 392) and its device fields left at "
                    "their defaults (up_down_dtod 0.01, construction_seed 2024); default: "
                    "one tile per layer, noise-free device")
    args = ap.parse_args()
    if not aihwkit_available():
        raise SystemExit("AIHWKit venv missing: bash scripts/setup-aihwkit.sh")
    data = load_mnist()
    version = run_aihwkit("version")
    print(f"AIHWKit {version['aihwkit']} (torch {version['torch']})", flush=True)
    results: dict[str, object] = {"aihwkit": version}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist.npz"
        np.savez(path, x_train=data.train.x.numpy(), y_train=data.train.y.numpy(),
                 x_test=data.test.x.numpy(), y_test=data.test.y.numpy())

        def one(job: tuple[str, int]) -> tuple[str, dict[str, object]]:
            spec, seed = job
            name, alg, *ref = spec.split(":")
            device = builtin_device(name)
            extra: dict[str, object] = {}
            if alg == "sp-shift":  # at the reference the thesis reported (or a number)
                extra["sp"] = (float(device.metrics["symmetry_point_reported"])
                               if ref in ([], ["reported"]) else float(ref[0]))
            reply = run_aihwkit("train", device=to_piecewise_step(device), **extra,
                                algorithm=alg, sizes=[784, 256, 128, 10],
                                lr=algorithm_entry(alg).default_lr, lr_step=[10, 0.5],
                                epochs=args.epochs, batch_size=64, seed=seed, data=str(path),
                                default_io=True, thesis_mapping=args.thesis_mapping,
                                threads=1, timeout_s=4 * 3600)
            accs = [100 * a for a in reply["test_accuracy"]]
            return f"{spec}@{seed}", {"test_accuracy": accs,
                          "seconds_per_epoch": float(np.mean(reply["epoch_seconds"]))}

        jobs = [(spec, seed) for seed in args.seeds for spec in args.runs]
        with ThreadPoolExecutor(max_workers=min(len(jobs), 2)) as pool:
            for spec, res in pool.map(one, jobs):
                results[spec] = res
                print(f"{spec:48s} final {res['test_accuracy'][-1]:5.1f} %  "  # type: ignore[index]
                      f"({res['seconds_per_epoch']:.1f} s/epoch)", flush=True)
                args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
