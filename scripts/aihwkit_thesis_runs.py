"""Plain and SP-shifted SGD in the thesis setup, AIHWKit and pulsetrain side by side.

    .venv/bin/python scripts/aihwkit_thesis_runs.py OUT.json [--devices ...] [--seeds 0 1]
        [--algorithms sgd sp-shift]

Issue #3 asks for >= 80 % plain-SGD test accuracy at 200 us; the thesis (which used
AIHWKit on its own LUT fit of the same measurement) saw 89 %, and AIHWKit re-runs of the
thesis setup reproduce that (DOMAIN.md section 9).  This script runs the *same* setup
(784-256-128-10 sigmoid, 48k training images, batch 64, lr 0.05, StepLR(10, 0.5),
25 epochs, no device noise) with AIHWKit 1.1.0 on *our* fitted device (exported as a
PiecewiseStepDevice) — both with ideal MVMs and with AIHWKit's default output bound (12),
as the thesis would have run it — next to pulsetrain on the same device and seed, with its
own pulse-management granularity (the device's dw_min) and with AIHWKit's (the up step
at the centre of the table; the tools' semantics are then the same).  If
AIHWKit also stays far below 80 % on our device, the gap is the device model, not the
engine.  Needs the AIHWKit venv (``bash scripts/setup-aihwkit.sh``); each AIHWKit run
takes about 4-5 minutes on 2 cores.  Results are written to OUT.json after every run
and runs already there are skipped (resumable).

``sp-shift`` (lr 0.1): AIHWKit with a ReferenceUnitCell whose reference device holds the
device's analytic SP (pulsetrain estimates it by pulses; the two agree within 0.005 on
these devices), ideal MVMs only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from pulsetrain.devices import builtin_device
from pulsetrain.devices.symmetry import symmetry_point_analytic
from pulsetrain.interop import aihwkit_granularity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.driver import train
from pulsetrain.training.registry import algorithm as algorithm_entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--devices", nargs="+", default=["ID161ZR15000-200us"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--algorithms", nargs="+", default=["sgd"], choices=["sgd", "sp-shift"])
    ap.add_argument("--no-out-bound", action="store_true",
                    help="skip the plain-SGD AIHWKit runs with its default output bound")
    args = ap.parse_args()
    if not aihwkit_available():
        raise SystemExit("AIHWKit venv missing: bash scripts/setup-aihwkit.sh")
    results: dict[str, dict[str, list[float]]] = (
        json.loads(args.out.read_text()) if args.out.exists() else {})
    data = load_mnist()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist.npz"
        np.savez(path, x_train=data.train.x.numpy(), y_train=data.train.y.numpy(),
                 x_test=data.test.x.numpy(), y_test=data.test.y.numpy())
        for name in args.devices:
            device = builtin_device(name)
            sp = symmetry_point_analytic(device)
            for algorithm, seed in itertools.product(args.algorithms, args.seeds):
                lr = algorithm_entry(algorithm).default_lr
                runs: dict[str, bool | None] = {"pulsetrain": None,
                                                 "pulsetrain-aihwkit-granularity": None,
                                                 "aihwkit-ideal": True}
                if algorithm == "sgd" and not args.no_out_bound:
                    runs["aihwkit-out-bound-12"] = False
                for tool, ideal in runs.items():
                    key = f"{name}/{algorithm}/seed{seed}/{tool}"
                    if key in results:
                        continue
                    if ideal is None:
                        # AIHWKit's pulse management assumes the up step at the centre
                        # (dw_min·piecewise_up[n//2]), pulsetrain the device's dw_min
                        gran = aihwkit_granularity(device) if "granularity" in tool else None
                        cfg = TrainConfig(algorithm=algorithm, device=name, epochs=args.epochs,
                                          seed=seed, granularity=gran)
                        with tempfile.TemporaryDirectory() as run_dir:
                            rec = train(cfg, run_dir, data=data)
                        accs = [100 * m["test_acc"] for m in rec.epochs]
                    else:
                        reply = run_aihwkit("train", device=to_piecewise_step(device),
                                            algorithm=algorithm, sp=sp,
                                            sizes=[784, 256, 128, 10], lr=lr,
                                            lr_step=[10, 0.5], epochs=args.epochs,
                                            batch_size=64, seed=seed, data=str(path),
                                            ideal_mvm=ideal, timeout_s=4 * 3600)
                        accs = [100 * a for a in reply["test_accuracy"]]
                    results[key] = {"test_accuracy": accs}
                    args.out.write_text(json.dumps(results, indent=1))
                    print(f"{key:55s} final {accs[-1]:5.1f} %  best {max(accs):5.1f} %",
                          flush=True)
    print(f"\n{'device / seed / tool':55s} {'final %':>8s} {'best %':>8s}")
    for key, r in results.items():
        print(f"{key:55s} {r['test_accuracy'][-1]:8.1f} {max(r['test_accuracy']):8.1f}")


if __name__ == "__main__":
    main()
