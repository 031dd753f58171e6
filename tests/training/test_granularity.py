"""``granularity: aihwkit``: SGD's pulse management at AIHWKit's granularity."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetrain.devices import builtin_device
from pulsetrain.interop import aihwkit_granularity
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.layers import build_mlp
from pulsetrain.training.registry import algorithm


@pytest.mark.parametrize("name", ["ID161ZR15000-20ns-b-thesis", "ID161ZR15000-200ns"])
def test_aihwkit_granularity_is_the_exported_devices(name: str) -> None:
    dev = builtin_device(name)
    for alg in ("sgd", "sp-shift"):
        cfg = TrainConfig(device=name, algorithm=alg, granularity="aihwkit", hidden=[8])
        model = build_mlp([784, 8, 10], dev, seed=0)
        opt, _ = algorithm(alg).build(model, cfg, 0.1)
        assert opt.granularity == pytest.approx(aihwkit_granularity(dev))  # type: ignore[attr-defined]
    # the thesis devices' centre up step is 4.4× their dw_min (20 ns b): not a no-op
    if name.endswith("thesis"):
        assert aihwkit_granularity(dev) > 4 * dev.dw_min


def test_aihwkit_granularity_ignores_up_down_like_aihwkit() -> None:
    """AIHWKit's PiecewiseStep granularity is ``dw_min·piecewise_up[n // 2]`` — without the
    ``1 + min(up_down, 0)`` factor its up steps carry.  Checked on the published study's
    own printed parameters of every thesis device (up_down from +0.08 to −0.42): where
    ``up_down < 0`` this is 1.26–1.73× the table's middle up step, so a granularity read
    off the table would draw that many times too many pulses."""
    import json

    from tests.devices.test_recipes import REFERENCE

    if not REFERENCE.exists():
        pytest.skip("../shared/reference is not beside the checkout")
    runs = json.loads(REFERENCE.read_text())["runs"]
    names = {2e-08: ["20ns-a", "20ns-b"], 2e-07: ["200ns"], 2e-06: ["2us"], 2e-05: ["20us"],
             2e-04: ["200us"], 2e-03: ["2ms"]}
    seen = 0
    for pw, labels in names.items():
        published = [r["aihwkit_piecewise_step"] for r in runs if r["pulse_width_s"] == pw]
        for label, p in zip(labels, published, strict=True):
            dev = builtin_device(f"ID161ZR15000-{label}-thesis")
            expected = p["dw_min"] * p["piecewise_up"][len(p["piecewise_up"]) // 2]
            assert aihwkit_granularity(dev) == pytest.approx(expected, rel=2e-3), label
            if p["up_down"] < -0.1:  # the table's middle up step is (1 + up_down) of it
                assert dev.lut_up[dev.n_points // 2] < 0.8 * expected, label
            seen += 1
    assert seen == 7


def test_runs_at_aihwkit_granularity_are_keyed_by_its_rule() -> None:
    """Stores hold runs of the earlier, wrong ``granularity: aihwkit``: a run of the
    corrected rule gets a new key (so ``study run`` trains it instead of reusing the
    stale row), while every other run keeps its key."""
    import hashlib
    import json

    from pulsetrain.training.config import GRANULARITY_RULE, KEY_FIELDS_V1, keyed_fields

    cfg = TrainConfig(algorithm="sgd", device="ID161ZR15000-20us-thesis", granularity="aihwkit")
    fields = keyed_fields(cfg)
    assert set(fields) == set(KEY_FIELDS_V1)  # no later option set: the old key was v1 only
    old = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    assert GRANULARITY_RULE == 2 and cfg.key() != old
    plain = TrainConfig(algorithm="sgd", device="ID161ZR15000-20us-thesis", granularity=0.05)
    assert "granularity_rule" not in json.dumps(keyed_fields(plain))


def test_aihwkit_granularity_of_a_device_aihwkit_cannot_hold_is_a_clear_error() -> None:
    from pulsetrain.devices import LutDevice
    from pulsetrain.errors import InputError
    from pulsetrain.training.registry import granularity_for

    dev = LutDevice("positive-only", np.full(4, 0.01), np.full(4, 0.01), w_min=0.1, w_max=1.0)
    model = build_mlp([784, 4, 10], dev, seed=0)
    cfg = TrainConfig(algorithm="sgd", granularity="aihwkit", hidden=[4])
    with pytest.raises(InputError, match="granularity: aihwkit needs a device AIHWKit can "
                                         "represent: positive-only: AIHWKit needs w_min <= 0"):
        granularity_for(model, cfg)


def test_mixed_precision_transfers_at_aihwkits_granularity() -> None:
    """``mp_epsilon: aihwkit``: the transfer threshold AIHWKit's MixedPrecisionCompound
    takes from the exported device (2.1× the device's dw_min on the 200 ns thesis
    device), in every tile."""
    name = "ID161ZR15000-200ns-thesis"
    dev = builtin_device(name)
    cfg = TrainConfig(device=name, algorithm="mixed-precision", mp_epsilon="aihwkit",
                      hidden=[8], max_tile_inputs=392)
    model = build_mlp([784, 8, 10], dev, seed=0, max_tile_inputs=392)
    opt, _ = algorithm("mixed-precision").build(model, cfg, 0.5)
    eps = aihwkit_granularity(dev)
    assert opt.eps_up == opt.eps_down == [pytest.approx(eps)] * 3  # type: ignore[attr-defined]
    assert eps > 2 * dev.dw_min
    plain = TrainConfig(device=name, algorithm="mixed-precision", hidden=[8])
    assert cfg.key() != plain.model_copy(update={"mp_epsilon": eps}).key()


def test_mixed_precision_pulse_train_transfers_are_an_option(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``mp_transfer: pulse-trains`` reaches every tile's transfer with the run's BL,
    keys the run apart (the default keeps old keys), repeats itself under a seed, and
    fires other pulses than the exact transfer from the same start; unknown modes are
    errors that list the known ones."""
    import torch

    from pulsetrain.training.algorithms import MixedPrecisionSGD
    from pulsetrain.training.data import load_mnist
    from pulsetrain.training.driver import train

    name = "ID161ZR15000-20ns-b-thesis"
    base = TrainConfig(device=name, algorithm="mixed-precision", hidden=[16], epochs=1,
                       train_subset=1500, val_size=500, test_subset=500, bl=15)
    trains = base.model_copy(update={"mp_transfer": "pulse-trains"})
    assert base.key() == TrainConfig(**{**base.model_dump(), "mp_transfer": "exact"}).key()
    assert trains.key() != base.key()
    model = build_mlp([784, 16, 10], builtin_device(name), seed=0)
    opt, _ = algorithm("mixed-precision").build(model, trains, 0.5)
    assert (opt.transfer, opt.bl) == ("pulse-trains", 15)  # type: ignore[attr-defined]
    data = load_mnist(train_subset=1500, val_size=500, test_subset=500)
    runs = [train(cfg, tmp_path / str(k), data=data).epochs[-1]
            for k, cfg in enumerate((trains, trains, base))]
    assert runs[0]["layers"] == runs[1]["layers"] and runs[0]["pulses"] > 0
    assert runs[0]["layers"] != runs[2]["layers"]
    with pytest.raises(ValueError, match="exact, pulse-trains"):
        MixedPrecisionSGD(model, transfer="stochastic")
    with pytest.raises(ValueError):
        TrainConfig(device=name, mp_transfer="stochastic")
    assert torch.is_tensor(opt.chi[0])  # type: ignore[attr-defined]
