"""The non-ideal read-out (AIHWKit 1.1.0 IOParameters semantics) against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from pulsetrain.crossbar.periphery import AihwkitDefault, IOParams, IOPeriphery
from pulsetrain.training.config import TrainConfig


def _run(p: IOPeriphery, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return p.forward(x, w)


def test_noise_free_read_is_quantised_and_scaled() -> None:
    """No noise: inputs on the 7-bit DAC grid of x/max|x|, outputs on the 9-bit ADC grid,
    rescaled by max|x| — 2·255 + 1 levels at most."""
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(40, 30, generator=gen) * 0.1
    x = torch.randn(2000, 30, generator=gen)
    p = IOPeriphery(IOParams(out_noise=0.0), seed=1)
    y = _run(p, x, w)
    alpha = x.abs().amax(dim=1, keepdim=True)
    d_in, d_out = 2 / 126, 24 / 510
    xq = torch.round(x / alpha / d_in) * d_in
    expected = torch.round((xq @ w.T) / d_out) * d_out * alpha
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-5)
    levels = torch.unique(torch.round(y / alpha / d_out))
    assert levels.numel() <= 511
    assert p.stats.dac == 2000 * 30 and p.stats.adc == 2000 * 40  # one pass each


def test_output_noise_std_in_normalised_units() -> None:
    """out_noise 0.06 (no ADC grid): (y − exact)/α has std 0.06; 40k draws: ± 1 %."""
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(20, 10, generator=gen) * 0.05
    x = torch.randn(2000, 10, generator=gen)
    p = IOPeriphery(IOParams(out_res=0, inp_res=0), seed=3)
    alpha = x.abs().amax(dim=1, keepdim=True)
    resid = (_run(p, x, w) - x @ w.T) / alpha
    assert resid.std().item() == pytest.approx(0.06, rel=0.01)
    assert abs(resid.mean().item()) < 0.06 * 4 / math.sqrt(resid.numel())


def test_bound_management_halves_the_input_until_nothing_clips() -> None:
    """An output of 30 (normalised) clips at 12; iterative bound management runs the
    sample again at x/2, x/4 — 30/4 = 7.5 fits — and rescales by 4: exact again."""
    w = torch.full((1, 4), 7.5)
    x = torch.ones(3, 4)  # x/α = 1 → y = 30
    x[2] = 0.1  # also abs-max 0.1 → same normalised output
    managed = IOPeriphery(IOParams(out_noise=0, out_res=0, inp_res=0), seed=0)
    y = _run(managed, x, w)
    torch.testing.assert_close(y[:, 0], torch.tensor([30.0, 30.0, 3.0]))
    assert managed.stats.dac == 3 * 4 * 3  # passes at r = 1, 2, 4 for all three
    clipped = IOPeriphery(IOParams(out_noise=0, out_res=0, inp_res=0,
                                   bound_management="none"), seed=0)
    torch.testing.assert_close(_run(clipped, x, w)[:, 0], torch.tensor([12.0, 12.0, 1.2]))
    # a sample that fits is not re-run
    mixed = IOPeriphery(IOParams(out_noise=0, out_res=0, inp_res=0), seed=0)
    _run(mixed, torch.tensor([[1.0, 1, 1, 1], [0.1, 0.1, -0.1, -0.1]]), w)
    assert mixed.stats.dac == 4 * (3 + 1)


def test_limits_of_bound_management_and_zero_input() -> None:
    """With Δ_in = 2/126, max_bm_res 0.25 allows r up to 16 (5 passes), then the last
    pass is kept, clipped; an all-zero input reads 0."""
    w = torch.full((1, 2), 1000.0)
    p = IOPeriphery(IOParams(out_noise=0, out_res=0), seed=0)
    y = _run(p, torch.ones(1, 2), w)
    assert p.stats.dac == 2 * 5 and y.item() == pytest.approx(12.0 * 16)
    assert _run(p, torch.zeros(2, 2), w).abs().max().item() == 0.0


def test_backward_mask_zeroes_errors_of_saturated_outputs() -> None:
    w = torch.tensor([[20.0, 0.0], [0.1, 0.2]])
    p = AihwkitDefault(IOParams(out_noise=0, out_res=0, inp_res=0, bound_management="none"),
                       IOParams(out_noise=0, out_res=0, inp_res=0), seed=0)
    x = torch.tensor([[1.0, 0.5]])
    y = p.forward(x, w)
    assert y[0, 0].item() == pytest.approx(12.0)  # clipped, at the bound: masked
    d = torch.tensor([[1.0, 1.0]])
    dx = p.backward(d, w)
    torch.testing.assert_close(dx, torch.tensor([[0.1, 0.2]]))  # only output 1's error


def test_config_validates_periphery_options() -> None:
    cfg = TrainConfig(periphery="aihwkit-default",
                      periphery_options={"forward": {"out_noise": 0.02}})
    assert cfg.key() != TrainConfig(periphery="aihwkit-default").key()
    with pytest.raises(ValueError, match="periphery_options"):
        TrainConfig(periphery="aihwkit-default", periphery_options={"forward": {"nope": 1}})
    with pytest.raises(ValueError, match="takes no options"):
        TrainConfig(periphery_options={"forward": {"out_noise": 0.02}})


@pytest.mark.skipif(__import__("pulsetrain.training.data", fromlist=["x"])
                    .default_mnist_folder() is None, reason="MNIST not installed")
def test_noisy_runs_equal_alone_in_a_stack_and_resume_exactly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each run's read-out noise comes from its own generator (checkpointed): a batched
    stack gives each run exactly its solo numbers, and a run killed after epoch 1 resumes
    to the uninterrupted numbers."""
    from pulsetrain.training.driver import train, train_stacked

    base = TrainConfig(device="ID161ZR15000-200us-thesis", algorithm="sgd", epochs=2,
                       hidden=[16], train_subset=256, val_size=100, test_subset=100,
                       periphery="aihwkit-default")
    cfgs = [base, base.model_copy(update={"seed": 1, "algorithm": "mixed-precision"})]

    def strip(res):  # type: ignore[no-untyped-def]
        return [{k: v for k, v in e.items() if k not in ("wall_s", "stacked_runs")}
                for e in res.epochs]

    alone = [strip(train(c)) for c in cfgs]
    stacked = [strip(r) for r in train_stacked(cfgs, mvm="batched")]
    assert stacked == alone
    assert alone[0][-1]["reads"]["adc_total"] > 0

    class Stop(Exception):
        pass

    def stop(_m):  # type: ignore[no-untyped-def]
        raise Stop

    with pytest.raises(Stop):
        train(base, tmp_path, on_epoch=stop)
    assert strip(train(base, tmp_path, resume=True)) == alone[0]


