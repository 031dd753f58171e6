"""pulsetrain vs AIHWKit where the semantics are the same (AIHWKit runs in its venv).

Each check returns :class:`Comparison` rows (quantity, both values, difference,
tolerance, pass/fail); ``scripts/crosscheck_aihwkit.py`` runs them all and writes
docs/validation.md.  Sizes are arguments so tests can run smaller versions.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.symmetry import estimate_symmetry_points
from pulsetrain.crossbar.tile import AnalogTile
from pulsetrain.devices.lut import LutDevice
from pulsetrain.devices.symmetry import symmetry_point_analytic
from pulsetrain.interop.aihwkit_params import aihwkit_granularity, to_piecewise_step
from pulsetrain.training.algorithms import MixedPrecisionSGD, StochasticPulseSGD
from pulsetrain.training.layers import build_mlp
from validation.aihwkit_bridge import run_aihwkit


@dataclass(frozen=True)
class Comparison:
    """One row of a cross-check table."""

    check: str
    quantity: str
    pulsetrain: float
    aihwkit: float
    difference: float
    tolerance: float
    aihwkit_runs: tuple[float, ...] = ()  # per-seed AIHWKit values, where the row has them

    @property
    def passed(self) -> bool:
        """Whether ``|difference| <= tolerance``."""
        return bool(abs(self.difference) <= self.tolerance)


def check_response(device: LutDevice, n_pulses: int = 300, seed: int = 0,
                   starts: tuple[float, ...] = (-0.9, -0.5, 0.0, 0.4, 0.85)
                   ) -> list[Comparison]:
    """Noise-free response to one fixed up/down sequence (runs of 1–40 pulses each way).

    The sequence is applied by AIHWKit's PiecewiseStepDevice (exported parameters) and
    by pulsetrain's tile kernel.  Per step: |pulsetrain's step from AIHWKit's previous
    state − AIHWKit's step| (tolerance 1e-6); also the largest gap between the two
    free-running trajectories (reported, float32 rounding can compound).
    """
    rng = np.random.default_rng(seed)
    directions: list[int] = []
    sign = 1
    while len(directions) < n_pulses:
        directions += [sign] * int(rng.integers(1, 41))
        sign = -sign
    directions = directions[:n_pulses]
    reply = run_aihwkit("response", device=to_piecewise_step(device.with_options(
        c2c_noise=0.0)), w0=list(starts), directions=directions)
    ai = np.asarray(reply["states"], np.float64)  # (pulses, devices)
    ai_prev = np.vstack([np.asarray(starts, np.float32)[None].astype(np.float64), ai[:-1]])
    dev = device.with_options(c2c_noise=0.0)
    # one step of pulsetrain's kernel from each of AIHWKit's states
    tile = AnalogTile(dev, ai_prev.shape[0], ai_prev.shape[1], torch.Generator())
    tile.w.copy_(torch.as_tensor(ai_prev, dtype=torch.float32))
    counts = torch.as_tensor(np.repeat(np.asarray(directions)[:, None], ai.shape[1], 1))
    tile.apply_pulse_counts(counts)
    per_step = np.abs(tile.w.double().numpy() - ai).max()
    # free-running trajectory
    traj = AnalogTile(dev, 1, len(starts), torch.Generator())
    traj.w.copy_(torch.as_tensor(starts, dtype=torch.float32)[None])
    gaps = []
    for k, dirn in enumerate(directions):
        traj.apply_pulse_counts(torch.full((1, len(starts)), dirn))
        gaps.append(np.abs(traj.w[0].double().numpy() - ai[k]).max())
    name = f"response {device.name}"
    return [
        Comparison(name, f"max per-step error over {n_pulses} pulses × {len(starts)} starts",
                   float(per_step), 0.0, float(per_step), 1e-6),
        Comparison(name, "max gap of free-running trajectories (reported)",
                   float(max(gaps)), 0.0, float(max(gaps)), float("inf")),
    ]


def pulse_stat_samples(n: int, n_in: int = 5, n_out: int = 4, seed: int = 0
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (x, δ): x ~ U(0.1, 1) (sigmoid-like), δ_i = μ_i·(1 + 0.5·N) with fixed
    per-output means of both signs, so ΔW has a clear sign per weight; with the default
    lr/dw_min BL management picks BL from a few slots up to the cap of 31."""
    g = torch.Generator().manual_seed(seed)
    x = 0.1 + 0.9 * torch.rand(n, n_in, generator=g)
    mu = torch.tensor([0.05, -0.08, 0.12, -0.16, 0.1, -0.06])[:n_out]
    d = mu * (1 + 0.5 * torch.randn(n, n_out, generator=g))
    return x, d


