"""Counter-based random numbers for cycle-to-cycle noise.

A pulse's noise depends only on ``(seed, weight index, pulse ordinal)``, not on
thread scheduling or on the order in which a backend visits weights, so the
numba and torch kernels produce the same noise and runs are reproducible.
The hash is Chris Wellons' "lowbias32" integer mix (a public-domain design),
evaluated in 64-bit integers masked to 32 bits.
"""

from __future__ import annotations

import math

import torch

MASK32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B1
ORDINAL_MIX = 0x85EBCA77
MIX_MUL1 = 0x7FEB352D
MIX_MUL2 = 0x846CA68B
"""The hash constants: every backend (this module's torch code, the numba kernels)
takes them from here."""


def mix32_int(x: int) -> int:
    """The 32-bit mix on a Python int (reference implementation for tests)."""
    x &= MASK32
    x ^= x >> 16
    x = (x * MIX_MUL1) & MASK32
    x ^= x >> 15
    x = (x * MIX_MUL2) & MASK32
    x ^= x >> 16
    return x


def train_seeds(seed: int) -> tuple[int, int]:
    """Seeds of the input-side and error-side slot draws of a pulsed update with ``seed``."""
    return mix32_int(seed * 2 + 1), mix32_int(seed * 2 + 2)


def mix32(x: torch.Tensor) -> torch.Tensor:
    """The 32-bit mix on an int64 tensor holding values in ``[0, 2**32)``."""
    x = x ^ (x >> 16)
    x = (x * MIX_MUL1) & MASK32
    x = x ^ (x >> 15)
    x = (x * MIX_MUL2) & MASK32
    return x ^ (x >> 16)


def hash3(seed: int, index: torch.Tensor, ordinal: torch.Tensor) -> torch.Tensor:
    """32-bit hash of ``(seed, index, ordinal)``; tensors are int64."""
    a = mix32(((seed & MASK32) * GOLDEN + index) & MASK32)
    return mix32((a + ordinal * ORDINAL_MIX) & MASK32)


def gaussian(seed: int, index: torch.Tensor, ordinal: torch.Tensor) -> torch.Tensor:
    """Standard normal deviates (float64) by Box–Muller from two hashed uniforms."""
    u1 = (hash3(seed, index, 2 * ordinal).double() + 0.5) / 2.0**32
    u2 = (hash3(seed, index, 2 * ordinal + 1).double() + 0.5) / 2.0**32
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
