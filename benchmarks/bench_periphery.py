"""Cost of the non-ideal read-out: seconds per epoch, ideal vs aihwkit-default, and AIHWKit.

    .venv/bin/python benchmarks/bench_periphery.py [--images 12000] [--device NAME]
        [--repeats N] [--after EPOCHS] [--hidden 256 128] [--breakdown]

The thesis network (784-256-128-10 sigmoid, batch 64) on ``--images`` training images of
MNIST, one epoch (after a warm-up epoch of 640 images) per algorithm and setting, best of
``--repeats`` rounds (each round times one epoch of every setting of the algorithm, so
a slow spell of a shared machine falls on all settings alike): pulsetrain with
float torch (the same network with no analog tile: a floor for any simulator),
``periphery: ideal`` and ``aihwkit-default`` with one tile per layer, and both again on
512-input tiles (the published study's configuration: the first layer on two tiles);
and — with the AIHWKit venv — AIHWKit 1.1.0 in the
published study's configuration (default IOParameters, default mapping) on the same
exported device, in its own process, same torch thread count.  Prints the table of
docs/performance.md; states torch threads.  ``--breakdown`` instead times the
read-out with its parts switched off in turn (perfect reads, no output noise, no gradient
mask; one tile per layer).  ``--after EPOCHS`` first trains every setting (and AIHWKit)
for EPOCHS epochs of the same images and times the epochs after them: the read-out's cost
grows as training drives outputs to the ADC bound (more samples re-read by bound
management), so early epochs alone understate it.  ``--hidden`` changes the hidden
layers (both tools; AIHWKit keeps the published IOParameters and mapping).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pulsetrain.crossbar.kernels import warmup
from pulsetrain.devices import builtin_device
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.registry import algorithm as algorithm_entry
from pulsetrain.training.trainer import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # validation/ (checkout)
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

ALGORITHMS = ("sgd", "sp-shift", "mixed-precision")


def epoch_seconds(cfg: TrainConfig, data, warm, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Best of ``repeats`` epochs of ``cfg`` (after a warm-up epoch)."""
    return interleaved_epoch_seconds([cfg], data, warm, repeats)[0]


def interleaved_epoch_seconds(cfgs: list[TrainConfig], data, warm,  # type: ignore[no-untyped-def]
                              repeats: int, after: int = 0) -> list[float]:
    """Best of ``repeats`` epochs of each config, timed in rounds (one epoch of each per
    round), so that a slow spell of a shared machine falls on all of them alike; after a
    warm-up epoch and ``after`` untimed epochs of ``data.train``."""
    trainers = [Trainer.build(cfg) for cfg in cfgs]
    for trainer in trainers:
        trainer.train_epoch(warm, 0)
        for e in range(after):
            trainer.train_epoch(data.train, e + 1)
    best = [float("inf")] * len(cfgs)
    for k in range(repeats):
        for i, trainer in enumerate(trainers):
            t0 = time.perf_counter()
            trainer.train_epoch(data.train, after + k + 1)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def epoch_data(images: int, device: str):  # type: ignore[no-untyped-def]
    """Compile the kernels, load ``images`` training images and the 640-image warm-up
    split, and print the conditions; returns (data, warm-up split)."""
    warmup()
    data = load_mnist(train_subset=images, test_subset=1000)
    warm = load_mnist(train_subset=640, test_subset=100).train
    print(f"{device}, {images} images per epoch, batch 64; torch threads "
          f"{torch.get_num_threads()} (torch {torch.__version__})", flush=True)
    return data, warm


PARTS: dict[str, dict[str, object]] = {
    "ideal": {},
    "perfect reads, gradient mask": {"forward": {"is_perfect": True},
                                     "backward": {"is_perfect": True}},
    "no output noise": {"forward": {"out_noise": 0.0}, "backward": {"out_noise": 0.0}},
    "no gradient mask": {"mask_backward_at_bound": False},
    "aihwkit-default": {},
}
"""The breakdown's settings: ``periphery_options`` of ``aihwkit-default`` (``ideal``: the
ideal periphery)."""


