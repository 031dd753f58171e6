"""The Tiki-Taka family (pulsetrain.training.transfer): closed-form transfers on a
constant-step device, the chopper and dynamic reference, counts and checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pulsetrain.devices.lut import LutDevice
from pulsetrain.training.layers import AnalogLinear
from pulsetrain.training.transfer import AGAD, ChoppedTTv2, TransferSettings, TransferSGD

DW = 0.01


def constant_step(dw: float = DW, bound: float = 1.0) -> LutDevice:
    return LutDevice("const", [dw, dw], [dw, dw], w_min=-bound, w_max=bound)


def _model(n_in: int = 4, n_out: int = 3, dw: float = DW) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(AnalogLinear(n_in, n_out, constant_step(dw), seed=1, bias=False))


def _step(opt: TransferSGD, model: nn.Sequential, x: torch.Tensor, d: torch.Tensor) -> None:
    layer = model[0]
    layer.last_x, layer.last_d = x, d
    opt.step()


def test_c_receives_exactly_what_the_buffer_passed_on() -> None:
    """A held fixed (no gradient), every read adds s·A_k to H_k; without forgetting,
    H + pulses·1 step is conserved, and C moves by exactly its pulses × dw."""
    model = _model()
    opt = TransferSGD(model, lr=0.05, settings=TransferSettings(
        forget_buffer=False, max_pulses=100, transfer_lr=1.0, read_noise=0, read_step=0))
    a, c = opt.a_tiles[0], model[0].tile
    a_state = torch.tensor([[0.3, -0.2, 0.05, 0.0], [0.7, 0.1, -0.6, 0.2],
                            [-0.35, 0.0, 0.9, -0.01]])
    a.set_weight(a_state)
    c0 = c.w.clone()
    zeros_x, zeros_d = torch.zeros(6, 4), torch.zeros(6, 3)
    for _ in range(10):  # 60 samples: 60 reads, 15 per column (in order, wrapping)
        _step(opt, model, zeros_x, zeros_d)
    assert opt.transfers == [60] and opt.next_column == [0]
    assert a.pulses.total == 0  # zero gradient: no pulse on A
    scale = 0.05 / DW  # transfer_lr · lr / dw_min of A
    passed_on = 15 * scale * a.weight  # what the buffer received per device
    pulses = torch.round((c.w - c0) / DW)
    torch.testing.assert_close(c.w - c0, pulses * DW, atol=1e-6, rtol=0)
    torch.testing.assert_close(opt.buffers[0] + pulses, passed_on, atol=1e-4, rtol=0)
    assert float(opt.buffers[0].abs().max()) < 1.0  # the rest stays below one step
    assert c.pulses.total == int(pulses.abs().sum())
    m = opt.epoch_metrics()
    assert m["transfer"][0]["column_reads"] == 60
    assert m["buffer_ops_total"] == 60 * 3  # one entry per output and read


def test_forgetting_buffer_caps_each_transfer_at_max_pulses() -> None:
    model = _model()
    opt = TransferSGD(model, lr=0.05, settings=TransferSettings(max_pulses=1, read_noise=0))
    a, c = opt.a_tiles[0], model[0].tile
    a.set_weight(torch.full((3, 4), 0.5))  # s·A = 2.5 steps per read (0.5 on the ADC grid)
    c0 = c.w.clone()
    _step(opt, model, torch.zeros(8, 4), torch.zeros(8, 3))  # 2 reads per column
    # each read fires one pulse (capped) and forgets the buffer (momentum 0)
    torch.testing.assert_close(c.w - c0, torch.full((3, 4), 2 * DW), atol=1e-6, rtol=0)
    assert float(opt.buffers[0].abs().max()) == 0.0


@pytest.mark.parametrize("rule", [TransferSGD, ChoppedTTv2, AGAD])
def test_a_constant_gradient_moves_c_downhill(rule: type[TransferSGD]) -> None:
    """δ xᵀ > 0 everywhere: SGD wants W to fall; C must fall for every rule — the
    choppers' signs are undone at the read, AGAD's reference cancels A's offset."""
    model = _model(dw=0.002)
    opt = rule(model, lr=0.1, seed=3)
    opt.a_tiles[0].set_weight(torch.full((3, 4), 0.4))  # an offset on A AGAD must ignore
    c = model[0].tile
    c0 = c.weight.clone()
    x, d = torch.ones(16, 4), torch.full((16, 3), 0.2)
    for _ in range(200):
        _step(opt, model, x, d)
    moved = c.weight - c0
    assert float(moved.mean()) < -0.05, rule.name
    if rule is not TransferSGD:
        assert opt.chop_flips > 0


def test_agad_ignores_a_static_offset() -> None:
    """No gradient, A at a constant offset: TTv2 transfers the offset into C, AGAD
    (reads minus the previous period's mean) transfers nothing."""
    moved = {}
    for rule in (TransferSGD, AGAD):
        model = _model()
        opt = rule(model, lr=0.1, seed=0, settings=TransferSettings(read_noise=0))
        opt.a_tiles[0].set_weight(torch.full((3, 4), 0.3))
        c0 = model[0].tile.weight.clone()
        for _ in range(100):
            _step(opt, model, torch.zeros(8, 4), torch.zeros(8, 3))
        moved[rule.name] = float((model[0].tile.weight - c0).abs().mean())
    assert moved["ttv2"] > 0.5
    assert moved["agad"] == 0.0


def test_checkpoint_round_trip_continues_identically() -> None:
    def run(split: bool) -> torch.Tensor:
        model = _model(dw=0.002)
        opt = AGAD(model, lr=0.1, seed=5)
        gen = torch.Generator().manual_seed(0)
        batches = [(torch.rand(8, 4, generator=gen), torch.randn(8, 3, generator=gen) * 0.1)
                   for _ in range(40)]
        for x, d in batches[:20]:
            _step(opt, model, x, d)
        if split:
            state = opt.extra_state()
            tiles = model[0].tile.state_dict()
            model = _model(dw=0.002)
            opt = AGAD(model, lr=0.1, seed=5)
            model[0].tile.load_state_dict(tiles)
            opt.load_extra_state(state)
        for x, d in batches[20:]:
            _step(opt, model, x, d)
        return torch.cat([model[0].tile.w.flatten(), opt.a_tiles[0].w.flatten(),
                          opt.buffers[0].flatten()])

    torch.testing.assert_close(run(False), run(True), atol=0, rtol=0)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="transfer_every"):
        TransferSettings(transfer_every=0)
    with pytest.raises(ValueError, match="a_reference"):
        TransferSettings(a_reference="mean")  # type: ignore[arg-type]


def test_two_rounds_in_one_step_draw_fresh_chopper_flips() -> None:
    """Batch 8 on a 4-input layer: every column is read twice per step.  The second
    round must not repeat the first round's draws (which would undo every flip and keep
    the choppers at +1 forever)."""
    model = _model(n_in=4)
    opt = ChoppedTTv2(model, lr=0.1, seed=0, settings=TransferSettings(in_chop_prob=0.5))
    seen_negative = False
    for _ in range(20):
        _step(opt, model, torch.zeros(8, 4), torch.zeros(8, 3))
        seen_negative |= bool((opt.choppers[0] < 0).any())
    assert opt.transfers == [160]
    assert seen_negative


def test_agad_needs_chopper_switches() -> None:
    with pytest.raises(ValueError, match="in_chop_prob must be > 0"):
        AGAD(_model(), lr=0.1, settings=TransferSettings(in_chop_prob=0.0))
