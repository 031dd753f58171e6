"""Responses that cross more than once: every crossing reported, one SP used everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from pulsetrain.cli import app
from pulsetrain.devices import LutDevice, save_device, symmetry_point_analytic
from pulsetrain.devices.quality import training_warnings
from pulsetrain.devices.symmetry import sp_crossings, symmetry_point
from pulsetrain.training.algorithms import shift_to_symmetry_point
from pulsetrain.training.layers import AnalogLinear

STABLE_LOW, UNSTABLE, STABLE_HIGH = -0.5, 0.1, 0.6


def three_crossings() -> LutDevice:
    """Δ = up − down = −0.05 (w + 0.5)(w − 0.1)(w − 0.6) on [−1, 1.4]: stable crossings at
    −0.5 and 0.6, an unstable one at 0.1.  The range's centre (0.2) lies above the
    unstable crossing, w = 0 below it: drift from the centre ends at 0.6, alternating
    pulses from 0 settle at −0.5."""
    grid = np.linspace(-1.0, 1.4, 241)
    diff = -0.05 * (grid - STABLE_LOW) * (grid - UNSTABLE) * (grid - STABLE_HIGH)
    return LutDevice("three", 0.004 + np.clip(diff, 0, None), 0.004 + np.clip(-diff, 0, None),
                     w_min=-1.0, w_max=1.4)


def test_every_crossing_with_its_stability() -> None:
    got = sp_crossings(three_crossings())
    assert [c.stable for c in got] == [True, False, True]
    np.testing.assert_allclose([c.w for c in got], [STABLE_LOW, UNSTABLE, STABLE_HIGH],
                               atol=1e-9)


def test_sp_is_where_alternating_pulses_from_zero_settle() -> None:
    dev = three_crossings()
    sp = symmetry_point(dev)
    assert sp.by_pulses.converged
    assert sp.by_pulses.low == pytest.approx(STABLE_LOW, abs=0.01)
    assert sp.value == pytest.approx(STABLE_LOW, abs=1e-9)  # the exact crossing there
    assert symmetry_point_analytic(dev) == pytest.approx(STABLE_HIGH, abs=1e-9)
    assert sp.mismatch > 1.0 and not sp.at_bound
    (warning,) = training_warnings(dev)
    assert "SP mismatch" in warning and "-0.500" in warning and "0.600" in warning


@pytest.mark.parametrize("mode", ["per-device", "nominal"])
def test_sp_shifting_uses_that_sp(mode: str) -> None:
    model = nn.Sequential(AnalogLinear(20, 10, three_crossings(),
                                       torch.Generator().manual_seed(0)))
    report = shift_to_symmetry_point(model, mode=mode)
    # per device: the tile's own alternating-pulse estimate; nominal: symmetry_point()
    assert report.sp_mean == pytest.approx(STABLE_LOW, abs=2e-3)
    assert report.sp_std < 1e-3


def test_sp_at_a_bound_warns_before_training(tmp_path: Path) -> None:
    up_wins = LutDevice("up-wins", np.full(33, 0.05), np.full(33, 0.01))  # up wins everywhere
    sp = symmetry_point(up_wins)
    assert sp.crossings == () and sp.at_bound and sp.value >= 0.98
    path = save_device(up_wins, tmp_path / "up-wins.json")
    cfg = tmp_path / "run.yaml"
    cfg.write_text("hidden: [8]\nval_size: 100\ntest_subset: 100\n")
    result = CliRunner().invoke(app, ["train", "--config", str(cfg), "--device", str(path),
                                      "--algorithm", "sgd", "--epochs", "1",
                                      "--train-subset", "64"])
    if result.exit_code == 2 and "MNIST not found" in result.stderr:
        pytest.skip("MNIST files not installed")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "warning: up-wins: SP at a bound" in text
    assert text.index("warning:") < text.index("epoch")  # before training
