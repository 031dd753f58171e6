"""The Tiki-Taka rules against AIHWKit 1.1.0's presets on a small MLP.

    .venv/bin/python scripts/crosscheck_transfer.py OUT.json [--seeds 0 1 2] [--epochs 5]

784-128-10 sigmoid, the first 12 000 MNIST training images, batch 64, lr 0.1 constant,
perfect forward/backward MVMs on both sides (the transfer read keeps AIHWKit's default
IO: noise 0.06, 24/510 steps — pulsetrain's ``read_noise``/``read_step`` defaults), for
``ttv2``, ``c-ttv2`` and ``agad`` on two devices: constant step (dw 0.01, bounds ±1) and
soft bounds (up ``0.01·(1 − w)``, down ``0.01·(1 + w)``), both noise-free and exported
to AIHWKit as PiecewiseStepDevices.  Per (device, algorithm): final test accuracy per
seed on each side, mean ± std, and the transfer events per layer (pulsetrain: column
reads; AIHWKit: ``current_update_idx``).  AIHWKit runs in its own venv, two at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pulsetrain.devices import LutDevice, save_device
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.driver import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

GRID = np.linspace(-1, 1, 33)
DEVICES = {
    "constant-step": LutDevice("constant-step", [0.01, 0.01], [0.01, 0.01]),
    "soft-bounds": LutDevice("soft-bounds", list(0.01 * (1 - GRID)), list(0.01 * (1 + GRID))),
}
ALGORITHMS = ("ttv2", "c-ttv2", "agad")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--images", type=int, default=12_000)
    ap.add_argument("--devices", nargs="+", default=list(DEVICES))
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    args = ap.parse_args()
    if not aihwkit_available():
        raise SystemExit("AIHWKit venv missing: bash scripts/setup-aihwkit.sh")
    data = load_mnist(train_subset=args.images, val_size=12_000)
    results: dict[str, dict[str, object]] = json.loads(args.out.read_text()) \
        if args.out.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "mnist.npz"
        np.savez(npz, x_train=data.train.x.numpy(), y_train=data.train.y.numpy(),
                 x_test=data.test.x.numpy(), y_test=data.test.y.numpy())
        jobs = [(d, a, s) for d in args.devices for a in args.algorithms for s in args.seeds]

        def aihwkit(job: tuple[str, str, int]) -> tuple[str, dict[str, object]]:
            dev, alg, seed = job
            reply = run_aihwkit("train", device=to_piecewise_step(DEVICES[dev]),
                                algorithm=alg, sizes=[784, 128, 10], lr=0.1,
                                epochs=args.epochs, batch_size=64, seed=seed, data=str(npz),
                                threads=1, timeout_s=3 * 3600)
            return f"{dev}/{alg}/{seed}/aihwkit", {
                "final": reply["test_accuracy"][-1], "transfers": reply["transfers"]}

        todo = [j for j in jobs if f"{j[0]}/{j[1]}/{j[2]}/aihwkit" not in results]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = pool.map(aihwkit, todo)
            for dev, alg, seed in jobs:  # pulsetrain meanwhile, in this process
                key = f"{dev}/{alg}/{seed}/pulsetrain"
                if key in results:
                    continue
                path = save_device(DEVICES[dev], Path(tmp) / f"{dev}.json")
                res = train(TrainConfig(device=str(path), algorithm=alg, hidden=[128],
                                        lr=0.1, epochs=args.epochs, seed=seed,
                                        train_subset=args.images, lr_step_epochs=1000),
                            data=data)
                results[key] = {"final": res.final["test_acc"],
                                "transfers": [layer["column_reads"]
                                              for layer in res.final["transfer"]]}
                print(key, results[key], flush=True)
                args.out.write_text(json.dumps(results, indent=1))
            for key, value in futures:
                results[key] = value
                print(key, value, flush=True)
                args.out.write_text(json.dumps(results, indent=1))
    print("| device | algorithm | pulsetrain % (mean ± std) | AIHWKit % (mean ± std) | "
          "transfers per layer (pulsetrain / AIHWKit) |")
    print("|---|---|---|---|---|")
    for dev in args.devices:
        for alg in args.algorithms:
            cells = []
            for tool in ("pulsetrain", "aihwkit"):
                accs = [100 * float(results[f"{dev}/{alg}/{s}/{tool}"]["final"])  # type: ignore[index,arg-type]
                        for s in args.seeds]
                cells.append(f"{' / '.join(f'{a:.1f}' for a in accs)} "
                             f"({np.mean(accs):.1f} ± {np.std(accs, ddof=1):.1f})")
            t = [results[f"{dev}/{alg}/{args.seeds[0]}/{tool}"]["transfers"]
                 for tool in ("pulsetrain", "aihwkit")]
            print(f"| {dev} | {alg} | {cells[0]} | {cells[1]} | {t[0]} / {t[1]} |")


if __name__ == "__main__":
    main()
