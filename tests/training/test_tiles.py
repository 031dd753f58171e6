"""Layers mapped onto several tiles (``max_tile_inputs``/``max_tile_outputs``), as
AIHWKit's ``TileModuleArray`` maps them (the published study's default of 512)."""

from __future__ import annotations

import pytest
import torch

from pulsetrain.crossbar.periphery import AihwkitDefault, IOParams
from pulsetrain.devices import builtin_device
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import load_mnist
from pulsetrain.training.layers import (
    AnalogLinear,
    TiledAnalogLinear,
    analog_layers,
    build_mlp,
    split_sizes,
)
from pulsetrain.training.stacked import check_stack, stack_signature
from pulsetrain.training.trainer import Trainer

DEVICE = "ID161ZR15000-200us-thesis"


def test_split_sizes_are_aihwkits() -> None:
    assert split_sizes(784, 512) == [392, 392]
    assert split_sizes(1100, 512) == [367, 367, 366]
    assert split_sizes(1000, 512) == [500, 500]
    assert split_sizes(512, 512) == [512]
    assert split_sizes(784, 0) == [784]


def test_thesis_network_maps_its_first_layer_onto_two_tiles() -> None:
    model = build_mlp([784, 256, 128, 10], builtin_device(DEVICE), max_tile_inputs=512)
    assert isinstance(model[0], TiledAnalogLinear)
    assert [tuple(layer.tile.weight.shape) for layer in analog_layers(model)] == [
        (256, 392), (256, 392), (128, 256), (10, 128)]
    # whole-layer initialisation: ±1/sqrt(784), not ±1/sqrt(392) per tile
    w = model[0].weight()
    assert w.abs().max() <= 1 / 784 ** 0.5 and w.abs().max() > 0.9 / 784 ** 0.5


def _pair(max_in: int, max_out: int) -> tuple[TiledAnalogLinear, AnalogLinear]:
    dev = builtin_device(DEVICE)
    tiled = TiledAnalogLinear(10, 7, dev, torch.Generator().manual_seed(0), max_in, max_out)
    plain = AnalogLinear(10, 7, dev, seed=1)
    plain.tile.set_weight(tiled.weight())
    with torch.no_grad():
        assert plain.bias is not None
        plain.bias.copy_(tiled.bias)
    return tiled, plain


@pytest.mark.parametrize(("max_in", "max_out"), [(4, 0), (0, 3), (4, 3)])
def test_ideal_tiles_compute_the_layers_product(max_in: int, max_out: int) -> None:
    """Ideal read-out: the tiles' summed outputs and the back-propagated error equal the
    one-tile layer's (float32 summation order: 1e-6)."""
    tiled, plain = _pair(max_in, max_out)
    assert len(analog_layers(tiled)) == len(split_sizes(10, max_in)) * len(split_sizes(7, max_out))
    x = torch.rand(5, 10, generator=torch.Generator().manual_seed(2), requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    g = torch.randn(5, 7, generator=torch.Generator().manual_seed(3))
    y1, y2 = tiled(x), plain(x2)
    torch.testing.assert_close(y1, y2, atol=1e-6, rtol=1e-6)
    (y1 * g).sum().backward()
    (y2 * g).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-6, rtol=1e-6)
    # each tile keeps its own inputs and errors for its update
    for (r0, r1, c0, c1), tile in zip(tiled.blocks(), tiled.tile_layers(), strict=True):
        assert tile.last_x is not None and tile.last_d is not None
        torch.testing.assert_close(tile.last_x, x.detach()[:, c0:c1])
        torch.testing.assert_close(tile.last_d, g[:, r0:r1])