def breakdown(args: argparse.Namespace, data, warm) -> None:  # type: ignore[no-untyped-def]
    """Print seconds per epoch and × ideal with the read-out's parts off in turn."""
    print("\n| algorithm | " + " | ".join(PARTS) + " |\n|---|" + "---|" * len(PARTS))
    for alg in ALGORITHMS:
        cfgs = [TrainConfig(algorithm=alg, device=args.device, train_subset=args.images,
                            hidden=args.hidden,
                            periphery="ideal" if label == "ideal" else "aihwkit-default",
                            periphery_options=options)  # type: ignore[arg-type]
                for label, options in PARTS.items()]
        seconds = interleaved_epoch_seconds(cfgs, data, warm, args.repeats, args.after)
        print(f"| {alg} | " + " | ".join(f"{t:.2f} s ({t / seconds[0]:.2f}×)"
                                         for t in seconds) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=12_000)
    ap.add_argument("--device", default="ID161ZR15000-200us-thesis")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 128],
                    help="hidden layer sizes (default: the thesis network's 256 128)")
    ap.add_argument("--after", type=int, default=0, metavar="EPOCHS",
                    help="time the epochs after EPOCHS untimed epochs of training")
    ap.add_argument("--breakdown", action="store_true",
                    help="instead: the read-out with its parts switched off in turn (one "
                    "tile), × ideal per algorithm")
    args = ap.parse_args()
    data, warm = epoch_data(args.images, args.device)
    print(f"network 784-{'-'.join(map(str, args.hidden))}-10", flush=True)
    if args.after:
        print(f"timing the epochs after {args.after} untimed epochs of training", flush=True)
    if args.breakdown:
        breakdown(args, data, warm)
        return
    rows: dict[str, dict[str, float]] = {}
    settings: dict[str, dict[str, object]] = {
        "float": {"algorithm": "float"}, "ideal": {},
        "aihwkit-default": {"periphery": "aihwkit-default"},
        "ideal-tiles": {"max_tile_inputs": 512},
        "tiles": {"periphery": "aihwkit-default", "max_tile_inputs": 512}}
    for alg in ALGORITHMS:
        cfgs = [TrainConfig(**{"algorithm": alg, "device": args.device,  # type: ignore[arg-type]
                               "train_subset": args.images, "hidden": args.hidden,
                               **options})
                for options in settings.values()]
        rows[alg] = dict(zip(settings, interleaved_epoch_seconds(
            cfgs, data, warm, args.repeats, args.after), strict=True))
        for label, seconds in rows[alg].items():
            print(f"  pulsetrain {alg:16s} {label:16s} {seconds:7.2f} s", flush=True)
    ai: dict[str, float] = {}
    if aihwkit_available():
        device = builtin_device(args.device)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "mnist.npz"
            np.savez(path, x_train=data.train.x.numpy(), y_train=data.train.y.numpy(),
                     x_test=data.test.x.numpy(), y_test=data.test.y.numpy())
            for alg in ("sgd", "mixed-precision"):
                reply = run_aihwkit("train", device=to_piecewise_step(device), algorithm=alg,
                                    sizes=[784, *args.hidden, 10],
                                    lr=algorithm_entry(alg).default_lr,
                                    epochs=args.after + args.repeats,
                                    batch_size=64, seed=0, data=str(path), default_io=True,
                                    thesis_mapping=True, threads=torch.get_num_threads(),
                                    timeout_s=7200)
                ai[alg] = float(np.min(reply["epoch_seconds"][args.after:]))
                print(f"  AIHWKit    {alg:16s} thesis config    {ai[alg]:7.2f} s", flush=True)
    else:
        print("  AIHWKit: not measured (no venv: bash scripts/setup-aihwkit.sh)")
    print("\n| algorithm | float torch (s/epoch) | ideal | aihwkit-default | × ideal | "
          "ideal, 512-input tiles | aihwkit-default, 512-input tiles | × ideal (tiles) | "
          "× ideal (one tile) | AIHWKit, published configuration | speed-up | "
          "AIHWKit ÷ 5 |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    for alg in ALGORITHMS:
        r = rows[alg]
        line = (f"| {alg} | {r['float']:.2f} | {r['ideal']:.2f} | {r['aihwkit-default']:.2f} | "
                f"{r['aihwkit-default'] / r['ideal']:.2f} | {r['ideal-tiles']:.2f} | "
                f"{r['tiles']:.2f} | {r['tiles'] / r['ideal-tiles']:.2f} | "
                f"{r['tiles'] / r['ideal']:.2f} |")
        if alg in ai:
            line += f" {ai[alg]:.2f} | {ai[alg] / r['tiles']:.1f} | {ai[alg] / 5:.2f} |"
        else:
            line += " – | – | – |"
        print(line)
    print("\n(AIHWKit ÷ 5: the seconds per epoch a 5× speed-up over AIHWKit would need; "
          "compare with pulsetrain's ideal and float-torch epochs.)")

if __name__ == "__main__":
    main()
