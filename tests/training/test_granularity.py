"""``granularity: aihwkit``: SGD's pulse management at AIHWKit's granularity."""

from __future__ import annotations

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
