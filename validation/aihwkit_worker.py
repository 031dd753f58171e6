"""AIHWKit side of the cross-checks: run *inside the AIHWKit venv*, never imported by pulsetrain.

    .venv-aihwkit/bin/python aihwkit_worker.py < request.json > reply.json

The request is ``{"task": NAME, ...}``; the reply is one JSON object.  This file
imports only AIHWKit, torch and numpy (pulsetrain is not installed in that venv),
so :mod:`validation.aihwkit_bridge` runs it as a script in a subprocess.
Tasks: ``version``, ``response``, ``pulse_stats``, ``mp_transfer``,
``update_throughput``, ``drift``,
``backward``, ``io_stats``, ``symmetry_point``, ``fit_measurements``, ``thesis_recipe``,
``train`` (optionally from given initial weights, with
the weights after each epoch), ``throughput``.
"""
# mypy: ignore-errors

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

NOISE_FREE = {"dw_min_dtod": 0.0, "up_down_dtod": 0.0, "w_min_dtod": 0.0, "w_max_dtod": 0.0,
              "dw_min_std": 0.0, "write_noise_std": 0.0}


def _piecewise(params: dict):
    from aihwkit.simulator.configs import PiecewiseStepDevice

    p = dict(params)
    p.pop("class", None)
    return PiecewiseStepDevice(**p)


def _single_config(device, bl: int = 31, um: bool = True, blm: bool = True):
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.parameters.enums import PulseType

    cfg = SingleRPUConfig(device=device)
    cfg.update.pulse_type = PulseType.STOCHASTIC_COMPRESSED
    cfg.update.desired_bl = bl
    cfg.update.update_management = um
    cfg.update.update_bl_management = blm
    _ideal_mvm(cfg)
    _one_tile_per_layer(cfg)
    return cfg


def _ideal_mvm(cfg) -> None:
    """Ideal forward and backward MVMs, as pulsetrain's.  ``is_perfect`` alone is not
    enough: AIHWKit still zeroes the back-propagated error of every output at or beyond
    ``forward.out_bound`` (12 by default, a gradient mask applied even to perfect
    MVMs); ``out_bound = 0`` removes that mask."""
    cfg.forward.is_perfect = True
    cfg.backward.is_perfect = True
    cfg.forward.out_bound = 0.0


def _one_tile_per_layer(cfg) -> None:
    """No splitting of big layers into 512-wide tiles (pulsetrain uses one tile per
    layer, and the split changes per-tile update management); digital biases."""
    cfg.mapping.max_input_size = 0
    cfg.mapping.max_output_size = 0
    cfg.mapping.digital_bias = True


