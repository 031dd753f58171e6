"""Run every pulsetrain-vs-AIHWKit cross-check and write docs/validation.md's tables.

    bash scripts/setup-aihwkit.sh               # once: the AIHWKit venv (several GB)
    .venv/bin/python scripts/crosscheck_aihwkit.py [--doc docs/validation.md]

Checks (see validation.crosscheck): noise-free device response of every
built-in device, pulse statistics of stochastic-pulse SGD, training (plain SGD and
mixed precision, 3 seeds, two pulse widths), symmetry point of a soft-bounds
reference device.  Exit status 1 if any comparison is outside its tolerance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from pulsetrain.devices import LutDevice, builtin_device, builtin_family

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import run_aihwkit
from validation.crosscheck import (
    Comparison,
    check_backward,
    check_drift,
    check_pulse_stats,
    check_replay,
    check_response,
    check_symmetry_point,
    check_training,
)

from pulsetrain.training.data import load_mnist

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def table(rows: list[Comparison]) -> str:
    out = ["| check | quantity | pulsetrain | AIHWKit | difference | tolerance | pass |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        tol = "reported" if r.tolerance == float("inf") else f"{r.tolerance:g}"
        quantity = r.quantity.replace("|", "\\|")  # |x| inside a Markdown table cell
        out.append(f"| {r.check} | {quantity} | {r.pulsetrain:.6g} | {r.aihwkit:.6g} | "
                   f"{r.difference:.3g} | {tol} | {'yes' if r.passed else '**NO**'} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", type=Path, default=Path("docs/validation.md"),
                    help="document whose results block (between the markers "
                    f"{BEGIN!r} and {END!r}) is replaced")
    ap.add_argument("--train-size", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--sgd-seeds", type=int, default=10,
                    help="seeds of the extra plain-SGD training comparison on the measured "
                    "devices (0: skip)")
    ap.add_argument("--devices", nargs="*", default=["ID161ZR15000-20us",
                                                     "ID161ZR15000-200us"],
                    help="devices of the training check")
    args = ap.parse_args()
    t0 = time.perf_counter()
    version = run_aihwkit("version")
    sections: list[tuple[str, list[Comparison]]] = []
    rows: list[Comparison] = []
    for dev in builtin_family():
        rows += check_response(dev)
    sections.append(("1. Device response (exported PiecewiseStepDevice)", rows))
    print(table(rows), flush=True)
    rows = check_pulse_stats() + check_pulse_stats(lr=1.0, n_samples=10_000)
    for name in ("ID161ZR15000-20us", "ID161ZR15000-200us"):
        rows += check_drift(builtin_device(name))
    sections.append(("2. Pulse statistics of stochastic-pulse SGD (constant step; drift on "
                     "measured devices)", rows))
    print(table(rows), flush=True)
    rows = check_backward(builtin_device("ID161ZR15000-200us"))
    sections.append(("2b. Back-propagated error with outputs beyond AIHWKit's default output "
                     "bound (ideal MVMs on both sides)", rows))
    print(table(rows), flush=True)
    data = load_mnist(train_subset=args.train_size, test_subset=2000)
    arrays = {"x_train": data.train.x.numpy(), "y_train": data.train.y.numpy(),
              "x_test": data.test.x.numpy(), "y_test": data.test.y.numpy()}
    rows = []
    # a symmetric constant-step device first: no symmetry-point collapse, so the runs are
    # far less chaotic and the comparison is of the update semantics alone
    const = LutDevice("constant-step 0.01", np.full(32, 0.01), np.full(32, 0.01))
    for dev in [const] + [builtin_device(name) for name in args.devices]:
        rows += check_training(dev, arrays,
                               {"sgd": 0.05, "mixed-precision": 0.5},
                               sizes=[784, 128, 10], epochs=args.epochs)
        print(table(rows[-2:]), flush=True)
    sections.append((f"3. Training (784-128-10 sigmoid, {args.train_size} MNIST train / 2000 "
                     f"test images, batch 64, {args.epochs} epochs, thesis learning rates)",
                     rows))
    first_runs = {r.check: r for r in rows if r.quantity.startswith("sgd:")}
    if args.sgd_seeds:
        rows = []
        for name in args.devices:
            rows += check_training(builtin_device(name), arrays, {"sgd": 0.05},
                                   sizes=[784, 128, 10], epochs=args.epochs,
                                   seeds=tuple(range(args.sgd_seeds)))
            again, first = rows[-1], first_runs.get(rows[-1].check)
            if first is not None and len(first.aihwkit_runs) <= len(again.aihwkit_runs):
                # AIHWKit's C++ RNG is not seeded by torch: the same seeds, run again
                k = len(first.aihwkit_runs)
                a, b = float(np.mean(first.aihwkit_runs)), float(np.mean(again.aihwkit_runs[:k]))
                rows.append(Comparison(
                    again.check, f"noise floor: AIHWKit against itself, seeds 0–{k - 1} run "
                    "twice (pulsetrain column: its first run, in table 3)", a, b, a - b, 1.5))
            rows += check_replay(builtin_device(name), arrays, sizes=[784, 128, 10])
            print(table(rows[-6:]), flush=True)
        sections.append((f"3b. Plain SGD on the measured devices: {args.sgd_seeds} seeds, and "
                         "an open-loop replay of recorded training batches", rows))
    rows = check_symmetry_point()
    sections.append(("4. Symmetry point (SoftBoundsReferenceDevice)", rows))
    print(table(rows), flush=True)
    minutes = (time.perf_counter() - t0) / 60
    text = [f"<!-- generated by scripts/crosscheck_aihwkit.py in {minutes:.1f} min; "
            f"AIHWKit {version['aihwkit']} (torch {version['torch']}) -->", ""]
    for title, rs in sections:
        text += [f"### {title}", "", table(rs), ""]
    doc = args.doc.read_text() if args.doc.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    args.doc.write_text(head + BEGIN + "\n" + "\n".join(text) + "\n" + END + tail)
    failed = [r for _, rs in sections for r in rs if not r.passed]
    print(f"wrote {args.doc}; {len(failed)} comparison(s) outside tolerance; "
          f"{minutes:.1f} min", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