def check_pulse_stats(n_samples: int = 40_000, lr: float = 0.1, dw_min: float = 0.001,
                      seed: int = 0) -> list[Comparison]:
    """Plain stochastic-pulse SGD, update + BL management, BL 31, noise-free constant-step
    device: mean pulses per sample and ΔW per weight after ``n_samples`` samples (one
    update per sample on both sides).  Tolerance 2 % (relative).

    Why 40k: the smallest weight gets ≈ 2.7 pulses per sample, so ≈ 1.1e5 pulses whose
    count has a relative std ≈ 0.3 % per tool, ≈ 0.45 % for the difference; 2 % is > 4σ
    for each of the 20 weights.  With ``lr = 1`` every sample saturates (lr·max|x|·max|δ|
    /dw_min ≈ 300 ≫ BL): the regime where the management caps the input side (more
    pulses per sample, so fewer samples give the same precision)."""
    x, d = pulse_stat_samples(n_samples, seed=seed)
    reply = run_aihwkit("pulse_stats", x=x.tolist(), d=d.tolist(), lr=lr, dw_min=dw_min,
                        bl=31, update_management=True, bl_management=True, seed=seed + 1)
    ai_pulses = np.asarray(reply["pulses"]).sum() / n_samples
    ai_dw = np.asarray(reply["dw"])
    dev = LutDevice("constant-step", np.full(2, dw_min), np.full(2, dw_min), w_min=-1000.0,
                    w_max=1000.0)
    tile = AnalogTile(dev, d.shape[1], x.shape[1], torch.Generator())
    up, down = tile.pulsed_update(x, d, lr, seed=seed + 1)
    pt_pulses = (up + down) / n_samples
    pt_dw = tile.w.double().numpy()
    rel = (pt_dw - ai_dw) / np.abs(ai_dw)
    worst = int(np.argmax(np.abs(rel)))
    label = f"pulse statistics, lr {lr:g}" + (" (saturated: BL capped)" if lr >= 1 else "")
    return [
        Comparison(label, f"mean pulses per sample ({n_samples} samples)",
                   pt_pulses, float(ai_pulses), pt_pulses / ai_pulses - 1, 0.02),
        Comparison(label, "ΔW, worst weight (relative)",
                   float(pt_dw.flat[worst]), float(ai_dw.flat[worst]), float(rel.flat[worst]),
                   0.02),
        Comparison(label, "ΔW, mean |relative difference| over weights",
                   float(np.abs(pt_dw).mean()), float(np.abs(ai_dw).mean()),
                   float(np.abs(rel).mean()), 0.02),
    ]


