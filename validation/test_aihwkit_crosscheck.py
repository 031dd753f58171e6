"""Cross-checks against AIHWKit 1.1.0 (skipped when its venv is absent).

Create the venv with ``bash scripts/setup-aihwkit.sh``; the full set (all devices,
training over seeds) is ``scripts/crosscheck_aihwkit.py``, whose tables are in
docs/validation.md.  Tolerances are those of the issue and are justified in
:mod:`validation.crosscheck`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pulsetrain.devices import builtin_device
from pulsetrain.interop.aihwkit_params import to_piecewise_step
from validation.aihwkit_bridge import aihwkit_available, run_aihwkit
from validation.crosscheck import (
    check_backward,
    check_drift,
    check_mp_transfer,
    check_network_read_out,
    check_pulse_stats,
    check_replay,
    check_response,
    check_symmetry_point,
)

pytestmark = pytest.mark.skipif(not aihwkit_available(),
                                reason="AIHWKit venv absent (bash scripts/setup-aihwkit.sh)")


@pytest.mark.parametrize("name", ["ID161ZR15000-20ns-a", "ID161ZR15000-200us"])
def test_device_response_matches_piecewise_step(name: str) -> None:
    rows = check_response(builtin_device(name), n_pulses=200)
    assert rows[0].passed, rows[0]  # per-step error ≤ 1e-6


def test_pulse_statistics_match() -> None:
    rows = check_pulse_stats()
    assert all(r.passed for r in rows), rows


def test_saturated_pulse_statistics_match() -> None:
    """BL capped at 31: AIHWKit keeps the input side proportional and clips the error
    side; pulsetrain does the same (it clipped both sides before stop 8)."""
    rows = check_pulse_stats(lr=1.0, n_samples=10_000)
    assert all(r.passed for r in rows), rows


def test_mixed_precision_pulse_train_transfer_matches() -> None:
    """``mp_transfer: pulse-trains``: AIHWKit's MixedPrecisionCompound fires a row's counts
    as one pulse train of BL = max|n| slots; the pulses per device agree in mean and
    spread (and ±max|n| exactly)."""
    rows = check_mp_transfer()
    assert all(r.passed for r in rows), rows
    exact = [r for r in rows if "+4" in r.quantity or "-4" in r.quantity or "+0" in r.quantity]
    assert all(r.pulsetrain == r.aihwkit for r in exact if "std" in r.quantity)


def test_drift_towards_the_symmetry_point_matches() -> None:
    rows = check_drift(builtin_device("ID161ZR15000-200us"))
    assert all(r.passed for r in rows), rows


def test_replay_with_the_default_read_out_matches_on_a_thesis_device() -> None:
    """The (x, δ) batches of plain SGD with the noisy, quantised default read-out, replayed
    by both tools' pulsed update on the 20 µs thesis device (up_down −0.30): mean ΔW and
    mean |ΔW| per layer agree.  With a granularity read off the table's middle up step
    (which carries AIHWKit's 1 + up_down factor) pulsetrain drew 1.42× AIHWKit's
    pulses here and |ΔW| was 40 % too large."""
    from pulsetrain.training.data import load_mnist

    data = load_mnist(train_subset=8000, test_subset=100)
    arrays = {"x_train": data.train.x.numpy(), "y_train": data.train.y.numpy()}
    rows = check_replay(builtin_device("ID161ZR15000-20us-thesis"), arrays,
                        sizes=[784, 64, 10], n_batches=100,
                        periphery="aihwkit-default")
    # every mean |ΔW| (the pulse count: 40 % off before), and the first layer's drift; the
    # last layer's drift is reported, not asserted here: over 100 batches its 5-seed mean
    # moves between 0.011 and 0.031 in pulsetrain and 0.019 and 0.027 in AIHWKit
    # (measured), so a 3-SE band misses by chance in about one run of ten
    checked = [r for r in rows if "|ΔW|" in r.quantity or "layer 0" in r.check]
    assert len(checked) == 3 and all(r.passed for r in checked), rows


@pytest.mark.parametrize("tiles", [0, 512])
def test_network_read_out_matches_with_and_without_tiles(tiles: int) -> None:
    """The default read-out without output noise through the whole thesis network, with
    outputs beyond ±12: outputs and every tile's input and error equal AIHWKit's (512:
    its default mapping, the first layer on two tiles)."""
    from pulsetrain.training.data import load_mnist

    data = load_mnist(train_subset=64, test_subset=10)
    rows = check_network_read_out(builtin_device("ID161ZR15000-20us-thesis"),
                                  data.train.x[:64], data.train.y[:64], tiles)
    assert len(rows) == 1 + 2 * (4 if tiles else 3)
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
    assert rows[0].aihwkit > 12  # the ADC range, bound management and the mask act


def test_symmetry_point_matches_soft_bounds_reference() -> None:
    rows = check_symmetry_point()
    assert all(r.passed for r in rows), rows


def test_backward_error_matches_with_large_outputs() -> None:
    """Outputs beyond ±12 (a last layer drifted to the SP): AIHWKit's default output bound
    would zero their back-propagated error; the cross-checks' config must not."""
    rows = check_backward(builtin_device("ID161ZR15000-200us"))
    assert rows[0].passed, rows[0]
    assert "beyond ±12" in rows[0].quantity and "(0% beyond" not in rows[0].quantity


def test_sp_shift_reference_cell_starts_at_the_initial_weights(tmp_path: Path) -> None:
    """SP shifting on AIHWKit (scripts/aihwkit_thesis_runs.py): the reference device
    holds the SP and the update device W_init + SP, so the weight read is W_init.
    With a learning rate too small for any pulse the weights after one epoch are the
    initial ones; a reference left at 0 would read W_init + SP (0.27 off)."""
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, x_train=rng.random((128, 784), dtype=np.float32),
             y_train=rng.integers(0, 10, 128), x_test=rng.random((32, 784), dtype=np.float32),
             y_test=rng.integers(0, 10, 32))
    init = [(rng.uniform(-0.3, 0.3, (8, 784)), np.zeros(8)),
            (rng.uniform(-0.3, 0.3, (10, 8)), np.zeros(10))]
    device = builtin_device("ID161ZR15000-2us")
    reply = run_aihwkit("train", device=to_piecewise_step(device), algorithm="sp-shift",
                        sp=0.27, sizes=[784, 8, 10], lr=1e-12, epochs=1, batch_size=64,
                        seed=0, data=str(data), weights=True,
                        init=[[w.tolist(), b.tolist()] for w, b in init])
    for got, (want, _) in zip(reply["weights"][-1], init, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-6)


