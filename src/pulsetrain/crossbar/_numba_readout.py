"""numba kernels of the non-ideal read-out (imported only when numba is).

Each does, in one pass over a (samples × channels) float32 array, what a chain of torch
operations of :mod:`pulsetrain.crossbar.periphery` does, in the same float32 arithmetic
(so both give the same bits): the read-out of small layers is dominated by the fixed
cost of each torch call, not by the arithmetic.
"""
# mypy: ignore-errors

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def dac(x, scale, step, bound, out):
    """``out = clip(step·round((x / scale[:, None]) / step), ±bound)`` (no rounding when
    ``step`` is 0; round half to even)."""
    rows, cols = x.shape
    for b in range(rows):
        s = scale[b]
        for j in range(cols):
            v = x[b, j] / s
            if step > 0:
                v = np.float32(np.rint(v / step)) * step
            if v > bound:
                v = bound
            elif v < -bound:
                v = -bound
            out[b, j] = v


@njit(cache=True)
def adc(y, noise, sigma, step, bound, check_negative, over):
    """In place: ``y += noise·sigma`` (when ``sigma`` > 0), ``y = step·round(y / step)``
    (when ``step`` > 0), ``over[b]`` = some ``y[b, i] > bound`` (or ``< −bound`` with
    ``check_negative``) before ``y`` is clipped to ±``bound``."""
    rows, cols = y.shape
    for b in range(rows):
        flag = False
        for i in range(cols):
            v = y[b, i]
            if sigma > 0:
                v = v + noise[b, i] * sigma
            if step > 0:
                v = np.float32(np.rint(v / step)) * step
            if v > bound or (check_negative and v < -bound):
                flag = True
            if v > bound:
                v = bound
            elif v < -bound:
                v = -bound
            y[b, i] = v
        over[b] = flag


@njit(cache=True)
def input_scales(x, mode, nm_thres):
    """Noise management: per row ``α`` (``mode`` 0: abs-max capped at ``nm_thres`` > 0;
    1: the constant ``nm_thres`` or 1; 2: none, 1) and whether it is ≤ 0 (an all-zero
    row); returns (α with 1 where it is ≤ 0, the ≤ 0 flags)."""
    rows, cols = x.shape
    safe = np.empty(rows, np.float32)
    zero = np.empty(rows, np.bool_)
    for b in range(rows):
        if mode == 0:
            m = np.float32(0.0)
            for j in range(cols):
                v = abs(x[b, j])
                if v > m:
                    m = v
            if nm_thres > 0 and m > nm_thres:
                m = nm_thres
        elif mode == 1:
            m = nm_thres if nm_thres > 0 else np.float32(1.0)
        else:
            m = np.float32(1.0)
        zero[b] = m <= 0
        safe[b] = np.float32(1.0) if m <= 0 else m
    return safe, zero


@njit(cache=True)
def rescale(y, scale, zero, out_scale):
    """In place: ``y[b] *= out_scale·scale[b]`` (0 for rows flagged ``zero``); returns the
    per-row scale with those rows set to 0."""
    rows, cols = y.shape
    final = np.empty(rows, np.float32)
    for b in range(rows):
        s = np.float32(0.0) if zero[b] else scale[b]
        final[b] = s
        f = out_scale * s
        for i in range(cols):
            y[b, i] = y[b, i] * f
    return final