def _granularity(device) -> float:
    up = list(device.piecewise_up)
    return float(device.dw_min * up[len(up) // 2])


def task_version(req: dict) -> dict:
    import aihwkit

    return {"aihwkit": aihwkit.__version__, "torch": torch.__version__}


def task_response(req: dict) -> dict:
    """States of len(w0) devices after each pulse of a shared up/down sequence."""
    dev = _piecewise({**req["device"], **NOISE_FREE})
    cfg = _single_config(dev, bl=1, um=False, blm=False)
    w0 = torch.tensor(req["w0"], dtype=torch.float32)
    tile = _tile(cfg, w0[:, None], _granularity(dev))  # lr = granularity, BL 1: p = q = 1
    x = torch.ones(1, 1)
    states = []
    for direction in req["directions"]:
        # ΔW = −lr·d·x: d = −1 is an up pulse on every device
        tile.update(x, torch.full((1, len(w0)), -float(direction)))
        states.append(tile.get_weights()[0][:, 0].tolist())
    return {"states": states}


def task_fit_measurements(req: dict) -> dict:
    """The thesis recipe's trace fit as the thesis ran it (DOMAIN.md §11): AIHWKit's own
    ``fit_measurements`` (lmfit, Powell) on a ``PiecewiseStepDevice``; needs ``lmfit``.

    Request: ``w`` (the measured weight trace), ``labels`` (+1 up / −1 down per point),
    ``dw_min``, ``piecewise_up``, ``piecewise_down``; optional ``order`` of the fitted
    parameters (default ``up_down, w_max, w_min``).  Reply: the fitted scalars, the
    simulated trace and lmfit's evaluation count."""
    from aihwkit.simulator.configs import PiecewiseStepDevice
    from aihwkit.utils.fitting import fit_measurements

    ranges = {"up_down": (0.0, -0.99, 0.99), "w_max": (1.0, 0.1, 2.0),
              "w_min": (-1.0, -2.0, -0.1)}
    order = req.get("order", ["up_down", "w_max", "w_min"])
    params = {"dw_min": float(req["dw_min"]), **{k: ranges[k] for k in order}}
    device = PiecewiseStepDevice(construction_seed=2024,
                                 piecewise_up=list(req["piecewise_up"]),
                                 piecewise_down=list(req["piecewise_down"]))
    pulses = np.asarray(req["labels"], dtype=float)
    response = np.asarray(req["w"], dtype=float)
    result, _, trace = fit_measurements(params, pulses, response, device)
    values = result.params.valuesdict()
    return {"up_down": float(values["up_down"]), "w_min": float(values["w_min"]),
            "w_max": float(values["w_max"]), "trace": np.asarray(trace).ravel().tolist(),
            "nfev": int(result.nfev)}


def task_thesis_recipe(req: dict) -> dict:
    """The whole thesis recipe written from DOMAIN.md §11 alone, independently of
    pulsetrain's code, then ``fit_measurements``: the oracle for ``get_recipe("thesis")``.

    Request: ``amplitude_v``, ``conductance_s`` of one repetition and its ``window``
    ``(VStartPos, VEndPos, VStartNeg, VEndNeg)``.  Pulses strictly inside the window and
    on the rising half of their polarity's ramp (the thesis kept those, docs/data-formats.md)
    are kept, positive branch first; G is normalised as 2(G − mean G)/(max G − min G);
    per branch the steps are ``np.gradient`` of its weights, a degree-5 ``Polynomial.fit``
    of step vs weight is sampled at ``linspace(−1, 1, 32)`` (absolute values, last up and
    first down node 0), ``dw_min`` = the smaller fitted |step| at 0, nodes / dw_min."""
    from numpy.polynomial import Polynomial

    v = np.asarray(req["amplitude_v"], dtype=float)
    g = np.asarray(req["conductance_s"], dtype=float)
    a, b, c, d = req["window"]
    rising = np.zeros(v.size, dtype=bool)
    peak, sign = 0.0, 0.0
    for k, volt in enumerate(v):
        if volt != 0 and np.sign(volt) != sign:
            sign, peak = float(np.sign(volt)), 0.0
        rising[k] = abs(volt) >= peak
        peak = max(peak, abs(volt))
    pos = (v > a) & (v < b) & rising
    neg = (v < c) & (v > d) & rising
    kept = np.concatenate([g[pos], g[neg]])
    w = 2 * (kept - kept.mean()) / (kept.max() - kept.min())
    n_down = int(pos.sum())
    nodes, at0 = {}, {}
    for name, branch in (("down", w[:n_down]), ("up", w[n_down:])):
        poly = Polynomial.fit(branch, np.gradient(branch), 5)
        nodes[name] = np.abs(poly(np.linspace(-1, 1, 32)))
        at0[name] = abs(float(poly(0.0)))
    nodes["up"][-1] = 0.0
    nodes["down"][0] = 0.0
    dw_min = min(at0.values())
    labels = np.concatenate([-np.ones(n_down), np.ones(w.size - n_down)])
    fit = task_fit_measurements({"w": w.tolist(), "labels": labels.tolist(), "dw_min": dw_min,
                                 "piecewise_up": (nodes["up"] / dw_min).tolist(),
                                 "piecewise_down": (nodes["down"] / dw_min).tolist()})
    return {**fit, "dw_min": dw_min, "piecewise_up": (nodes["up"] / dw_min).tolist(),
            "piecewise_down": (nodes["down"] / dw_min).tolist(), "n_down": n_down,
            "n_up": int(w.size - n_down), "w": w.tolist()}


def _tile(cfg, w0: torch.Tensor, lr: float):
    """An AIHWKit tile of ``w0``'s shape holding ``w0``, learning rate ``lr``."""
    from aihwkit.simulator.tiles import AnalogTile

    tile = AnalogTile(w0.shape[0], w0.shape[1], cfg)
    tile.set_learning_rate(lr)
    tile.set_weights(w0)
    return tile


def _counting_tile(dw: float, rows: int, cols: int, lr: float, bl: int = 31,
                   um: bool = True, blm: bool = True):
    """Noise-free constant-step tile with unreachable bounds: |ΔW|/dw counts pulses."""
    from aihwkit.simulator.configs import ConstantStepDevice

    noise_free = {k: v for k, v in NOISE_FREE.items() if k != "write_noise_std"}
    dev = ConstantStepDevice(dw_min=dw, w_min=-1e6, w_max=1e6, **noise_free)
    return _tile(_single_config(dev, bl, um, blm), torch.zeros(rows, cols), lr)


def _count_pulses(tile, x: torch.Tensor, d: torch.Tensor, dw: float) -> torch.Tensor:
    """Pulses per weight over the samples, one sample per update (a weight moves one way
    per sample, so |ΔW|/dw is exact on a constant-step tile)."""
    w_prev = tile.get_weights()[0].double()
    pulses = torch.zeros_like(w_prev)
    for b in range(x.shape[0]):
        tile.update(x[b:b + 1], d[b:b + 1])
        w = tile.get_weights()[0].double()
        pulses += ((w - w_prev).abs() / dw).round()
        w_prev = w
    return pulses


def task_pulse_stats(req: dict) -> dict:
    """Per-sample pulse counts on a noise-free constant-step device: |ΔW|/dw per sample."""
    dw = float(req["dw_min"])
    torch.manual_seed(req["seed"])
    x = torch.tensor(req["x"], dtype=torch.float32)
    d = torch.tensor(req["d"], dtype=torch.float32)
    tile = _counting_tile(dw, d.shape[1], x.shape[1], req["lr"], req["bl"],
                          req["update_management"], req["bl_management"])
    pulses = _count_pulses(tile, x, d, dw)
    return {"pulses": pulses.tolist(), "dw": tile.get_weights()[0].double().tolist()}


def task_mp_transfer(req: dict) -> dict:
    """Mixed precision's transfer on a noise-free constant-step device: every row's
    accumulator holds ``counts``·dw (+ a remainder), one transfer; returns the pulses per
    device (ΔW/dw).  AIHWKit transfers every ``m_batch`` vector updates once the update
    counter is past 0: a second, all-zero update triggers the transfer of the first."""
    from aihwkit.simulator.configs import (
        ConstantStepDevice,
        DigitalRankUpdateRPUConfig,
        MixedPrecisionCompound,
    )

    dw = float(req["dw_min"])
    noise_free = {k: v for k, v in NOISE_FREE.items() if k != "write_noise_std"}
    dev = ConstantStepDevice(dw_min=dw, w_min=-1e6, w_max=1e6, **noise_free)
    cfg = DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=dev))
    cfg.update.desired_bl = int(req["bl"])
    _ideal_mvm(cfg)
    _one_tile_per_layer(cfg)
    torch.manual_seed(req["seed"])
    chi = torch.tensor(req["chi"], dtype=torch.float32)  # one row's accumulator
    rows = int(req["rows"])
    tile = _tile(cfg, torch.zeros(rows, chi.numel()), 1.0)
    d = -torch.ones(1, rows)  # W −= lr·d·xᵀ: χ = x on every row
    tile.update(chi[None], d)
    tile.update(torch.zeros_like(chi)[None], torch.zeros_like(d))
    return {"pulses": (tile.get_weights()[0].double() / dw).round().tolist()}


