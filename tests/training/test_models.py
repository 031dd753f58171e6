"""Model seam and analog convolution: AnalogConv2d equals torch's conv, its pulse counts,
every algorithm on lenet5, the mlp default's stored-result guard and bad input."""

from __future__ import annotations

import hashlib

import pytest
import torch
import torch.nn.functional as F

from pulsetrain.devices.builtin import builtin_device
from pulsetrain.errors import InputError
from pulsetrain.training.algorithms import StochasticPulseSGD
from pulsetrain.training.config import TrainConfig
from pulsetrain.training.data import Split
from pulsetrain.training.layers import AnalogConv2d, analog_layers
from pulsetrain.training.models import ModelSpec, build_model
from pulsetrain.training.registry import ALGORITHMS
from pulsetrain.training.trainer import Trainer

DEVICE = "ID161ZR15000-200ns"


def _conv(seed: int = 1, **kw: int) -> AnalogConv2d:
    return AnalogConv2d(2, 3, 3, builtin_device(DEVICE), seed=seed, **kw)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1)])
def test_conv_forward_backward_equal_torch(stride: int, padding: int) -> None:
    layer = _conv(stride=stride, padding=padding)
    w = layer.tile.weight.detach().reshape(3, 2, 3, 3).clone()
    assert layer.bias is not None
    b = layer.bias.detach().clone()
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, 2, 7, 6, generator=g)
    r = torch.randn(4, 3, *layer.output_size(7, 6), generator=g)
    xa = x.clone().requires_grad_(True)
    y = layer(xa)
    (y * r).sum().backward()
    xt = x.clone().requires_grad_(True)
    wt = w.clone().requires_grad_(True)
    yt = F.conv2d(xt, wt, b, stride=stride, padding=padding)
    (yt * r).sum().backward()
    torch.testing.assert_close(y, yt, rtol=1e-5, atol=1e-6)
    assert xa.grad is not None and xt.grad is not None and wt.grad is not None
    torch.testing.assert_close(xa.grad, xt.grad, rtol=1e-5, atol=1e-6)
    # the rows the update rule gets: one per sample and output position, whose
    # outer products sum to torch's weight gradient
    assert layer.last_x is not None and layer.last_d is not None
    assert layer.last_x.shape == (4 * r.shape[2] * r.shape[3], 18)
    torch.testing.assert_close(layer.last_d.T @ layer.last_x, wt.grad.reshape(3, 18),
                               rtol=1e-4, atol=1e-5)


def test_conv_sgd_pulse_count_matches_expectation() -> None:
    """Without update/BL management every row fires input j w.p. a|x_j| and output i
    w.p. a|d_i| (a = sqrt(lr/(dw_min·BL))) in each of BL slots; a slot gives X·D
    coincidences (X, D the independent numbers of firing inputs/outputs), so
    E = Σ_rows BL·E[X]·E[D] and Var = Σ_rows BL·(E[X²]E[D²] − E[X]²E[D]²)."""
    layer = _conv()
    model = torch.nn.Sequential(layer)
    lr, dw, bl, steps = 0.01, 0.01, 31, 40
    opt = StochasticPulseSGD(model, lr=lr, bl=bl, update_management=False,
                             bl_management=False, granularity=dw, seed=7)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 2, 6, 6, generator=g)
    r = torch.rand(2, 3, 4, 4, generator=g) * 2 - 1
    for _ in range(steps):
        (layer(x) * r).sum().backward()
        rows_x, rows_d = layer.last_x, layer.last_d
        opt.step()
    assert rows_x is not None and rows_d is not None
    a = (lr / (dw * bl)) ** 0.5
    p, q = (a * rows_x.abs()).double(), (a * rows_d.abs()).double()
    assert p.max() < 1 and q.max() < 1  # no saturation: the formula holds exactly
    ex, ed = p.sum(1), q.sum(1)
    ex2, ed2 = ex ** 2 + (p * (1 - p)).sum(1), ed ** 2 + (q * (1 - q)).sum(1)
    mean = steps * bl * float((ex * ed).sum())
    std = (steps * bl * float((ex2 * ed2 - (ex * ed) ** 2).sum())) ** 0.5
    got = layer.tile.pulses.up + layer.tile.pulses.down
    assert rows_x.shape[0] == 2 * 16  # 16 output positions per sample
    assert abs(got - mean) < 5 * std, (got, mean, std)
    assert std < 0.05 * mean  # the check is sharp enough to see a wrong rule


def _images(n: int, seed: int = 5) -> Split:
    g = torch.Generator().manual_seed(seed)
    return Split(torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g))


