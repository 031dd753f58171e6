"""Training throughput (samples/s) of pulsetrain's update rules next to float torch.

    .venv/bin/python benchmarks/bench_engine.py [--samples N] [--device NAME] [--backend B]

Default MLP 784-256-128-10 (sigmoid), built-in device ID161ZR15000-200ns, real MNIST
images, thesis learning rates (SGD 0.05, mixed precision 0.5).  Every row runs in the same
process on the same machine; the "× float" column is the ratio to float torch at the same
batch size.  A warm-up batch (numba compilation) is excluded from the timing.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from pulsetrain.crossbar import available_backends
from pulsetrain.crossbar.kernels import warmup
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.trainer import Trainer


def samples_per_second(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    trainer = Trainer.build(cfg)
    model, opt = trainer.model, trainer.optimizer
    bs = cfg.batch_size

    def run(lo: int, hi: int) -> None:
        for k in range(lo, hi, bs):
            opt.zero_grad(set_to_none=True)
            F.nll_loss(model(x[k:k + bs]), y[k:k + bs]).backward()  # type: ignore[no-untyped-call]
            opt.step()

    run(0, bs)  # warm-up (compiles numba kernels on first use)
    t0 = time.perf_counter()
    run(bs, len(y))
    dt = time.perf_counter() - t0
    pulses = sum(m.tile.pulses.total for m in model.modules() if hasattr(m, "tile"))
    return (len(y) - bs) / dt, pulses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3200, help="samples per measurement")
    ap.add_argument("--device", default="ID161ZR15000-200ns")
    ap.add_argument("--backend", default="auto", choices=["auto", "numba", "torch"])
    args = ap.parse_args()
    warmup()
    data = load_mnist(train_subset=args.samples)
    x, y = data.train.x, data.train.y
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, kernel backends "
          f"{available_backends()}, using {args.backend}; {len(y)} samples per row\n")
    print(f"{'algorithm':18s} {'batch':>5s} {'samples/s':>10s} {'× float':>8s} "
          f"{'pulses':>9s}")
    for batch in (1, 10, 64):
        n = min(len(y), args.samples if batch > 1 else args.samples // 4)
        base = None
        for alg in ("float", "sgd", "mixed-precision"):
            cfg = TrainConfig(algorithm=alg, device=args.device, batch_size=batch,
                              backend=args.backend)
            sps, pulses = samples_per_second(cfg, x[:n], y[:n])
            base = base or sps
            print(f"{alg:18s} {batch:5d} {sps:10.0f} {base / sps:8.2f} {pulses:9d}",
                  flush=True)


if __name__ == "__main__":
    main()