def check_mp_transfer(rows: int = 4000, dw_min: float = 0.01, bl: int = 31,
                      seed: int = 0) -> list[Comparison]:
    """Mixed precision's transfer as pulse trains (``mp_transfer: pulse-trains``) against
    AIHWKit's ``MixedPrecisionCompound``: ``rows`` rows whose accumulators hold
    (4, 2, −1, 0, −4)·dw plus a remainder, one transfer each, noise-free constant-step
    device: the mean and the std of the pulses per device in each column (the first and
    last exactly ±4, the others Binomial(4, |n|/4): std 1 and 0.87).  Tolerances: 0.1 on
    means and stds (each tool's mean has a std ≤ 1/sqrt(rows) = 0.016: > 4σ for the
    difference)."""
    chi = np.array([4.0, 2.0, -1.0, 0.0, -4.0]) * dw_min + \
        np.array([0.1, 0.1, -0.1, -0.1, -0.1]) * dw_min
    reply = run_aihwkit("mp_transfer", chi=chi.tolist(), rows=rows, dw_min=dw_min, bl=bl,
                        seed=seed)
    ai = np.asarray(reply["pulses"])
    dev = LutDevice("constant-step", np.full(2, dw_min), np.full(2, dw_min), w_min=-1e6,
                    w_max=1e6)
    tile = AnalogTile(dev, rows, chi.size, torch.Generator())
    acc = torch.tensor(chi, dtype=torch.float32).repeat(rows, 1)
    tile.transfer_accumulator(acc, dw_min, dw_min, seed=seed + 1, bl=bl)
    pt = (tile.w.double() / dw_min).round().numpy()
    out = []
    for j, n in enumerate((4, 2, -1, 0, -4)):
        for what, f in (("mean", np.mean), ("std", np.std)):
            a, b = float(f(pt[:, j])), float(f(ai[:, j]))
            out.append(Comparison("mixed-precision transfer as pulse trains",
                                  f"pulses per device, count {n:+d}: {what}", a, b, a - b,
                                  0.1))
    return out


