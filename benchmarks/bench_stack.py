"""Many runs per process: a stack of runs against the same runs one by one, side by side.

    .venv/bin/python benchmarks/bench_stack.py [--samples 6400] [--torch-device cpu]

The thesis network (784-256-128-10 sigmoid, batch 64) on several runs — plain SGD, SP
shifting and mixed precision on two pulse widths by default — each trained on the same
``--samples`` MNIST images, three ways in one process: one run after another (what a
study worker does), a stack with one batched matmul per layer for all runs
(``mvm="batched"``), and a stack running each run's own layers (``mvm="exact"``).  Prints
samples per second summed over the runs, and how many of the runs' pulses agree.  With
``--pool N`` it also splits the runs over N worker processes of one thread each (what
``study run`` does on a CPU), each worker running its share one by one or as a stack
(training time of the slowest worker; process start-up not counted).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch

from pulsetrain.crossbar.kernels import warmup
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import Split, load_mnist
from pulsetrain.training.stacked import RunStack
from pulsetrain.training.trainer import Trainer


def configs(devices: list[str], torch_device: str) -> list[TrainConfig]:
    return [TrainConfig(algorithm=alg, device=dev, sp_mode="nominal", torch_device=torch_device)
            for dev in devices for alg in ("sgd", "sp-shift", "mixed-precision")]


def pulses(trainers: list[Trainer]) -> list[int]:
    return [sum(p["up"] + p["down"] for p in t.pulse_totals()) for t in trainers]


def one_by_one(cfgs: list[TrainConfig], split: Split) -> tuple[float, list[int]]:
    trainers = [Trainer.build(c) for c in cfgs]
    t0 = time.perf_counter()
    for t in trainers:
        t.train_epoch(split, 1)
    return time.perf_counter() - t0, pulses(trainers)


def stacked(cfgs: list[TrainConfig], split: Split, mvm: str) -> tuple[float, list[int]]:
    trainers = [Trainer.build(c) for c in cfgs]
    stack = RunStack(trainers, mvm)
    t0 = time.perf_counter()
    stack.train_epoch(split, 1)
    return time.perf_counter() - t0, pulses(trainers)


def _pool_job(args: tuple[list[dict[str, Any]], int, str]) -> tuple[float, list[int]]:
    """Worker: its share of the runs, one by one or as a stack (1 thread); training time."""
    cfg_json, n, way = args
    torch.set_num_threads(1)
    import numba

    numba.set_num_threads(1)
    warmup()
    cfgs = [TrainConfig.model_validate(c) for c in cfg_json]
    split = load_mnist(train_subset=n).train
    return one_by_one(cfgs, split) if way == "one by one" else stacked(cfgs, split, way)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=6400, help="training images per run")
    ap.add_argument("--devices", nargs="*",
                    default=["ID161ZR15000-200ns", "ID161ZR15000-20us"])
    ap.add_argument("--torch-device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many passes")
    ap.add_argument("--pool", type=int, default=0, help="also time N worker processes")
    args = ap.parse_args()
    warmup()
    data = load_mnist(train_subset=args.samples)
    split = data.train
    cfgs = configs(args.devices, args.torch_device)
    n_runs = len(cfgs)
    print(f"{n_runs} runs ({', '.join(args.devices)} × sgd, sp-shift, mixed-precision), "
          f"{len(split)} images each, batch 64, torch {torch.__version__} on "
          f"{args.torch_device}, {torch.get_num_threads()} threads; best of {args.repeats}")
    ways = {"one by one": lambda: one_by_one(cfgs, split),
            "stack, batched MVM": lambda: stacked(cfgs, split, "batched"),
            "stack, exact MVM": lambda: stacked(cfgs, split, "exact")}
    base = None
    ref: list[int] = []
    print(f"{'way':22s} {'samples/s (all runs)':>20s} {'× one by one':>12s} "
          f"{'runs with the same pulses':>25s}")
    for name, fn in ways.items():
        best = float("inf")
        for _ in range(args.repeats):
            secs, counts = fn()
            best = min(best, secs)
        rate = n_runs * len(split) / best
        base = base or rate
        ref = ref or counts
        same = sum(a == b for a, b in zip(counts, ref, strict=True))
        print(f"{name:22s} {rate:20.0f} {rate / base:12.2f} {same:>21d}/{n_runs}", flush=True)
    if args.pool:  # the runs split over worker processes (training time, no start-up)
        ctx = multiprocessing.get_context("spawn")
        shares = [[c.model_dump(mode="json") for c in cfgs[k::args.pool]]
                  for k in range(args.pool)]
        for way in ("one by one", "batched", "exact"):
            with ProcessPoolExecutor(args.pool, mp_context=ctx) as pool:
                res = list(pool.map(_pool_job, [(sh, args.samples, way) for sh in shares]))
            secs = max(r[0] for r in res)  # the workers run concurrently
            counts = [0] * n_runs
            for k, r in enumerate(res):
                for j, c in enumerate(r[1]):
                    counts[k + j * args.pool] = c
            rate = n_runs * len(split) / secs
            same = sum(a == b for a, b in zip(counts, ref, strict=True))
            label = f"{args.pool} processes, " + (way if way == "one by one" else
                                                  f"stack {way}")
            print(f"{label:22s} {rate:20.0f} {rate / base:12.2f} {same:>21d}/{n_runs}",
                  flush=True)

if __name__ == "__main__":
    main()
