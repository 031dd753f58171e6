"""The CUDA path against the CPU kernels (skipped where no CUDA device is visible).

Written for the sessions that get a GPU: the torch kernels on CUDA must draw the same
counter-based trains, fire the same pulses and land on the same weights (to float32
rounding) as the numba kernels on the CPU, and training must run end to end on CUDA,
alone and as a stack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pulsetrain.crossbar import AnalogTile, available_backends
from pulsetrain.crossbar.pulse_trains import make_trains
from pulsetrain.devices import Variation, builtin_device

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.skipif("numba" not in available_backends(), reason="numba not installed")
@pytest.mark.parametrize("c2c", [0.0, 0.3])
def test_cuda_kernels_equal_cpu_kernels(c2c: float) -> None:
    dev = builtin_device("ID161ZR15000-200ns").with_options(
        c2c_noise=c2c, variation=Variation(step_gain_std=0.2, bound_std=0.1, up_down_std=0.1))
    x = torch.rand(12, 50, generator=torch.Generator().manual_seed(3))
    x[x < 0.3] = 0
    d = torch.randn(12, 32, generator=torch.Generator().manual_seed(4)) * 0.2
    counts = torch.randint(-3, 4, (32, 50), generator=torch.Generator().manual_seed(6))
    chi0 = torch.randn(32, 50, generator=torch.Generator().manual_seed(7)) * 0.2
    w0 = torch.rand(32, 50, generator=torch.Generator().manual_seed(2)) - 0.5
    results = {}
    for where, backend in (("cpu", "numba"), ("cuda", "torch")):
        tile = AnalogTile(dev, 32, 50, torch.Generator().manual_seed(0), torch_device=where,
                          backend=backend)
        tile.set_weight(w0.to(where))
        xs, ds = x.to(where), d.to(where)
        trains = make_trains(xs, ds, 0.3, tile.dt.dw_min, seed=5, backend=backend)
        sgd = tile.pulsed_update(xs, ds, 0.3, seed=11)
        cnt = tile.apply_pulse_counts(counts.to(where), 12)
        chi = chi0.to(where)
        mp = tile.transfer_accumulator(chi, 0.03, 0.05, 13)
        results[where] = (trains, sgd, cnt, mp, chi.cpu(), tile.w.cpu())
    cpu, gpu = results["cpu"], results["cuda"]
    assert torch.equal(cpu[0].x_bits, gpu[0].x_bits.cpu())
    assert torch.equal(cpu[0].d_bits, gpu[0].d_bits.cpu())
    for k in (1, 2, 3):  # exact pulse counts
        assert cpu[k] == gpu[k]
    assert sum(cpu[1]) > 0 and sum(cpu[3]) > 0
    torch.testing.assert_close(cpu[4], gpu[4], atol=1e-7, rtol=0)
    torch.testing.assert_close(cpu[5], gpu[5], atol=2e-6, rtol=0)


@pytest.mark.parametrize("algorithm", ["sgd", "mixed-precision", "sp-shift"])
def test_training_runs_on_cuda_alone_and_stacked(algorithm: str, tmp_path: Path) -> None:
    """The fine device of the training tests, 3 epochs on 1024 images (on the CPU the
    same runs reach 0.51–0.74, chance is 0.10): above 0.4 alone on CUDA; in a stack of
    two runs (batched MVM) each run's pulses and accuracy stay within 5 % / 5 points of
    its solo run (another summation order can flip individual slot draws)."""
    from pulsetrain.devices import LutDevice, save_device
    from pulsetrain.errors import InputError
    from pulsetrain.training.config import TrainConfig
    from pulsetrain.training.data import load_mnist
    from pulsetrain.training.driver import train, train_stacked

    try:
        data = load_mnist(val_size=1000, train_subset=1024, test_subset=1000)
    except InputError as exc:
        pytest.skip(str(exc))
    grid = np.linspace(-1, 1, 33)
    device = save_device(LutDevice("fine", 0.0015 * (1 - grid), 0.001 * (1 + grid)),
                         tmp_path / "fine.json")
    cfg = TrainConfig(algorithm=algorithm, device=str(device), torch_device="cuda",
                      hidden=[32], epochs=3, batch_size=32, train_subset=1024,
                      val_size=1000, test_subset=1000, lr=0.5)
    alone = train(cfg, data=data)
    assert alone.final["test_acc"] > 0.4 and alone.final["pulses_total"] > 0
    stacked = train_stacked([cfg, cfg.model_copy(update={"seed": 1})], data=data)
    assert abs(stacked[0].final["test_acc"] - alone.final["test_acc"]) < 0.05
    assert stacked[0].final["pulses_total"] == pytest.approx(alone.final["pulses_total"],
                                                             rel=0.05)
