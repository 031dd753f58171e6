"""Pulse application kernels: each weight walks its pulses in order, steps from the LUT.

Two operations, each with a numba kernel (CPU, parallel over rows) and a pure
torch implementation (any torch device; reference and fallback):

* :func:`apply_trains` — stochastic pulse trains, bit-packed per sample:
  ``x_bits[b, j]`` and ``d_bits[b, i]`` hold up to 63 time slots; weight
  ``(i, j)`` receives ``popcount(x_bits[b, j] & d_bits[b, i])`` pulses in
  direction ``−x_sign[b, j]·d_sign[b, i]``, samples in order ``b = 0, 1, …``.
* :func:`apply_counts` — a signed pulse count per weight (mixed precision).

Every pulse is one device step ``gain·LUT(w)`` (linear interpolation over
the device's own bounds), times ``1 + c2c·ξ`` with ``ξ`` from
:mod:`pulsetrain.crossbar.noise`, then clipped to the device's bounds.
Memory is O(weights): no (batch × out × in) tensor is formed.
Both return the number of up and down pulses applied.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.noise import gaussian

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
    k.trains(_np(w), _np(x_bits), _np(x_sign), _np(d_bits), _np(d_sign), _np(dt.lut_up),
                _np(dt.lut_down), _np(dt.gain_up), _np(dt.gain_down), _np(dt.w_min),
                _np(dt.w_max), float(dt.c2c), int(seed) & 0xFFFFFFFF, n_up, n_down)
    return int(n_up.sum()), int(n_down.sum())


def apply_counts(w: torch.Tensor, counts: torch.Tensor, dt: DeviceTensors, seed: int,
                 backend: str = "auto") -> tuple[int, int]:
    """Apply ``counts[i, j]`` pulses (sign = direction) to ``w`` in place; returns (up, down)."""
    if _resolve(backend, w) == "torch":
        return _torch_counts(w, counts, dt, seed)
    k = _numba_kernels()
    n_up = np.zeros(w.shape[0], np.int64)
    n_down = np.zeros(w.shape[0], np.int64)
    k.counts(_np(w), _np(counts.to(torch.int64).contiguous()), _np(dt.lut_up),
                _np(dt.lut_down), _np(dt.gain_up), _np(dt.gain_down), _np(dt.w_min),
                _np(dt.w_max), float(dt.c2c), int(seed) & 0xFFFFFFFF, n_up, n_down)
    return int(n_up.sum()), int(n_down.sum())
