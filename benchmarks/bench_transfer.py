"""Cost of the Tiki-Taka family per epoch, next to plain SGD, mixed precision and float.

    .venv/bin/python benchmarks/bench_transfer.py [--images 12000] [--device NAME]

The thesis network (784-256-128-10 sigmoid, batch 64) on ``--images`` MNIST training
images, one epoch per algorithm after a warm-up epoch of 640 images, best of
``--repeats``; prints seconds per epoch and the ratio to the float baseline (torch
``nn.Linear`` + ``torch.optim.SGD``, same data and batches) and states torch's threads.
The goal of the Tiki-Taka issue: ``ttv2``, ``c-ttv2`` and ``agad`` at most 2.5× float.
``mixed-precision:pulse-trains`` is mixed precision firing its transfers as AIHWKit's
pulse trains (``mp_transfer``).
"""

from __future__ import annotations

import argparse

from bench_periphery import epoch_data, epoch_seconds  # same timing (benchmarks/ on path)

from pulsetrain.training.config import TrainConfig

ALGORITHMS = ("float", "sgd", "mixed-precision", "mixed-precision:pulse-trains", "ttv2",
              "c-ttv2", "agad")
"""``mixed-precision:pulse-trains``: mixed precision with ``mp_transfer: pulse-trains``."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=12_000)
    ap.add_argument("--device", default="ID161ZR15000-200us")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    args = ap.parse_args()
    data, warm = epoch_data(args.images, args.device)
    seconds: dict[str, float] = {}
    for alg in args.algorithms:
        name, _, transfer = alg.partition(":")
        cfg = TrainConfig(device=args.device, algorithm=name, epochs=1,
                          **({"mp_transfer": transfer} if transfer else {}))
        seconds[alg] = epoch_seconds(cfg, data, warm, args.repeats)
        base = seconds.get("float")
        ratio = f"{seconds[alg] / base:5.2f}× float" if base else ""
        print(f"{alg:28s} {seconds[alg]:7.2f} s/epoch  {ratio}", flush=True)


if __name__ == "__main__":
    main()