def task_update_throughput(req: dict) -> dict:
    """Samples/s of the pulsed update alone on a tile of ``device`` (piecewise-step
    parameters) fed with given (x, d) mini-batches; plus exact pulses per sample over the
    first ``count_samples`` samples, counted on a noise-free constant-step device with the
    same granularity (the trains do not depend on the device response)."""
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    data = np.load(req["data"])
    x, d = torch.tensor(data["x"]), torch.tensor(data["d"])
    dev = _piecewise({**req["device"], **NOISE_FREE})
    gran = _granularity(dev)
    n_count = req["count_samples"]
    counter = _counting_tile(gran, d.shape[1], x.shape[1], req["lr"])
    pulses = float(_count_pulses(counter, x[:n_count], d[:n_count], gran).sum())
    tile = _tile(_single_config(dev), torch.zeros(d.shape[1], x.shape[1]), req["lr"])
    bs = req["batch_size"]
    tile.update(x[:bs], d[:bs])  # warm-up, as on pulsetrain's side
    best = 0.0
    for _ in range(req.get("repeats", 1)):  # best of the passes over the samples
        t0 = time.perf_counter()
        for k in range(0, x.shape[0], bs):
            tile.update(x[k:k + bs], d[k:k + bs])
        best = max(best, x.shape[0] / (time.perf_counter() - t0))
    return {"samples_per_second": best, "pulses_per_sample": pulses / max(1, n_count)}