def _replay_both(dev: LutDevice, x: torch.Tensor, d: torch.Tensor, w0: torch.Tensor,
                 lr: float, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Final device states (float64) after both tools apply the same (x, δ) mini-batches
    with stochastic-pulse SGD (update + BL management, BL 31, AIHWKit's granularity),
    from ``w0``: (pulsetrain, AIHWKit)."""
    gran = aihwkit_granularity(dev)
    reply = run_aihwkit("drift", device=to_piecewise_step(dev), x=x.tolist(), d=d.tolist(),
                        w0=w0.tolist(), lr=lr, bl=31, update_management=True,
                        bl_management=True, seed=seed, batch_size=batch_size)
    out_n, in_n = w0.shape
    tile = AnalogTile(dev, out_n, in_n, torch.Generator())
    tile.w.copy_(w0)
    for k in range(0, len(x), batch_size):
        tile.pulsed_update(x[k:k + batch_size], d[k:k + batch_size], lr,
                           seed=k + 1_000_003 * seed, dw_min=gran)
    return tile.w.double().numpy(), np.asarray(reply["w"], np.float64)


def check_drift(device: LutDevice, lr: float = 0.05, n_samples: int = 4000,
                batch_size: int = 64, seeds: tuple[int, ...] = (0, 1, 2),
                shape: tuple[int, int] = (32, 48)) -> list[Comparison]:
    """Pulse statistics on a *non-linear, asymmetric* device: zero-mean random errors
    (δ ~ 0.05·N), sigmoid-like inputs (x ~ U(0, 1)), stochastic-pulse SGD with update + BL
    management and AIHWKit's granularity, from W = 0.  The weights only drift towards the
    symmetry point and spread; compare mean and std of the final weights, averaged over
    ``seeds`` (same data, independent pulse draws).

    Tolerance 0.03 (weight units): the 3-seed means' seed-to-seed std is ≈ 0.01 per tool
    (measured), so the difference's std is ≈ 0.01 and 0.03 is ≈ 3σ."""
    g = torch.Generator().manual_seed(1234)
    out_n, in_n = shape
    x = torch.rand(n_samples, in_n, generator=g)
    d = torch.randn(n_samples, out_n, generator=g) * 0.05
    dev = device.with_options(c2c_noise=0.0)
    pt_mean, pt_std, ai_mean, ai_std = [], [], [], []
    for s in seeds:
        pt, ai = _replay_both(dev, x, d, torch.zeros(shape), lr, batch_size, s)
        pt_mean.append(pt.mean())
        pt_std.append(pt.std())
        ai_mean.append(ai.mean())
        ai_std.append(ai.std())
    name = f"drift {device.name} (SP {symmetry_point_analytic(dev):.2f})"
    pm, am, ps, as_ = (float(np.mean(v)) for v in (pt_mean, ai_mean, pt_std, ai_std))
    return [
        Comparison(name, f"mean final weight, {n_samples} samples, batch {batch_size}, "
                   f"seeds {list(seeds)}", pm, am, pm - am, 0.03),
        Comparison(name, "std of the final weights", ps, as_, ps - as_, 0.03),
    ]


def check_backward(device: LutDevice, rows: int = 10, cols: int = 128, batch: int = 64,
                   seed: int = 0) -> list[Comparison]:
    """Back-propagated error Wᵀδ of one layer, outputs far beyond ±12 (weights near the
    device's upper bound, all-positive inputs, as a last layer whose weights drifted to
    the SP): pulsetrain's ideal MVM vs AIHWKit's AnalogLinear in the cross-checks' config.
    Tolerance 1e-4 relative (float32 sums over ``cols`` terms).  Before stop 9 AIHWKit ran
    with its default ``forward.out_bound`` and returned 0 for every such output."""
    from pulsetrain.crossbar.tile import AnalogTile

    g = torch.Generator().manual_seed(seed)
    hi = float(device.w_max)
    w = (0.5 + 0.4 * torch.rand(rows, cols, generator=g)) * hi
    x = torch.rand(batch, cols, generator=g)
    d = torch.randn(batch, rows, generator=g)
    tile = AnalogTile(device, rows, cols, torch.Generator())
    tile.set_weight(w)
    y = tile.forward(x)
    pt = tile.backward(d).double().numpy()
    reply = run_aihwkit("backward", device=to_piecewise_step(device.with_options(c2c_noise=0.0)),
                        w=tile.weight.tolist(), x=x.tolist(), d=d.tolist())
    ai = np.asarray(reply["grad_x"], np.float64)
    scale = float(np.abs(pt).max())
    return [Comparison(f"backward {device.name}",
                       f"max |Wᵀδ| difference / max |Wᵀδ|, {rows}×{cols} layer, outputs up "
                       f"to {float(y.abs().max()):.0f} ({float((y.abs() >= 12).float().mean()):.0%}"
                       " beyond ±12)", scale, float(np.abs(ai).max()),
                       float(np.abs(pt - ai).max() / scale), 1e-4)]


def _se_of_difference(a: list[float], b: list[float]) -> float:
    """Standard error of mean(a) − mean(b) from the two samples' spreads."""
    return float(np.hypot(np.std(a, ddof=1) / np.sqrt(len(a)), np.std(b, ddof=1) / np.sqrt(len(b))))


def check_replay(device: LutDevice, data: dict[str, np.ndarray], sizes: list[int],
                 lr: float = 0.05, n_batches: int = 150, batch_size: int = 64,
                 seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
                 periphery: str = "ideal") -> list[Comparison]:
    """Open-loop replay: record the (x, δ) mini-batches that pulsetrain's plain-SGD training
    of ``sizes`` feeds each layer over ``n_batches`` steps, then apply the same batches,
    from the same initial weights, with both tools' pulsed update.  Compares per layer the
    mean ΔW (the drift) and mean |ΔW|, averaged over ``seeds`` of the pulse draws.

    Tolerance: three standard errors of the difference of the two tools' seed means,
    from the per-seed spreads of both (a two-sided ~99.7 % band if the tools agree), but
    at least 2 % of AIHWKit's mean |ΔW|.  A fixed fraction is not enough: the last layer's
    drift over 150 batches differs by up to 30 % of |ΔW| between AIHWKit runs with the
    same seeds (its C++ RNG is not seeded by torch), so its spread must be measured.
    ``periphery``: the read-out of the recorded training (``aihwkit-default``: the noisy,
    quantised errors the update then sees)."""
    from pulsetrain.training.layers import analog_layers

    dev = device.with_options(c2c_noise=0.0)
    gran = aihwkit_granularity(dev)
    model = build_mlp(sizes, dev, seed=0, periphery=periphery)
    opt = StochasticPulseSGD(model, lr=lr, seed=0, granularity=gran)
    layers = analog_layers(model)
    w0 = [layer.tile.w.clone() for layer in layers]
    xs: list[list[torch.Tensor]] = [[] for _ in layers]
    ds: list[list[torch.Tensor]] = [[] for _ in layers]
    xtr, ytr = torch.as_tensor(data["x_train"]), torch.as_tensor(data["y_train"]).long()
    for k in range(n_batches):
        sl = slice(k * batch_size, (k + 1) * batch_size)
        opt.zero_grad()
        F.nll_loss(model(xtr[sl]), ytr[sl]).backward()  # type: ignore[no-untyped-call]
        for i, layer in enumerate(layers):
            assert layer.last_x is not None and layer.last_d is not None
            xs[i].append(layer.last_x.clone())
            ds[i].append(layer.last_d.clone())
        opt.step()
    rows = []
    for i in range(len(layers)):
        x, d = torch.cat(xs[i]), torch.cat(ds[i])
        stats: dict[str, list[float]] = {"pt_mean": [], "ai_mean": [], "pt_abs": [],
                                         "ai_abs": []}
        base = w0[i].double().numpy()
        for s in seeds:
            pt, ai = _replay_both(dev, x, d, w0[i], lr, batch_size, s)
            pt, ai = pt - base, ai - base
            stats["pt_mean"].append(pt.mean())
            stats["ai_mean"].append(ai.mean())
            stats["pt_abs"].append(np.abs(pt).mean())
            stats["ai_abs"].append(np.abs(ai).mean())
        m = {k: float(np.mean(v)) for k, v in stats.items()}
        tol = {q: max(3 * _se_of_difference(stats["pt_" + q], stats["ai_" + q]),
                      0.02 * m["ai_abs"]) for q in ("mean", "abs")}
        name = (f"replay {device.name}, layer {i} ({w0[i].shape[1]}→{w0[i].shape[0]})"
                + ("" if periphery == "ideal" else f", {periphery} read-out"))
        rows += [Comparison(name, f"mean ΔW over {n_batches} recorded batches, seeds "
                            f"{list(seeds)} (tolerance: 3 SE of the difference)",
                            m["pt_mean"], m["ai_mean"], m["pt_mean"] - m["ai_mean"],
                            tol["mean"]),
                 Comparison(name, "mean |ΔW|", m["pt_abs"], m["ai_abs"],
                            m["pt_abs"] - m["ai_abs"], tol["abs"])]
    return rows


def _pt_train(device: LutDevice, algorithm: str, sizes: list[int], lr: float, epochs: int,
              batch_size: int, seed: int, data: dict[str, np.ndarray]) -> float:
    model = build_mlp(sizes, device, seed=seed)
    granularity = aihwkit_granularity(device)
    opt: torch.optim.Optimizer
    if algorithm == "sgd":
        opt = StochasticPulseSGD(model, lr=lr, seed=seed, granularity=granularity)
    else:
        opt = MixedPrecisionSGD(model, lr=lr, epsilon=granularity, seed=seed)
    xtr, ytr = torch.as_tensor(data["x_train"]), torch.as_tensor(data["y_train"]).long()
    xte, yte = torch.as_tensor(data["x_test"]), torch.as_tensor(data["y_test"]).long()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(ytr), generator=gen)
        for k in range(0, len(ytr), batch_size):
            idx = perm[k:k + batch_size]
            opt.zero_grad()
            F.nll_loss(model(xtr[idx]), ytr[idx]).backward()  # type: ignore[no-untyped-call]
            opt.step()
    with torch.no_grad():
        return float((model(xte).argmax(1) == yte).float().mean())


def check_training(device: LutDevice, data: dict[str, np.ndarray], algorithms: dict[str, float],
                   sizes: list[int], epochs: int = 3, batch_size: int = 64,
                   seeds: tuple[int, ...] = (0, 1, 2)) -> list[Comparison]:
    """Same MLP, device (AIHWKit's granularity on both sides), data, lr; mean final test
    accuracy over ``seeds`` (percent) within 1.5 points.  ``algorithms`` maps
    ``"sgd"``/``"mixed-precision"`` to the learning rate."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, x_train=data["x_train"], y_train=data["y_train"],
                 x_test=data["x_test"], y_test=data["y_test"])
        params = to_piecewise_step(device.with_options(c2c_noise=0.0))
        for alg, lr in algorithms.items():
            pt, ai = [], []
            for s in seeds:
                pt.append(100 * _pt_train(device.with_options(c2c_noise=0.0), alg, sizes, lr,
                                          epochs, batch_size, s, data))
                reply = run_aihwkit("train", device=params, algorithm=alg, sizes=sizes, lr=lr,
                                    epochs=epochs, batch_size=batch_size, seed=s,
                                    data=str(path))
                ai.append(100 * reply["test_accuracy"][-1])
            se = _se_of_difference(pt, ai) if len(seeds) > 1 else float("nan")
            rows.append(Comparison(
                f"training {device.name}",
                f"{alg}: mean test accuracy % over seeds {list(seeds)} "
                f"(pt {', '.join(f'{a:.1f}' for a in pt)}; ai {', '.join(f'{a:.1f}' for a in ai)}; "
                f"standard error of the difference {se:.2f})",
                float(np.mean(pt)), float(np.mean(ai)), float(np.mean(pt) - np.mean(ai)), 1.5,
                aihwkit_runs=tuple(ai)))
    return rows


def check_symmetry_point(rows: int = 8, cols: int = 10, seed: int = 0) -> list[Comparison]:
    """SoftBoundsReferenceDevice (up_down 0.3, d2d on steps and up/down): AIHWKit's
    per-device reference (its analytic SP) vs pulsetrain's analytic SP and its SP found by
    alternating pulses on the same per-device steps.  Tolerances 1e-5 and 2e-3."""
    sb = {"dw_min": 0.002, "up_down": 0.3, "w_max": 1.0, "w_min": -1.0, "dw_min_dtod": 0.1,
          "up_down_dtod": 0.05, "w_max_dtod": 0.0, "w_min_dtod": 0.0}
    reply = run_aihwkit("symmetry_point", device=sb, rows=rows, cols=cols, seed=seed)
    ref = np.asarray(reply["reference"], np.float64)
    up = np.asarray(reply["dwmin_up"], np.float64)
    down = np.asarray(reply["dwmin_down"], np.float64)
    # soft bounds on [-1, 1]: Δw_up = up·(1 − w), Δw_down = down·(1 + w): a 2-node table
    unit = LutDevice("soft-bounds", np.array([2.0, 0.0]), np.array([0.0, 2.0]))
    analytic = np.array([symmetry_point_analytic(LutDevice("sb", np.array([2 * u, 0.0]),
                                                           np.array([0.0, 2 * v])))
                         for u, v in zip(up.ravel(), down.ravel(), strict=True)])
    dt = DeviceTensors.draw(unit, ref.shape, torch.Generator())
    dt.gain_up.copy_(torch.as_tensor(up, dtype=torch.float32))
    dt.gain_down.copy_(torch.as_tensor(down, dtype=torch.float32))
    est = estimate_symmetry_points(dt, max_pulses=200_000)
    by_pulses = est.value.double().numpy().ravel()
    d_an = np.abs(analytic - ref.ravel()).max()
    d_pu = np.abs(by_pulses - ref.ravel()).max()
    n = ref.size
    return [
        Comparison("symmetry point", f"analytic SP, max |diff| over {n} devices "
                   f"(SP {ref.min():.3f}–{ref.max():.3f})", float(analytic.mean()),
                   float(ref.mean()), float(d_an), 1e-5),
        Comparison("symmetry point", f"SP by alternating pulses, max |diff| over {n} devices "
                   f"({est.converged_fraction:.0%} converged, {est.pulses} pulses)",
                   float(by_pulses.mean()), float(ref.mean()), float(d_pu), 2e-3),
    ]


IO_CASES: dict[str, dict[str, Any]] = {
    "DAC (inp_res 1/126)": {"inp_res": 1 / 126, "out_res": 0, "out_noise": 0, "out_bound": 0,
                           "bound_management": "none"},
    "ADC (out_res 1/510, ±12)": {"inp_res": 0, "out_noise": 0, "bound_management": "none"},
    "output noise 0.06": {"inp_res": 0, "out_res": 0, "out_bound": 0,
                          "bound_management": "none"},
    "output bound ±12 (no management)": {"inp_res": 0, "out_res": 0, "out_noise": 0,
                                         "bound_management": "none"},
    "bound management (iterative)": {"inp_res": 0, "out_res": 0, "out_noise": 0},
    "weight noise 0.02 (additive)": {"inp_res": 0, "out_res": 0, "out_noise": 0,
                                     "out_bound": 0, "bound_management": "none",
                                     "w_noise": 0.02, "w_noise_type": "additive-constant"},
    "aihwkit-default (all)": {},
}
"""Each IO feature alone (others off), and AIHWKit's full default (pulsetrain's
``aihwkit-default`` preset).  Noise management abs-max is on in all (AIHWKit's default)."""


def io_samples(n: int = 10_000, n_in: int = 64, n_out: int = 16, seed: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights scaled so that a sizeable share of outputs exceed the ±12 bound, inputs
    and errors."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n_out, n_in, generator=gen) * 2.0
    x = torch.randn(n, n_in, generator=gen)
    d = torch.randn(n, n_out, generator=gen)
    return w, x, d


def _io_stats(y: torch.Tensor, scale: torch.Tensor, bound: float, step: float
              ) -> dict[str, float]:
    z = y / scale[:, None]
    clipped = float((z.abs() >= 0.999 * bound).float().mean()) if bound > 0 else 0.0
    levels = float(torch.unique(torch.round(z / step)).numel()) if step > 0 else float("nan")
    return {"mean": float(y.mean()), "std": float(y.std()), "clipped": clipped,
            "levels": levels}


def check_io(cases: dict[str, dict[str, Any]] | None = None, n: int = 10_000,
             seed: int = 0) -> list[Comparison]:
    """Forward and backward output statistics of pulsetrain's read-out vs AIHWKit's for each
    case of :data:`IO_CASES`: mean and std (tolerance 2 % of AIHWKit's std), clipped share
    of outputs (0.02 absolute), distinct ADC levels (2 %), and for noise-free cases the
    largest elementwise difference."""
    from pulsetrain.crossbar.periphery import IOParams, IOPeriphery

    w, x, d = io_samples(n, seed=seed)
    rows: list[Comparison] = []
    for name, spec in (cases or IO_CASES).items():
        fwd = IOParams.model_validate(spec)
        bwd = IOParams.model_validate({**spec, "bound_management": "none"})
        reply = run_aihwkit("io_stats", w=w.tolist(), x=x.tolist(), d=d.tolist(),
                            forward=spec, backward=spec, seed=seed)
        p = IOPeriphery(fwd, bwd, mask_backward_at_bound=False, seed=seed)
        ours_y, ours_dx = p.forward(x, w), p.backward(d, w)
        theirs_y = torch.tensor(reply["y"])
        theirs_dx = torch.tensor(reply["dx"])
        for direction, ours, theirs, inputs, prm in (
                ("forward", ours_y, theirs_y, x, fwd), ("backward", ours_dx, theirs_dx, d, bwd)):
            alpha = inputs.abs().amax(dim=1)
            a = _io_stats(ours, alpha, prm.out_limit if prm.out_bound > 0 else 0.0,
                          prm.out_step)
            b = _io_stats(theirs, alpha, prm.out_limit if prm.out_bound > 0 else 0.0,
                          prm.out_step)
            label = f"{name}, {direction}"
            tol = 0.02 * b["std"]
            rows.append(Comparison(label, "mean", a["mean"], b["mean"], a["mean"] - b["mean"],
                                   tol))
            rows.append(Comparison(label, "std", a["std"], b["std"], a["std"] - b["std"], tol))
            rows.append(Comparison(label, "clipped share", a["clipped"], b["clipped"],
                                   a["clipped"] - b["clipped"], 0.02))
            if not math.isnan(a["levels"]):
                rows.append(Comparison(label, "distinct ADC levels", a["levels"], b["levels"],
                                       a["levels"] - b["levels"], 0.02 * b["levels"]))
            if prm.out_noise == 0 and prm.w_noise == 0 and prm.inp_noise == 0:
                # noise-free: equal up to float32 summation order, which can move a value
                # across an ADC threshold: count outputs one level (or more) apart
                level = prm.out_step * alpha[:, None] if prm.out_step > 0 else None
                gap = (ours - theirs).abs()
                tiny = 1e-4 * float(theirs.abs().max())
                share = float((gap > tiny).float().mean())
                rows.append(Comparison(label, "share of outputs not equal (noise-free)", share,
                                       0.0, share, 0.001))
                if level is not None:
                    most = float((gap / level).max())
                    rows.append(Comparison(label, "largest gap in ADC levels", most, 0.0,
                                           most, 1.0 + 1e-3))
    return rows


def check_network_read_out(device: LutDevice, x: torch.Tensor, y: torch.Tensor,
                           max_tile_inputs: int = 0, weight_scale: float = 1.0,
                           seed: int = 5) -> list[Comparison]:
    """AIHWKit's default read-out without output noise (so both tools are deterministic),
    on the thesis network 784-256-128-10 with weights uniform in ``±weight_scale``
    (clipped to the device's bounds; at 1.0 outputs pass ±12 and bound management, the
    ADC clip and the gradient mask all act): the network's outputs and every tile's
    input and error (what the update receives) agree to float32 summation order
    (tolerance 1e-5 of each quantity's largest magnitude).  ``max_tile_inputs`` 512 with
    AIHWKit's default mapping (the published study's): the first layer on two tiles."""
    from pulsetrain.training.layers import AnalogLinear, TiledAnalogLinear, analog_layers

    sizes = [784, 256, 128, 10]
    quiet = {"forward": {"out_noise": 0.0}, "backward": {"out_noise": 0.0}}
    model = build_mlp(sizes, device, seed=1, periphery="aihwkit-default",
                      periphery_options=quiet, max_tile_inputs=max_tile_inputs)
    g = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for module in model:
        if isinstance(module, (AnalogLinear, TiledAnalogLinear)):
            n_out, n_in = module.out_features, module.in_features
            w = ((torch.rand(n_out, n_in, generator=g) * 2 - 1) * weight_scale).clamp(
                device.w_min, device.w_max)
            if isinstance(module, TiledAnalogLinear):
                for (r0, r1, c0, c1), tile in zip(module.blocks(), module.tile_layers(),
                                                  strict=True):
                    tile.tile.set_weight(w[r0:r1, c0:c1].contiguous())
            else:
                module.tile.set_weight(w)
            assert module.bias is not None
            weights.append(w.tolist())
            biases.append(module.bias.detach().tolist())
    reply = run_aihwkit("network_read_out", device=to_piecewise_step(device), sizes=sizes,
                        weights=weights, biases=biases, x=x.tolist(), y=y.tolist(),
                        io=quiet, thesis_mapping=max_tile_inputs == 512)
    model.train()
    out = model(x)
    F.nll_loss(out, y).backward()  # type: ignore[no-untyped-call]
    layers = analog_layers(model)
    name = (f"network read-out {device.name}, weights ±{weight_scale:g}, "
            + (f"{max_tile_inputs}-input tiles" if max_tile_inputs else "one tile per layer"))
    theirs = np.asarray(reply["out"])
    rows = [Comparison(name, f"outputs (largest |y| {np.abs(theirs).max():.1f}), max |Δ|",
                       float(np.abs(out.detach().numpy()).max()), float(np.abs(theirs).max()),
                       float(np.abs(out.detach().numpy() - theirs).max()),
                       1e-5 * float(np.abs(theirs).max()))]
    if len(reply["d"]) != len(layers):
        rows.append(Comparison(name, "number of tiles", len(layers), len(reply["d"]),
                               len(layers) - len(reply["d"]), 0.0))
        return rows
    for k, layer in enumerate(layers):
        assert layer.last_x is not None and layer.last_d is not None
        for what, ours, their in (("input", layer.last_x, reply["x"][k]),
                                  ("error", layer.last_d, reply["d"][k])):
            a, b = ours.numpy(), np.asarray(their)
            rows.append(Comparison(name, f"tile {k} ({tuple(layer.tile.weight.shape)}) "
                                   f"{what}, max |Δ|", float(np.abs(a).max()),
                                   float(np.abs(b).max()), float(np.abs(a - b).max()),
                                   1e-5 * float(np.abs(b).max())))
    return rows