def test_each_tile_has_its_own_adc_range() -> None:
    """Noise-free, unquantised read-out with a ±12 ADC and no noise or bound management: a layer
    whose two halves give 10 each reads 20 on two tiles and clips to 12 on one."""
    p = IOParams(inp_res=0, inp_bound=10, out_res=0, out_noise=0,
                 noise_management="none", bound_management="none")
    dev = builtin_device(DEVICE)
    tiled = TiledAnalogLinear(8, 1, dev, torch.Generator().manual_seed(0), 4, 0)
    for tile in tiled.tile_layers():
        tile.tile.periphery = AihwkitDefault(p, p)
        tile.tile.set_weight(torch.full((1, 4), 0.5))
    plain = AnalogLinear(8, 1, dev, bias=False, periphery=AihwkitDefault(p, p))
    plain.tile.set_weight(torch.full((1, 8), 0.5))
    with torch.no_grad():
        tiled.bias.zero_()
    # no noise management: x = 5 → 5·(0.5·4) = 10 per tile, 20 on one tile
    x = torch.full((1, 8), 5.0)
    assert tiled(x).item() == pytest.approx(20.0)
    assert plain(x).item() == pytest.approx(12.0)


def test_tiles_update_on_their_own_inputs() -> None:
    """A tile whose inputs are all zero gets no pulses; the other tile of the layer does."""
    cfg = TrainConfig(device=DEVICE, algorithm="sgd", hidden=[16], max_tile_inputs=392,
                      train_subset=256, test_subset=64, epochs=1)
    trainer = Trainer.build(cfg)
    first, second = analog_layers(trainer.model)[:2]
    before = [first.tile.w.clone(), second.tile.w.clone()]
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(0))
    x[:, 392:] = 0
    y = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(1))
    trainer.optimizer.zero_grad()
    torch.nn.functional.nll_loss(trainer.model(x), y).backward()
    trainer.optimizer.step()
    assert not torch.equal(first.tile.w, before[0])
    assert torch.equal(second.tile.w, before[1])


def test_tiled_runs_checkpoint_and_stack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A tiled run resumes bit for bit; tiled and untiled runs do not share a stack; a
    stack of tiled runs trains each run as it trains alone."""
    from pulsetrain.training.driver import train_runs

    base = dict(device=DEVICE, hidden=[16], max_tile_inputs=392, train_subset=512,
                test_subset=128, epochs=2, periphery="aihwkit-default")
    a = TrainConfig(algorithm="sgd", seed=0, **base)  # type: ignore[arg-type]
    b = TrainConfig(algorithm="sgd", seed=1, **base)  # type: ignore[arg-type]
    assert stack_signature(a) != stack_signature(a.model_copy(update={"max_tile_inputs": 0}))
    data = load_mnist(train_subset=512, test_subset=128)
    alone = [train_runs([c], data=data)[0].final["test_acc"] for c in (a, b)]
    check_stack([a, b], "batched")
    stacked = [r.final["test_acc"] for r in train_runs([a, b], data=data, mvm="batched")]
    assert stacked == alone
    # resume after epoch 1 ends where the uninterrupted run ends
    one = a.model_copy(update={"epochs": 1})
    train_runs([one], out=tmp_path, data=data)
    resumed = train_runs([a], out=tmp_path, resume=True, data=data)[0]
    full = train_runs([a], data=data)[0]
    drop = {"wall_s"}
    assert {k: v for k, v in resumed.final.items() if k not in drop} == \
        {k: v for k, v in full.final.items() if k not in drop}


def test_checkpoints_know_which_layer_each_tile_belongs_to(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With the output layer split too, the report's "last layer" is all of its tiles."""
    from pulsetrain.training.driver import train_runs
    from pulsetrain.training.layers import analog_layer_index
    from pulsetrain.training.trainer import checkpoint_path, read_checkpoint

    cfg = TrainConfig(device=DEVICE, algorithm="sgd", hidden=[16], max_tile_inputs=392,
                      max_tile_outputs=6, train_subset=256, test_subset=64, epochs=1)
    trainer = Trainer.build(cfg)
    assert analog_layer_index(trainer.model) == [0] * 6 + [1] * 2  # 2×3 and 1×2 tiles
    train_runs([cfg], out=tmp_path, data=load_mnist(train_subset=256, test_subset=64))
    view = read_checkpoint(checkpoint_path(cfg, tmp_path))
    assert view.tile_layer == [0] * 6 + [1] * 2
    assert view.last_layer(view.device_states).numel() == 10 * 16