def task_drift(req: dict) -> dict:
    """Final weights of a noise-free piecewise-step tile after stochastic-pulse SGD updates
    with given (x, d) mini-batches (samples in order), from given initial weights."""
    dev = _piecewise({**req["device"], **NOISE_FREE})
    cfg = _single_config(dev, req["bl"], req["update_management"], req["bl_management"])
    torch.manual_seed(req["seed"])
    x = torch.tensor(req["x"], dtype=torch.float32)
    d = torch.tensor(req["d"], dtype=torch.float32)
    tile = _tile(cfg, torch.tensor(req["w0"], dtype=torch.float32), req["lr"])
    bs = req["batch_size"]
    for k in range(0, x.shape[0], bs):
        tile.update(x[k:k + bs], d[k:k + bs])
    return {"w": tile.get_weights()[0].tolist()}


def task_backward(req: dict) -> dict:
    """Error that an AnalogLinear (the cross-checks' ideal-MVM config) back-propagates to
    its input: autograd of ``sum(y·δ)`` with respect to x, for given W, x, δ."""
    from aihwkit.nn import AnalogLinear

    dev = _piecewise({**req["device"], **NOISE_FREE})
    w = torch.tensor(req["w"], dtype=torch.float32)
    layer = AnalogLinear(w.shape[1], w.shape[0], bias=False, rpu_config=_single_config(dev))
    layer.set_weights(w)
    x = torch.tensor(req["x"], dtype=torch.float32, requires_grad=True)
    y = layer(x)
    y.backward(torch.tensor(req["d"], dtype=torch.float32))
    return {"y": y.detach().tolist(), "grad_x": x.grad.tolist()}


def task_symmetry_point(req: dict) -> dict:
    """Per-device SP that SoftBoundsReferenceDevice subtracts, with its per-device steps."""
    from aihwkit.simulator.configs import SingleRPUConfig, SoftBoundsReferenceDevice
    from aihwkit.simulator.tiles import AnalogTile

    torch.manual_seed(req["seed"])
    dev = SoftBoundsReferenceDevice(subtract_symmetry_point=True, reference_mean=0.0,
                                    reference_std=0.0, dw_min_std=0.0, write_noise_std=0.0,
                                    **req["device"])
    tile = AnalogTile(req["rows"], req["cols"], SingleRPUConfig(device=dev))
    hp = tile.get_hidden_parameters()
    keys = ("reference", "dwmin_up", "dwmin_down", "max_bound", "min_bound")
    return {k: hp[k].tolist() for k in keys}


def _model(sizes, cfg):
    from aihwkit.nn import AnalogLinear, AnalogSequential

    layers = []
    for k in range(len(sizes) - 1):
        layers.append(AnalogLinear(sizes[k], sizes[k + 1], bias=True, rpu_config=cfg))
        layers.append(torch.nn.Sigmoid() if k < len(sizes) - 2 else torch.nn.LogSoftmax(dim=1))
    return AnalogSequential(*layers)