@pytest.mark.parametrize("options", [
    {},  # AIHWKit's defaults: abs-max, DAC, ADC, noise, iterative bound management
    {"noise_management": "constant", "nm_thres": 0.5},
    {"noise_management": "abs-max", "nm_thres": 0.4},
    {"noise_management": "none", "inp_bound": 20.0},
    {"out_bound": 0.0, "inp_res": 0.0, "out_res": 0.0},
    {"bm_test_negative_bound": False, "out_noise": 0.0},
    {"out_scale": 2.0, "max_bm_factor": 4.0},
])
def test_compiled_read_out_gives_the_torch_read_outs_bits(
        options: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """The numba read-out (the default on CPU) and the torch operations it replaces
    return the same bits and draw the same noise — with bound management re-reading many
    of the samples, an all-zero input row, and a training step's gradient mask."""
    import pulsetrain.crossbar.periphery as periphery

    if periphery._kernels is None:
        pytest.skip("numba not installed: the torch read-out is the only one")
    g = torch.Generator().manual_seed(3)
    x = torch.rand(96, 40, generator=g)
    x[5] = 0.0
    w = torch.rand(12, 40, generator=g) * 1.2  # outputs around 12: BM re-reads many
    d = torch.randn(96, 12, generator=g) * 0.01
    p = IOParams.model_validate({**IOParams().model_dump(), **options})

    def read(compiled: bool) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        if not compiled:
            monkeypatch.setattr(periphery, "_kernels", None)
        io = IOPeriphery(p, p, seed=11)
        y, scale, passes = io._mvm(x, w.T, p, managed=True, transposed=False)
        dx = io.backward(d, w)
        masked = IOPeriphery(p, p, seed=12)  # a training step: forward, masked backward
        y2 = masked.forward(x, w)
        mask = masked._mask.clone() if masked._mask is not None else torch.zeros(0)
        dx2 = masked.backward(d, w)
        monkeypatch.undo()
        return (torch.cat([y.flatten(), dx.flatten(), y2.flatten(), dx2.flatten(),
                           mask.flatten().float()]), scale, passes, io.stats.dac)

    fast, slow = read(True), read(False)
    assert torch.equal(fast[0], slow[0]) and torch.equal(fast[1], slow[1])
    assert fast[2:] == slow[2:]
    if options == {}:
        assert fast[2] > 96 * 1.2  # bound management did re-read samples
        n = fast[0].numel() - 96 * 12
        assert 0 < int(fast[0][n:].sum()) < 96 * 12  # some outputs masked, not all


def test_read_out_parameters_swapped_after_construction_take_effect() -> None:
    """The compiled read-out works its constants out once per parameter set; replacing a
    direction's parameters on a built periphery still applies the new ones (here: no
    output noise, so two reads agree exactly, where with noise they did not)."""
    g = torch.Generator().manual_seed(4)
    x = torch.rand(32, 20, generator=g)
    w = torch.rand(6, 20, generator=g) * 0.2
    io = IOPeriphery(seed=1)
    assert not torch.equal(io.forward(x, w), io.forward(x, w))
    io.fwd = IOParams.model_validate({**io.fwd.model_dump(), "out_noise": 0.0})
    assert torch.equal(io.forward(x, w), io.forward(x, w))