@pytest.mark.parametrize("algo", [a for a in ALGORITHMS
                                  if ALGORITHMS[a].analog])
def test_every_algorithm_steps_lenet5_and_counts_conv_pulses(algo: str) -> None:
    # a large lr, so that mixed precision's accumulator crosses ε in one step
    lr = 20 * TrainConfig(algorithm=algo).learning_rate
    cfg = TrainConfig(model="lenet5", algorithm=algo, batch_size=4, epochs=1, lr=lr)
    t = Trainer.build(cfg)
    t.train_epoch(_images(4), 0)
    totals = t.pulse_totals()
    assert len(totals) == 4  # conv, conv, fc, fc
    assert totals[0]["up"] + totals[0]["down"] > 0
    assert totals[1]["up"] + totals[1]["down"] > 0


def test_mlp_default_key_and_weights_unchanged() -> None:
    """Stored-result guard: keys and weight hashes computed with main's code (before the
    model seam, commit 2bd84bb) for a tiny default-model run."""
    expected = {"sgd": ("74d34781ec28d5d2", "810267c1a8e4568a"),
                "mixed-precision": ("04411b72c1437642", "5d521d23ea42c160")}
    data = _images(96)
    for algo, (key, digest) in expected.items():
        cfg = TrainConfig(algorithm=algo, hidden=[16], batch_size=32, epochs=1)
        assert cfg.key() == key
        assert TrainConfig(algorithm=algo, hidden=[16], batch_size=32, epochs=1,
                           model="mlp").key() == key
        t = Trainer.build(cfg)
        t.train_epoch(data, 0)
        h = hashlib.sha256()
        for layer in analog_layers(t.model):
            h.update(layer.tile.w.numpy().tobytes())
        for p in t.model.parameters():
            h.update(p.detach().numpy().tobytes())
        assert h.hexdigest()[:16] == digest
    assert TrainConfig(model="lenet5").key() != TrainConfig().key()


def test_unknown_model_did_you_mean() -> None:
    with pytest.raises(ValueError, match=r"model: unknown model 'lenet'; did you mean "
                                         r"'lenet5'\?"):
        TrainConfig(model="lenet")


def test_conv_model_on_wrong_shape_is_one_line_error() -> None:
    spec = ModelSpec((1, 8, 8), 10, builtin_device(DEVICE))
    with pytest.raises(InputError, match=r"^model 'lenet5': input must be at least "
                                         r"16×16 pixels.*got 1×8×8$"):
        build_model("lenet5", spec)
    layer = _conv()
    with pytest.raises(InputError, match=r"input must be \(batch, 2, H, W\), got shape "
                                         r"\(1, 3, 5, 5\)"):
        layer(torch.zeros(1, 3, 5, 5))


def test_cifar_cnn_float_and_analog_shapes() -> None:
    for device in (None, builtin_device(DEVICE)):
        model = build_model("cifar-cnn", ModelSpec((3, 32, 32), 10, device))
        out = model(torch.rand(2, 3 * 32 * 32))
        assert out.shape == (2, 10)
        torch.testing.assert_close(out.exp().sum(1), torch.ones(2))


def test_lenet5_checkpoint_round_trip_and_stack() -> None:
    """A conv model's checkpoint restores the tiles and biases exactly, and a stack of
    two lenet5 runs (each run calls its own model) trains as the runs alone do."""
    from pulsetrain.training.stacked import RunStack

    data = _images(8)
    cfgs = [TrainConfig(model="lenet5", batch_size=4, epochs=1, seed=s, lr=1.0)
            for s in (0, 1)]
    alone = [Trainer.build(c) for c in cfgs]
    for t in alone:
        t.train_epoch(data, 0)
    state = alone[0].state()
    fresh = Trainer.build(cfgs[0])
    assert any(not torch.equal(a.tile.w, b.tile.w) for a, b in zip(
        analog_layers(fresh.model), analog_layers(alone[0].model), strict=True))
    fresh.load_state(state)
    for a, b in zip(analog_layers(fresh.model), analog_layers(alone[0].model), strict=True):
        assert torch.equal(a.tile.w, b.tile.w)
        assert a.bias is not None and b.bias is not None and torch.equal(a.bias, b.bias)
    stack = RunStack([Trainer.build(c) for c in cfgs])
    assert stack.tiled  # conv: one run at a time
    stack.train_epoch(data, 0)
    for t, ref in zip(stack.trainers, alone, strict=True):
        assert t.pulse_totals() == ref.pulse_totals()
