"""Many runs per process: a stack of runs trains each run as if it were alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from pulsetrain.errors import InputError
from pulsetrain.store import ResultStore
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import MNIST, load_mnist
from pulsetrain.training.driver import train, train_stacked
from pulsetrain.training.stacked import RunStack
from pulsetrain.training.trainer import Trainer

SMALL = {"hidden": [32], "train_subset": 512, "test_subset": 500, "val_size": 500,
         "batch_size": 32, "epochs": 2}


@pytest.fixture(scope="module")
def mnist() -> MNIST:
    try:
        return load_mnist(val_size=500, train_subset=512, test_subset=500)
    except InputError as exc:
        pytest.skip(str(exc))


def _mixed_runs() -> list[TrainConfig]:
    """Different devices, algorithms (SP shifting sets references), learning rates and
    seeds (so the runs see their batches in different orders)."""
    return [TrainConfig(algorithm="sgd", device="ID161ZR15000-20us", lr=0.1, seed=0, **SMALL),
            TrainConfig(algorithm="mixed-precision", device="ID161ZR15000-200ns", seed=1,
                        **SMALL),
            TrainConfig(algorithm="sp-shift", device="ID161ZR15000-2us", sp_mode="nominal",
                        seed=0, **SMALL)]


def _strip_wall(epochs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k not in ("wall_s", "stacked_runs")}
            for m in epochs]


def test_exact_stack_equals_runs_trained_alone(mnist: MNIST) -> None:
    """Every metric of every epoch (losses, accuracies, pulses per layer) of each run in
    an exact stack equals that run trained on its own, and so do its final weights."""
    cfgs = _mixed_runs()
    alone = [train(c, data=mnist) for c in cfgs]
    stacked = train_stacked(cfgs, data=mnist, mvm="exact")
    for a, s in zip(alone, stacked, strict=True):
        assert s.key == a.key
        assert _strip_wall(s.epochs) == _strip_wall(a.epochs)
        assert s.final["stacked_runs"] == 3 and s.final["pulses_total"] > 0


def test_batched_stack_matches_alone_to_rounding(mnist: MNIST) -> None:
    """The batched MVM (one bmm per layer for all runs) gives each run's outputs and
    back-propagated errors to float32 rounding of a 784-term sum (≤ 1e-4 absolute on
    O(1–10) values), and one step fires the same pulses as the exact stack unless a
    rounding difference flips a slot draw (pulse totals within 1 %)."""
    cfgs = _mixed_runs()
    x = mnist.train.x[:32]
    y = mnist.train.y[:32]
    totals = {}
    for mvm in ("exact", "batched"):
        stack = RunStack([Trainer.build(c) for c in cfgs], mvm)
        xs = x.expand(3, *x.shape).clone().requires_grad_(True)
        out = stack.forward(xs)
        loss = torch.stack([torch.nn.functional.nll_loss(out[r], y) for r in range(3)]).sum()
        loss.backward()
        assert xs.grad is not None
        for t in stack.trainers:
            t.optimizer.step()
        totals[mvm] = (out.detach(), xs.grad.clone(),
                       [sum(p["up"] + p["down"] for p in t.pulse_totals())
                        for t in stack.trainers])
    torch.testing.assert_close(totals["batched"][0], totals["exact"][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(totals["batched"][1], totals["exact"][1], atol=1e-6,
                               rtol=1e-4)
    for b, e in zip(totals["batched"][2], totals["exact"][2], strict=True):
        assert e > 0 and abs(b - e) <= 0.01 * e


def test_stacked_runs_store_checkpoint_and_resume(mnist: MNIST, tmp_path: Path) -> None:
    """A stack writes each run to the store like a solo run; killed after the first run
    recorded epoch 1 (the second had not), resumed, it ends with the numbers of an
    uninterrupted stack, bit for bit, also with the batched MVM: the second run catches
    up in the full stack, the first rides along and is restored."""
    cfgs = _mixed_runs()[:2]
    full = train_stacked(cfgs, out=tmp_path / "full", data=mnist)

    def stop(metrics: dict[str, Any]) -> None:
        if metrics["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_stacked(cfgs, out=tmp_path / "cut", data=mnist, on_epoch=stop)
    store = ResultStore(tmp_path / "cut" / "results.sqlite")
    assert [store.run_status(c.key()) for c in cfgs] == ["running", "running"]
    resumed = train_stacked(cfgs, out=tmp_path / "cut", resume=True, data=mnist)
    for f, r in zip(full, resumed, strict=True):
        assert _strip_wall(r.epochs) == _strip_wall(f.epochs)
    store = ResultStore(tmp_path / "full" / "results.sqlite")
    for c in cfgs:
        assert store.run_status(c.key()) == "done"


def test_stack_rejects_what_cannot_share_a_step() -> None:
    base = TrainConfig(algorithm="sgd", **SMALL)
    with pytest.raises(ValueError, match="float baseline"):
        RunStack([Trainer.build(base), Trainer.build(base.model_copy(
            update={"algorithm": "float"}))])
    with pytest.raises(ValueError, match="network shape"):
        RunStack([Trainer.build(base), Trainer.build(base.model_copy(
            update={"hidden": [16]}))])
    with pytest.raises(ValueError, match="mvm"):
        RunStack([Trainer.build(base)], mvm="fast")
    with pytest.raises(ValueError, match="once"):
        train_stacked([base, base])
