"""Training throughput of pulsetrain's update rules next to float torch (and AIHWKit).

    .venv/bin/python benchmarks/bench_engine.py [--samples N] [--repeats R] [--no-aihwkit]

Default MLP 784-256-128-10 (sigmoid), built-in device ID161ZR15000-200ns, real MNIST
images.  Two regimes:

* thesis — the thesis learning rates (SGD 0.05, SP shift 0.1, mixed precision 0.5):
  few pulses per sample, the analog forward/backward dominates;
* heavy — learning rates ×400 (SGD/SP shift 20, mixed precision 200): in training this
  stays self-limiting (sigmoids saturate, errors shrink): thousands of pulses per sample.

A third table times the **pulsed update alone** on one 256×784 tile (the first layer) of
the device, with synthetic dense inputs x ~ U(0, 1), errors δ ~ N(0, 1) and a learning
rate at which BL saturates at 31 (millions of pulses per sample): the heavy-pulse regime
of the issue.  Equal pulse statistics are shown by counting AIHWKit's pulses on a
constant-step tile with the same granularity (|ΔW|/granularity per sample; the trains do
not depend on the device response).

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
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pulsetrain.crossbar import available_backends
from pulsetrain.crossbar.kernels import warmup
from pulsetrain.devices import builtin_device
from pulsetrain.interop import aihwkit_granularity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

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


def tile_update(n: int, use_ai: bool, batches: list[int], device_name: str,
                repeats: int = 3) -> None:
    """Pulsed update alone on a 256×784 tile of the device, saturated pulse trains; best
    of ``repeats`` passes over the ``n`` samples for each tool, the two tools' passes
    alternating (one AIHWKit process per pass; its start-up is not timed)."""
    from pulsetrain.crossbar.tile import AnalogTile

    dev = builtin_device(device_name)
    gran = aihwkit_granularity(dev)
    lr = 1.0  # lr·|x||δ|/granularity ~ 10 ≫ 1 per slot: BL = 31, the δ side clips at 1
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 784, generator=g)
    d = torch.randn(n, 256, generator=g)
    print(f"\npulsed update alone, 256×784 tile of {device_name}, {n} samples (best of "
          f"{repeats} passes), x ~ U(0, 1), δ ~ N(0, 1), lr {lr:g}: BL saturated at 31")
    print(f"{'batch':>5s} {'pulsetrain s/s':>14s} {'pulses/sample':>13s} "
          f"{'AIHWKit s/s':>11s} {'AIHWKit pulses/sample':>21s} {'speed-up':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "xd.npz"
        np.savez(path, x=x.numpy(), d=d.numpy())
        for bs in batches:
            tile = AnalogTile(dev, 256, 784, torch.Generator())
            tile.pulsed_update(x[:bs], d[:bs], lr, seed=1, dw_min=gran)  # warm-up
            sps = ai_sps = 0.0
            ai_pps = 0.0
            for rep in range(repeats):
                # the tools' passes alternate, so both see the same phases of the machine
                p0 = tile.pulses.total
                t0 = time.perf_counter()
                for k in range(0, n, bs):
                    tile.pulsed_update(x[k:k + bs], d[k:k + bs], lr, seed=k + 2 + rep * n,
                                       dw_min=gran)
                sps = max(sps, n / (time.perf_counter() - t0))
                pps = (tile.pulses.total - p0) / n
                if use_ai:
                    r = run_aihwkit("update_throughput", device=to_piecewise_step(dev),
                                    lr=lr, data=str(path), batch_size=bs, count_samples=4,
                                    threads=torch.get_num_threads(), repeats=1)
                    ai_sps = max(ai_sps, r["samples_per_second"])
                    ai_pps = r["pulses_per_sample"]
            line = f"{bs:5d} {sps:14.1f} {pps:13.0f}"
            if use_ai:
                line += f" {ai_sps:11.1f} {ai_pps:21.0f} {sps / ai_sps:8.1f}"
            print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3200, help="samples per timed chunk")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="ID161ZR15000-200ns")
    ap.add_argument("--backend", default="auto", choices=["auto", "numba", "torch"])
    ap.add_argument("--batches", type=int, nargs="*", default=[1, 10, 64])
    ap.add_argument("--regimes", nargs="*", default=list(REGIMES), choices=list(REGIMES))
    ap.add_argument("--no-aihwkit", action="store_true", help="skip the AIHWKit columns")
    ap.add_argument("--tile-samples", type=int, default=64,
                    help="samples of the update-only heavy tile benchmark (0: skip)")
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
    if args.tile_samples:
        tile_update(args.tile_samples, use_ai, args.batches, args.device, args.repeats)


if __name__ == "__main__":
    main()