def test_read_out_statistics_agree() -> None:
    """Each IO feature alone and the full aihwkit-default read-out: output statistics
    within 2 % (and noise-free outputs equal but for float32 summation order)."""
    from validation.crosscheck import IO_CASES, check_io

    cases = {k: IO_CASES[k] for k in ("ADC (out_res 1/510, ±12)", "aihwkit-default (all)")}
    rows = check_io(cases, n=4000)
    bad = [r for r in rows if not r.passed]
    assert not bad, bad
    assert any(r.quantity == "clipped share" and r.aihwkit > 0.03 for r in rows)


@pytest.mark.parametrize("rule", ["ttv2", "c-ttv2", "agad"])
def test_transfer_events_match_for_the_same_schedule(rule: str, tmp_path: Path) -> None:
    """One transfer (one column read of A) per training sample and layer on both sides:
    320 random samples, batch 64, 784-8-10 → 320 events per layer in each tool.  (The
    accuracy cross-check over seeds is scripts/crosscheck_transfer.py, docs/tiki-taka.md.)"""
    import torch

    from pulsetrain.devices import LutDevice
    from pulsetrain.training.layers import build_mlp
    from pulsetrain.training.transfer import AGAD, ChoppedTTv2, TransferSGD

    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    x = rng.random((320, 784), dtype=np.float32)
    y = rng.integers(0, 10, 320)
    np.savez(data, x_train=x, y_train=y, x_test=x[:32], y_test=y[:32])
    device = LutDevice("const", [0.01, 0.01], [0.01, 0.01])
    reply = run_aihwkit("train", device=to_piecewise_step(device), algorithm=rule,
                        sizes=[784, 8, 10], lr=0.1, epochs=1, batch_size=64, seed=0,
                        data=str(data))
    model = build_mlp([784, 8, 10], device, seed=0)
    opt = {"ttv2": TransferSGD, "c-ttv2": ChoppedTTv2, "agad": AGAD}[rule](model, lr=0.1)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for k in range(0, 320, 64):
        opt.zero_grad()
        torch.nn.functional.nll_loss(model(xt[k:k + 64]), yt[k:k + 64]).backward()
        opt.step()
    ours = [layer["column_reads"] for layer in opt.epoch_metrics()["transfer"]]
    assert ours == reply["transfers"] == [320, 320]
