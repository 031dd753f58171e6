"""Study wall time: a side-by-side subset with AIHWKit, and (optionally) `reproduce --full`.

    .venv/bin/python benchmarks/bench_study.py [--epochs 2] [--device NAME] [--full]

Subset: the thesis network (784-256-128-10 sigmoid, batch 64, full 48k-image epochs,
10k test images) on one pulse width, ``--epochs`` epochs of float, plain SGD, SP shift and
mixed precision, each run by pulsetrain and — with the AIHWKit venv — by AIHWKit 1.1.0 in
its own process (same exported device, learning rates and granularity; AIHWKit has no SP
shifting for LUT devices).  Prints seconds per epoch (training only) and the final test
accuracy of both.  ``--full`` then times ``reproduce --full`` (7 pulse widths × 3
algorithms × 25 epochs, plus the float baseline) in a temporary folder on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pulsetrain.crossbar.kernels import warmup
from pulsetrain.devices import builtin_device
from pulsetrain.interop import aihwkit_granularity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.study.config import reproduce_config
from pulsetrain.study.runner import run_study
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.registry import algorithm as algorithm_entry
from pulsetrain.training.trainer import Trainer

ALGORITHMS = ("float", "sgd", "sp-shift", "mixed-precision")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="ID161ZR15000-200ns")
    ap.add_argument("--full", action="store_true", help="also time reproduce --full")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="study workers for --full (default: all cores)")
    args = ap.parse_args()
    warmup()
    device = builtin_device(args.device)
    gran = aihwkit_granularity(device)
    data = load_mnist()
    print(f"subset: {args.device}, {args.epochs} epochs × {len(data.train)} images, batch 64, "
          f"test {len(data.test)}; torch threads {torch.get_num_threads()}")
    rows: dict[str, dict[str, float]] = {}
    for alg in ALGORITHMS:
        cfg = TrainConfig(algorithm=alg, device=args.device, epochs=args.epochs,
                          granularity=gran if alg in ("sgd", "sp-shift") else None,
                          mp_epsilon=gran if alg == "mixed-precision" else None)
        t0 = time.perf_counter()
        trainer = Trainer.build(cfg)
        setup = time.perf_counter() - t0
        times = []
        for epoch in range(args.epochs):
            t0 = time.perf_counter()
            trainer.train_epoch(data.train, epoch)
            times.append(time.perf_counter() - t0)
            trainer.scheduler.step()
        rows[alg] = {"s_per_epoch": float(np.mean(times)), "setup_s": setup,
                     "acc": 100 * trainer.evaluate(data.test)}
        print(f"  pulsetrain {alg:16s} {rows[alg]['s_per_epoch']:7.1f} s/epoch "
              f"(setup {setup:.1f} s)  test {rows[alg]['acc']:.1f} %", flush=True)
    ai: dict[str, dict[str, float]] = {}
    if aihwkit_available():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "mnist.npz"
            np.savez(path, x_train=data.train.x.numpy(), y_train=data.train.y.numpy(),
                     x_test=data.test.x.numpy(), y_test=data.test.y.numpy())
            for alg in ("sgd", "mixed-precision"):
                reply = run_aihwkit("train", device=to_piecewise_step(device), algorithm=alg,
                                    sizes=[784, 256, 128, 10], lr=algorithm_entry(alg).default_lr,
                                    epochs=args.epochs, batch_size=64, seed=0, data=str(path),
                                    timeout_s=7200)
                ai[alg] = {"s_per_epoch": float(np.mean(reply["epoch_seconds"])),
                           "acc": 100 * reply["test_accuracy"][-1]}
                print(f"  AIHWKit    {alg:16s} {ai[alg]['s_per_epoch']:7.1f} s/epoch  "
                      f"test {ai[alg]['acc']:.1f} %", flush=True)
    else:
        print("  AIHWKit: not measured (no venv: bash scripts/setup-aihwkit.sh)")
    base = rows["float"]["s_per_epoch"]
    print(f"\n{'algorithm':16s} {'pulsetrain s/epoch':>18s} {'× float':>8s} "
          f"{'AIHWKit s/epoch':>15s} {'speed-up':>8s}")
    for alg in ALGORITHMS:
        r = rows[alg]
        line = f"{alg:16s} {r['s_per_epoch']:18.1f} {r['s_per_epoch'] / base:8.2f}"
        if alg in ai:
            a = ai[alg]["s_per_epoch"]
            line += f" {a:15.1f} {a / r['s_per_epoch']:8.1f}"
        print(line)
    if args.full:
        cfg = reproduce_config(quick=False).model_copy(update={"workers": args.workers})
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            records = run_study(cfg, tmp)
            wall = time.perf_counter() - t0
        print(f"\nreproduce --full: {len(records)} runs in {wall / 60:.1f} min "
              f"({args.workers} workers)")


if __name__ == "__main__":
    main()
