"""Pulse application kernels: each weight walks its pulses in order, steps from the LUT.

Two operations, each with a numba kernel (CPU, parallel over rows) and a pure
torch implementation (any torch device; reference and fallback):

* :func:`apply_trains` — stochastic pulse trains, bit-packed per sample:
  ``x_bits[b, j]`` and ``d_bits[b, i]`` hold up to 63 time slots; weight
  ``(i, j)`` receives ``popcount(x_bits[b, j] & d_bits[b, i])`` pulses in
  direction ``−x_sign[b, j]·d_sign[b, i]``, samples in order ``b = 0, 1, …``.
* :func:`fused_sgd_update` — on numba, draw the trains of a mini-batch and apply them
  in one call (:func:`pulsetrain.crossbar.pulse_trains.pulsed_sgd_update` chooses it);
* :func:`apply_counts` — a signed pulse count per weight;
* :func:`apply_accumulated` — mixed precision's thresholding of the digital
  accumulator χ fused with the pulses it fires (one pass over the weights);
* :func:`draw_train_bits` — the stochastic slot draws of the pulse trains.

Every pulse is one device step ``gain·LUT(w)`` (linear interpolation over
the device's own bounds), times ``1 + c2c·ξ`` with ``ξ`` from
:mod:`pulsetrain.crossbar.noise`, then clipped to the device's bounds.
Memory is O(weights): no (batch × out × in) tensor is formed.
The pulse operations return the number of up and down pulses applied.

All random numbers (slot draws, c2c noise) are counter-based hashes
(:mod:`pulsetrain.crossbar.noise`) of a seed and an index, so the backends
draw the same numbers whatever device or thread order: the same seed gives the
same pulses on numba, torch-CPU and torch-CUDA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.noise import gaussian, hash3, train_seeds

MAX_BL = 63

"""Longest pulse train: slots are bits of an int64 word."""


def check_bl(bl: int) -> int:
    """``bl`` if it is a valid pulse-train length (1..:data:`MAX_BL` time slots: the slots
    are bits of one int64), else ``ValueError``."""
    if not 1 <= bl <= MAX_BL:
        raise ValueError(f"bl must be in 1..{MAX_BL}, got {bl}")
    return bl

numba: Any
try:  # numba is optional: the torch path is always there
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    numba = None
    HAVE_NUMBA = False


def available_backends() -> list[str]:
    """Kernel backends usable here: ``"numba"`` (CPU) when numba imports, and ``"torch"``."""
    return (["numba"] if HAVE_NUMBA else []) + ["torch"]


def _resolve(backend: str, w: torch.Tensor) -> str:
    if backend == "auto":
        return "numba" if HAVE_NUMBA and w.device.type == "cpu" else "torch"
    if backend == "numba" and not HAVE_NUMBA:
        raise RuntimeError("backend 'numba' requested but numba is not installed")
    if backend == "numba" and w.device.type != "cpu":
        raise RuntimeError("backend 'numba' runs on CPU tensors only")
    if backend not in ("numba", "torch"):
        raise ValueError(f"unknown kernel backend {backend!r}; use auto, numba or torch")
    return backend


# ----------------------------------------------------------------------------- torch path

def _torch_pulse_loop(w: torch.Tensor, counts: torch.Tensor, direction: torch.Tensor,
                      dt: DeviceTensors, seed: int, ordinal: torch.Tensor,
                      index: torch.Tensor) -> None:
    """Apply ``counts`` (>= 0) pulses in ``direction`` (±1) to every weight, in place."""
    n_max = int(counts.max()) if counts.numel() else 0
    up = direction > 0
    for p in range(n_max):
        active = counts > p
        step = torch.where(up, dt.step(w, True), dt.step(w, False))
        if dt.c2c:
            z = gaussian(seed, index, ordinal).to(w.dtype)
            step = step * (1 + dt.c2c * z)
        new = torch.minimum(torch.maximum(w + direction * step, dt.w_min), dt.w_max)
        w.copy_(torch.where(active, new, w))
        ordinal += active.long()


def _unpack(bits: torch.Tensor, n_slots: int) -> torch.Tensor:
    shifts = torch.arange(n_slots, device=bits.device, dtype=torch.int64)
    return ((bits.unsqueeze(-1) >> shifts) & 1).to(torch.float32)


def _torch_trains(w: torch.Tensor, x_bits: torch.Tensor, x_sign: torch.Tensor,
                  d_bits: torch.Tensor, d_sign: torch.Tensor, dt: DeviceTensors,
                  seed: int) -> tuple[int, int]:
    n_slots = int(max(int(x_bits.max()), int(d_bits.max()), 1)).bit_length()
    out_n, in_n = w.shape
    index = torch.arange(out_n * in_n, device=w.device, dtype=torch.int64).view(out_n, in_n)
    ordinal = torch.zeros_like(index)
    n_up = n_down = 0
    for b in range(x_bits.shape[0]):
        if not bool(x_bits[b].any()) or not bool(d_bits[b].any()):
            continue
        counts = (_unpack(d_bits[b], n_slots) @ _unpack(x_bits[b], n_slots).T).round().long()
        direction = -(d_sign[b].to(torch.float32)[:, None] * x_sign[b].to(torch.float32)[None])
        n_up += int(counts[direction > 0].sum())
        n_down += int(counts[direction < 0].sum())
        _torch_pulse_loop(w, counts, direction.to(w.dtype), dt, seed, ordinal, index)
    return n_up, n_down


def _torch_draw_bits(values: torch.Tensor, scale: torch.Tensor, bl: torch.Tensor,
                     seed: int) -> torch.Tensor:
    prob = scale[:, None] * values.abs().double()
    batch, n = prob.shape
    n_slots = max(int(bl.max()), 1) if bl.numel() else 1
    index = torch.arange(batch * n, device=prob.device, dtype=torch.int64).view(batch, n, 1)
    slot = torch.arange(n_slots, device=prob.device, dtype=torch.int64).view(1, 1, -1)
    u = (hash3(seed, index, slot).double() + 0.5) / 2.0**32
    fire = (u < prob.double()[..., None]) & (slot < bl.view(-1, 1, 1))
    return (fire.to(torch.int64) << slot).sum(-1)


def _torch_accumulated(w: torch.Tensor, chi: torch.Tensor, eps_up: float, eps_down: float,
                       dt: DeviceTensors, seed: int) -> tuple[int, int]:
    eps = torch.where(chi > 0, torch.tensor(eps_up, dtype=chi.dtype, device=chi.device),
                      torch.tensor(eps_down, dtype=chi.dtype, device=chi.device))
    n = torch.trunc(chi / eps)
    if not bool(n.any()):
        return 0, 0
    chi.sub_(n * eps)
    return _torch_counts(w, n.to(torch.int64), dt, seed)


def _torch_counts(w: torch.Tensor, counts: torch.Tensor, dt: DeviceTensors,
                  seed: int) -> tuple[int, int]:
    out_n, in_n = w.shape
    index = torch.arange(out_n * in_n, device=w.device, dtype=torch.int64).view(out_n, in_n)
    ordinal = torch.zeros_like(index)
    direction = torch.sign(counts).to(w.dtype)
    n_up = int(counts.clamp_min(0).sum())
    n_down = int((-counts).clamp_min(0).sum())
    _torch_pulse_loop(w, counts.abs().long(), direction, dt, seed, ordinal, index)
    return n_up, n_down


# ----------------------------------------------------------------------------- numba path

def _numba_kernels() -> Any:
    from pulsetrain.crossbar import _numba_kernels as kernels

    return kernels


def warmup() -> None:
    """Compile (or load from cache) the numba kernels now rather than on first use."""
    if not HAVE_NUMBA:
        return
    from pulsetrain.devices.lut import LutDevice

    dev = LutDevice("warmup", np.array([0.1, 0.1]), np.array([0.1, 0.1]))
    dt = DeviceTensors.draw(dev, (2, 2), torch.Generator().manual_seed(0))
    w = torch.zeros(2, 2)
    bits = torch.ones(1, 2, dtype=torch.int64)
    sign = torch.ones(1, 2, dtype=torch.int8)
    apply_trains(w, bits, sign, bits, sign, dt, 0, "numba")
    apply_counts(w, torch.ones(2, 2, dtype=torch.int64), dt, 0, "numba")
    apply_accumulated(w, torch.ones(2, 2), 0.5, 0.5, dt, 0, "numba")
    split_accumulated(torch.ones(2, 2), 0.5, 0.5, "numba")
    fused_sgd_update(w, torch.ones(1, 2), torch.ones(1, 2), 0.1, dt, 31, True, True, 0, 0.1)
    draw_train_bits(torch.full((2, 2), 0.5), torch.ones(2, dtype=torch.float64),
                    torch.ones(2, dtype=torch.int64), 0, "numba")
    from pulsetrain.crossbar import _numba_readout as readout  # the non-ideal read-out's

    x = np.ones((2, 2), np.float32)
    f = np.float32(0.5)
    safe, zero = readout.scale_and_dac(x, np.zeros((2, 2), np.bool_), True, 0,
                                       np.float32(0.0), f, f, x.copy())
    final = np.empty(2, np.float32)
    readout.adc_and_rescale(x, x.copy(), f, f, f, True, True, safe, zero, f, f, True,
                            np.empty(2, np.bool_), final, np.empty((2, 2), np.bool_))
    readout.finish_rows(x, np.arange(2), safe, zero, f, f, True, final,
                        np.empty((2, 2), np.bool_))
    readout.dac_rows(x, np.arange(2), safe, f, f, f, np.zeros((2, 2), np.bool_), True,
                     x.copy(), safe.copy())
    readout.adc_rows(x, x.copy(), f, f, f, True, np.empty(2, np.bool_), x.copy(),
                     np.arange(2))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def apply_trains(w: torch.Tensor, x_bits: torch.Tensor, x_sign: torch.Tensor,
                 d_bits: torch.Tensor, d_sign: torch.Tensor, dt: DeviceTensors, seed: int,
                 backend: str = "auto") -> tuple[int, int]:
    """Apply bit-packed stochastic pulse trains to ``w`` (out × in) in place.

    Parameters
    ----------
    w
        Device states, float32, contiguous, shape ``(out, in)``.
    x_bits, x_sign
        ``(batch, in)``: int64 slot bits of the input-side trains and int8 signs of x.
    d_bits, d_sign
        ``(batch, out)``: the same for the error side.
    dt
        Device parameters of the tile.
    seed
        Seed of the cycle-to-cycle noise of this call.
    backend
        ``"auto"`` (numba on CPU when available, else torch), ``"numba"`` or ``"torch"``.

    Returns
    -------
    (n_up, n_down)
        Pulses applied in each direction.
    """
    if _resolve(backend, w) == "torch":
        return _torch_trains(w, x_bits, x_sign, d_bits, d_sign, dt, seed)
    k = _numba_kernels()
    n_up = np.zeros(w.shape[0], np.int64)
    n_down = np.zeros(w.shape[0], np.int64)
    k.trains(_np(w), _np(x_bits), _np(x_sign), _np(d_bits), _np(d_sign), *dt.numpy_views,
             float(dt.c2c), int(seed) & 0xFFFFFFFF, n_up, n_down)
    return int(n_up.sum()), int(n_down.sum())


def apply_counts(w: torch.Tensor, counts: torch.Tensor, dt: DeviceTensors, seed: int,
                 backend: str = "auto") -> tuple[int, int]:
    """Apply ``counts[i, j]`` pulses (sign = direction) to ``w`` in place; returns (up, down)."""
    if _resolve(backend, w) == "torch":
        return _torch_counts(w, counts, dt, seed)
    k = _numba_kernels()
    n_up = np.zeros(w.shape[0], np.int64)
    n_down = np.zeros(w.shape[0], np.int64)
    k.counts(_np(w), _np(counts.to(torch.int64).contiguous()), *dt.numpy_views,
             float(dt.c2c), int(seed) & 0xFFFFFFFF, n_up, n_down)
    return int(n_up.sum()), int(n_down.sum())


def split_accumulated(chi: torch.Tensor, eps_up: float, eps_down: float,
                      backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """``n = trunc(χ/ε)`` (int64; ``ε`` is ``eps_up`` where ``χ > 0``, else ``eps_down``)
    and ``χ −= n·ε`` in place, in float32 as :func:`apply_accumulated` computes them;
    returns (``n``, each row's max |n|)."""
    if _resolve(backend, chi) == "torch":
        up = torch.tensor(eps_up, dtype=chi.dtype, device=chi.device)
        down = torch.tensor(eps_down, dtype=chi.dtype, device=chi.device)
        eps = torch.where(chi > 0, up, down)
        n = torch.trunc(chi / eps)
        chi.sub_(n * eps)
        counts = n.to(torch.int64)
        return counts, counts.abs().amax(dim=1)
    counts = torch.zeros(chi.shape, dtype=torch.int64)
    row_max = torch.zeros(chi.shape[0], dtype=torch.int64)
    _numba_kernels().split_rows(_np(chi), np.float32(eps_up), np.float32(eps_down),
                                _np(counts), _np(row_max))
    return counts, row_max


def apply_accumulated(w: torch.Tensor, chi: torch.Tensor, eps_up: float, eps_down: float,
                      dt: DeviceTensors, seed: int, backend: str = "auto") -> tuple[int, int]:
    """Mixed-precision transfer: ``n = trunc(χ/ε)`` pulses per device, ``χ −= n·ε``, in place.

    ``chi`` is float32 of ``w``'s shape; ``ε`` is ``eps_up`` where ``χ > 0`` and
    ``eps_down`` elsewhere (weight units).  Returns (up, down) pulses applied.
    """
    if _resolve(backend, w) == "torch":
        return _torch_accumulated(w, chi, eps_up, eps_down, dt, seed)
    up, down = _numba_kernels().accumulated(
        _np(w), _np(chi), np.float32(eps_up), np.float32(eps_down), *dt.numpy_views,
        float(dt.c2c), int(seed) & 0xFFFFFFFF)
    return int(up), int(down)


def draw_train_bits(values: torch.Tensor, scale: torch.Tensor, bl: torch.Tensor, seed: int,
                    backend: str = "auto") -> torch.Tensor:
    """Bit-packed stochastic trains: bit ``t < bl[b]`` of ``out[b, j]`` is set, independently
    per slot, with probability ``p = min(1, scale[b]·|values[b, j]|)``.

    ``values`` is ``(batch, n)`` float32, ``scale`` ``(batch,)`` float64, ``bl``
    ``(batch,)`` int64 (≤ 63).  ``p`` is formed in float64 and the uniforms are
    ``hash(seed, b·n + j, t)``, so every backend draws the same bits.
    """
    values = values.detach().to(torch.float32).contiguous()
    scale = scale.to(torch.float64).contiguous()
    bl = bl.to(torch.int64).contiguous()
    if _resolve(backend, values) == "torch":
        return _torch_draw_bits(values, scale, bl, seed)
    out = torch.empty(values.shape, dtype=torch.int64)
    _numba_kernels().draw_bits(_np(values), _np(scale), _np(bl), int(seed) & 0xFFFFFFFF,
                               _np(out))
    return out


def fused_sgd_update(w: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float,
                     dt: DeviceTensors, bl: int, update_management: bool,
                     bl_management: bool, seed: int, granularity: float) -> tuple[int, int]:
    """The numba kernel of :func:`pulsetrain.crossbar.pulse_trains.pulsed_sgd_update`:
    pulse management, slot draws and pulses of one mini-batch in one compiled call
    (CPU tensors); returns (up, down)."""
    check_bl(bl)
    seed_x, seed_d = train_seeds(seed)
    if x.dtype != torch.float32 or not x.is_contiguous():
        x = x.to(torch.float32).contiguous()
    if d.dtype != torch.float32 or not d.is_contiguous():
        d = d.to(torch.float32).contiguous()
    up, down = _numba_kernels().sgd_update(
        _np(w), _np(x), _np(d), float(lr), granularity, int(bl), bool(update_management),
        bool(bl_management), seed_x, seed_d, *dt.numpy_views, float(dt.c2c),
        int(seed) & 0xFFFFFFFF)
    return int(up), int(down)


def resolve_backend(backend: str, w: torch.Tensor) -> str:
    """``"numba"`` or ``"torch"``: what ``backend`` means for tensors like ``w``."""
    return _resolve(backend, w)
