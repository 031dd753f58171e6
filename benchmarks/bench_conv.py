"""Per-epoch wall time of LeNet-5 (``model: lenet5``) on MNIST-shaped data: float, sgd,
mixed precision.

Usage: ``python benchmarks/bench_conv.py [--images 2000] [--threads 1]``.  The images
are random MNIST-shaped inputs (the time does not depend on the pixel values' meaning),
so the script needs no download.
"""

from __future__ import annotations

import argparse
import time

import torch

from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import Split
from pulsetrain.training.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--algorithms", default="float,sgd,mixed-precision")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    data = Split(torch.rand(args.images, 784, generator=g),
                 torch.randint(0, 10, (args.images,), generator=g))
    for algo in args.algorithms.split(","):
        trainer = Trainer.build(TrainConfig(model="lenet5", algorithm=algo, epochs=1))
        t0 = time.perf_counter()
        trainer.train_epoch(data, 0)
        wall = time.perf_counter() - t0
        pulses = sum(p["up"] + p["down"] for p in trainer.pulse_totals())
        print(f"lenet5 {algo:16s} {args.images} images  {wall:7.2f} s/epoch  "
              f"pulses {pulses}")


if __name__ == "__main__":
    main()
