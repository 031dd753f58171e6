"""Training throughput of pulsetrain's update rules next to float torch (and AIHWKit).

    .venv/bin/python benchmarks/bench_engine.py [--samples N] [--repeats R] [--no-aihwkit]

Default MLP 784-256-128-10 (sigmoid), built-in device ID161ZR15000-200ns, real MNIST
images.  Two regimes:

* thesis — the thesis learning rates (SGD 0.05, SP shift 0.1, mixed precision 0.5):
  few pulses per sample, the analog forward/backward dominates;
* heavy — learning rates ×400 (SGD/SP shift 20, mixed precision 200): BL management
  saturates near BL = 31 and thousands of pulses fire per sample.

Each row is the best of ``--repeats`` timed chunks of ``--samples`` samples (after a
warm-up batch that compiles the kernels), so background noise inflates no row.  "×
float" is the time per sample relative to float torch at the same batch size, measured
in the same process.  With the AIHWKit venv (scripts/setup-aihwkit.sh) the same table is
measured for AIHWKit 1.1.0 in its own process (its float torch row too, for its ratio),
same device (exported), same learning rates and pulse management granularity; its heavy
regime uses fewer samples (it takes ~30 ms per sample per big tile there).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pulsetrain.crossbar import available_backends
from pulsetrain.crossbar.kernels import warmup
from pulsetrain.devices import builtin_device
from pulsetrain.interop import aihwkit_available, aihwkit_granularity, run_aihwkit
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.trainer import Trainer

REGIMES = {"thesis": {"float": 0.5, "sgd": 0.05, "sp-shift": 0.1, "mixed-precision": 0.5},
           "heavy": {"float": 0.5, "sgd": 20.0, "sp-shift": 20.0, "mixed-precision": 200.0}}
ALGORITHMS = ("float", "sgd", "sp-shift", "mixed-precision")


def measure(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, n: int, repeats: int
            ) -> tuple[float, float]:
    """Best samples/s over ``repeats`` chunks of ``n`` samples, and pulses per sample."""
    trainer = Trainer.build(cfg)
    model, opt = trainer.model, trainer.optimizer
    bs = cfg.batch_size

    def pulses() -> int:
        return sum(m.tile.pulses.total for m in model.modules() if hasattr(m, "tile"))

    def run(lo: int, hi: int) -> None:
        for k in range(lo, hi, bs):
            opt.zero_grad(set_to_none=True)
            F.nll_loss(model(x[k:k + bs]), y[k:k + bs]).backward()  # type: ignore[no-untyped-call]
            opt.step()

    run(0, bs)  # warm-up
    best, p0 = 0.0, pulses()
    for r in range(repeats):
        lo = bs + (r * n) % max(1, len(y) - n - bs)
        t0 = time.perf_counter()
        run(lo, lo + n)
        best = max(best, n / (time.perf_counter() - t0))
    return best, (pulses() - p0) / (repeats * n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3200, help="samples per timed chunk")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="ID161ZR15000-200ns")
    ap.add_argument("--backend", default="auto", choices=["auto", "numba", "torch"])
    ap.add_argument("--batches", type=int, nargs="*", default=[1, 10, 64])
    ap.add_argument("--regimes", nargs="*", default=list(REGIMES), choices=list(REGIMES))
    ap.add_argument("--no-aihwkit", action="store_true", help="skip the AIHWKit columns")
    args = ap.parse_args()
    warmup()
    device = builtin_device(args.device)
    granularity = aihwkit_granularity(device)
    data = load_mnist(train_subset=min(48_000, args.samples * (args.repeats + 1) + 64))
    x, y = data.train.x, data.train.y
    use_ai = not args.no_aihwkit and aihwkit_available()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, kernel backends "
          f"{available_backends()}, using {args.backend}; device {args.device}, SGD "
          f"granularity {granularity:.4g} (AIHWKit's); best of {args.repeats} × "
          f"{args.samples} samples (batch 1: a quarter)")
    ai: dict[str, dict[str, dict[str, float]]] = {}
    if use_ai:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.npz"
            np.savez(path, x_train=x.numpy(), y_train=y.numpy())
            for regime in args.regimes:
                n_ai = args.samples if regime == "thesis" else 256
                ai[regime] = run_aihwkit(
                    "throughput", device=to_piecewise_step(device), data=str(path),
                    sizes=[784, 256, 128, 10], lr=REGIMES[regime],
                    algorithms=["float", "sgd", "mixed-precision"],
                    batch_sizes=args.batches, samples=n_ai,
                    threads=torch.get_num_threads())["samples_per_second"]
    else:
        print("AIHWKit: not measured (no venv: bash scripts/setup-aihwkit.sh)")
    head = (f"\n{'regime':7s} {'algorithm':16s} {'batch':>5s} {'samples/s':>10s} "
            f"{'× float':>8s} {'pulses/sample':>13s}")
    if use_ai:
        head += f" {'AIHWKit s/s':>11s} {'AIHWKit × float':>15s} {'speed-up':>8s}"
    print(head)
    for regime in args.regimes:
        for batch in args.batches:
            n = args.samples if batch > 1 else max(batch, args.samples // 4)
            base = None
            for alg in ALGORITHMS:
                cfg = TrainConfig(algorithm=alg, device=args.device, batch_size=batch,
                                  backend=args.backend, lr=REGIMES[regime][alg],
                                  granularity=granularity if alg in ("sgd", "sp-shift")
                                  else None,
                                  mp_epsilon=granularity if alg == "mixed-precision" else None)
                sps, pps = measure(cfg, x, y, n, args.repeats)
                base = base or sps
                line = (f"{regime:7s} {alg:16s} {batch:5d} {sps:10.0f} {base / sps:8.2f} "
                        f"{pps:13.1f}")
                if use_ai:
                    a = ai[regime].get(alg, {}).get(str(batch))
                    a_float = ai[regime]["float"][str(batch)]
                    line += (f" {a:11.1f} {a_float / a:15.2f} {sps / a:8.1f}" if a else
                             f" {'—':>11s} {'—':>15s} {'—':>8s}")
                print(line, flush=True)


if __name__ == "__main__":
    main()