def task_train(req: dict) -> dict:
    """Train an MLP with AIHWKit (plain pulsed SGD, SP-shifted SGD, mixed precision, or
    the Tiki-Taka presets ``ttv2``, ``c-ttv2``, ``agad`` — then ``transfers`` gives each
    layer's transfer events).

    SP shifting (``algorithm: sp-shift``, ``sp``: the reference value) uses a
    ReferenceUnitCell: the second device of each pair holds the reference, the first
    starts at W_init + SP, so the weight starts at W_init.

    Optional fields: ``lr_step`` ``[step_epochs, gamma]`` (StepLR), ``ideal_mvm`` (default
    true; false keeps AIHWKit's default output bound of 12 for plain SGD), ``init``
    (initial weights and biases), ``weights`` (return the weights after each epoch),
    ``default_io`` (AIHWKit's default IOParameters forward and backward),
    ``thesis_mapping`` (AIHWKit's default mapping — the 784-input layer split into two
    tiles — and the device fields the published study left at their defaults), ``io``
    (``{forward: {...}, backward: {...}}``: IOParameters fields to override, by
    pulsetrain's names)."""
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import DigitalRankUpdateRPUConfig, MixedPrecisionCompound

    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    dev = _piecewise({**req["device"], **NOISE_FREE})
    if req["algorithm"] in ("sgd", "sp-shift"):
        if req["algorithm"] == "sp-shift":  # weight = device − reference (fixed at the SP)
            from aihwkit.simulator.configs import ReferenceUnitCell

            dev = ReferenceUnitCell(unit_cell_devices=[dev, dev])
        cfg = _single_config(dev, req.get("bl", 31))
        if not req.get("ideal_mvm", True):  # AIHWKit's default gradient mask at |y| >= 12
            cfg.forward.out_bound = 12.0
    elif req["algorithm"] == "mixed-precision":
        cfg = DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=dev))
        _ideal_mvm(cfg)
        _one_tile_per_layer(cfg)
    elif req["algorithm"] in ("ttv2", "c-ttv2", "agad"):  # the presets' transfer settings
        from aihwkit.simulator.configs import build_config

        cfg = build_config(req["algorithm"], dev)
        _ideal_mvm(cfg)  # perfect forward/backward; the transfer read keeps its default IO
        _one_tile_per_layer(cfg)
    else:
        raise ValueError(f"unknown algorithm {req['algorithm']!r}")
    _read_out_and_mapping(cfg, req)
    data = np.load(req["data"])
    xtr, ytr = torch.tensor(data["x_train"]), torch.tensor(data["y_train"]).long()
    xte, yte = torch.tensor(data["x_test"]), torch.tensor(data["y_test"]).long()
    torch.manual_seed(req["seed"])
    model = _model(req["sizes"], cfg)
    analog = [m for m in model.modules() if m.__class__.__name__ == "AnalogLinear"]
    if req.get("init"):  # same initial weights and biases as the other tool
        for layer, (w, b) in zip(analog, req["init"], strict=True):
            layer.set_weights(torch.tensor(w, dtype=torch.float32),
                              torch.tensor(b, dtype=torch.float32))
    if req["algorithm"] == "sp-shift":  # reference at the SP, device at W_init + SP
        for tile in model.analog_tiles():
            w = tile.tile.get_weights()
            sp = torch.full_like(w, float(req["sp"]))
            tile.set_hidden_update_index(1)
            tile.tile.set_weights(sp)
            tile.set_hidden_update_index(0)
            tile.tile.set_weights(w + sp)
    opt = AnalogSGD(model.parameters(), lr=req["lr"])
    opt.regroup_param_groups(model)
    sched = (torch.optim.lr_scheduler.StepLR(opt, *req["lr_step"]) if req.get("lr_step")
             else None)
    gen = torch.Generator().manual_seed(req["seed"])
    bs = req["batch_size"]
    accs, times, weights = [], [], []
    for _ in range(req["epochs"]):
        t0 = time.perf_counter()
        perm = torch.randperm(len(ytr), generator=gen)
        model.train()
        for k in range(0, len(ytr), bs):
            idx = perm[k:k + bs]
            opt.zero_grad()
            torch.nn.functional.nll_loss(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        if sched is not None:
            sched.step()
        model.eval()
        with torch.no_grad():
            accs.append(float((model(xte).argmax(1) == yte).float().mean()))
        if req.get("weights"):
            weights.append([layer.get_weights()[0].tolist() for layer in analog])
    transfers = []
    if req["algorithm"] in ("ttv2", "c-ttv2", "agad"):  # transfer events per layer
        for tile in model.analog_tiles():
            extra = tile.tile.dump_extra()
            count = np.asarray(extra["rpu.rpu_device.current_update_idx"]).ravel()
            transfers.append(int(count[0]))
    return {"test_accuracy": accs, "epoch_seconds": times, "weights": weights,
            "transfers": transfers}


def task_throughput(req: dict) -> dict:
    """Training samples/s of AIHWKit (and float torch in this same process) on given data."""
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import DigitalRankUpdateRPUConfig, MixedPrecisionCompound

    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    dev = _piecewise({**req["device"], **NOISE_FREE})
    data = np.load(req["data"])
    x, y = torch.tensor(data["x_train"]), torch.tensor(data["y_train"]).long()
    out = {}
    for alg in req["algorithms"]:
        torch.manual_seed(0)
        if alg == "float":
            sizes = req["sizes"]
            layers = []
            for k in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[k], sizes[k + 1]))
                layers.append(torch.nn.Sigmoid() if k < len(sizes) - 2
                              else torch.nn.LogSoftmax(dim=1))
            model = torch.nn.Sequential(*layers)
            opt = torch.optim.SGD(model.parameters(), lr=req["lr"][alg])
        else:
            if alg == "mixed-precision":
                cfg = DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=dev))
                _ideal_mvm(cfg)
                _one_tile_per_layer(cfg)
            else:
                cfg = _single_config(dev)
            model = _model(req["sizes"], cfg)
            opt = AnalogSGD(model.parameters(), lr=req["lr"][alg])
            opt.regroup_param_groups(model)
        rows = {}
        for bs in req["batch_sizes"]:
            n = min(len(y), req["samples"] if bs > 1 else req["samples"] // 4)
            opt.zero_grad()
            torch.nn.functional.nll_loss(model(x[:bs]), y[:bs]).backward()
            opt.step()  # warm-up
            t0 = time.perf_counter()
            for k in range(0, n, bs):
                opt.zero_grad()
                torch.nn.functional.nll_loss(model(x[k:k + bs]), y[k:k + bs]).backward()
                opt.step()
            rows[str(bs)] = n / (time.perf_counter() - t0)
        out[alg] = rows
    return {"samples_per_second": out}


def _io_parameters(io, spec: dict) -> None:
    """Set AIHWKit IOParameters fields from pulsetrain's names (crossbar.periphery.IOParams)."""
    from aihwkit.simulator.parameters.enums import (
        BoundManagementType,
        NoiseManagementType,
        WeightNoiseType,
    )

    nm = {"abs-max": NoiseManagementType.ABS_MAX, "none": NoiseManagementType.NONE,
          "constant": NoiseManagementType.CONSTANT}
    bm = {"iterative": BoundManagementType.ITERATIVE, "none": BoundManagementType.NONE}
    wn = {"none": WeightNoiseType.NONE, "additive-constant": WeightNoiseType.ADDITIVE_CONSTANT}
    for key, value in spec.items():
        if key == "noise_management":
            value = nm[value]
        elif key == "bound_management":
            value = bm[value]
        elif key == "w_noise_type":
            value = wn[value]
        setattr(io, key, value)


def task_io_stats(req: dict) -> dict:
    """Forward and backward outputs of one tile with given IOParameters (pulsetrain's
    names), weights W, inputs x and errors d."""
    from aihwkit.simulator.configs import ConstantStepDevice, SingleRPUConfig
    from aihwkit.simulator.tiles import AnalogTile

    torch.manual_seed(req.get("seed", 0))
    w = torch.tensor(req["w"], dtype=torch.float32)
    cfg = SingleRPUConfig(device=ConstantStepDevice(w_max=100.0, w_min=-100.0, **{
        "dw_min_dtod": 0.0, "up_down_dtod": 0.0, "w_min_dtod": 0.0, "w_max_dtod": 0.0,
        "dw_min_std": 0.0}))
    _io_parameters(cfg.forward, req["forward"])
    _io_parameters(cfg.backward, req["backward"])
    _one_tile_per_layer(cfg)
    tile = AnalogTile(w.shape[0], w.shape[1], cfg)
    tile.set_weights(w)
    x = torch.tensor(req["x"], dtype=torch.float32)
    d = torch.tensor(req["d"], dtype=torch.float32)
    y = tile.forward(x)
    dx = tile.backward(d)
    return {"y": y.tolist(), "dx": dx.tolist()}


def _read_out_and_mapping(cfg, req: dict) -> None:
    """``default_io`` (AIHWKit's default read-out, as the published study trained), ``io``
    field overrides (pulsetrain's names) and ``thesis_mapping`` (the published study's
    RPU_Config.txt: AIHWKit's default mapping and the device fields it left at their
    defaults) applied to ``cfg``."""
    if req.get("default_io"):
        from aihwkit.simulator.parameters import IOParameters

        cfg.forward = IOParameters()
        cfg.backward = IOParameters()
    for key in ("forward", "backward"):
        _io_parameters(getattr(cfg, key), req.get("io", {}).get(key, {}))
    if req.get("thesis_mapping"):
        from aihwkit.simulator.parameters import MappingParameter

        cfg.mapping = MappingParameter()  # tiles of at most 512 inputs/outputs, digital bias
        devices = [cfg.device, getattr(cfg.device, "device", None),
                   *getattr(cfg.device, "unit_cell_devices", [])]
        for d in devices:
            if hasattr(d, "up_down_dtod"):
                d.up_down_dtod = 0.01
                d.construction_seed = 2024


def task_network_read_out(req: dict) -> dict:
    """One forward and backward pass of the MLP ``sizes`` (sigmoid, log-softmax, NLL) with
    given weights and biases, AIHWKit's default IOParameters with ``io`` overrides and
    (``thesis_mapping``) its default mapping: the outputs, and every tile's input and
    error as the optimizer would receive them (tiles in module order)."""
    dev = _piecewise({**req["device"], **NOISE_FREE})
    cfg = _single_config(dev)
    _read_out_and_mapping(cfg, {**req, "default_io": True})
    torch.manual_seed(0)
    model = _model(req["sizes"], cfg)
    analog = [m for m in model.modules() if m.__class__.__name__ == "AnalogLinear"]
    for layer, w, b in zip(analog, req["weights"], req["biases"], strict=True):
        layer.set_weights(torch.tensor(w, dtype=torch.float32),
                          torch.tensor(b, dtype=torch.float32))
    x = torch.tensor(req["x"], dtype=torch.float32)
    y = torch.tensor(req["y"]).long()
    model.train()
    out = model(x)
    torch.nn.functional.nll_loss(out, y).backward()
    tiles = [tile for layer in analog for tile in layer.analog_tiles()]
    ctxs = [tile.get_analog_ctx() for tile in tiles]
    return {"out": out.detach().tolist(),
            "x": [c.analog_input[-1].detach().tolist() for c in ctxs],
            "d": [c.analog_grad_output[-1].detach().tolist() for c in ctxs]}


TASKS = {"version": task_version, "network_read_out": task_network_read_out,
         "response": task_response, "pulse_stats": task_pulse_stats,
         "drift": task_drift, "update_throughput": task_update_throughput,
         "backward": task_backward, "io_stats": task_io_stats,
         "symmetry_point": task_symmetry_point, "train": task_train,
         "throughput": task_throughput, "mp_transfer": task_mp_transfer,
         "fit_measurements": task_fit_measurements, "thesis_recipe": task_thesis_recipe}


def main() -> None:
    req = json.load(sys.stdin)
    try:
        reply = TASKS[req["task"]](req)
    except Exception as exc:  # reported to the caller, which raises with this message
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
