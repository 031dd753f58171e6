"""numba kernels of the non-ideal read-out (imported only when numba is).

Each does, in one pass over a (samples × channels) float32 array, what a chain of torch
operations of :mod:`pulsetrain.crossbar.periphery` does, in the same float32 arithmetic
(so both give the same bits): the read-out of small layers is dominated by the fixed
cost of each torch call, not by the arithmetic.
"""
# mypy: ignore-errors

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _dac_row(x, b, s, step, bound, zeroed, use_zeroed, out, ob):
    """The DAC: row ``ob`` of ``out`` = ``clip(step·round((x[b] / s) / step), ±bound)``
    (no rounding when ``step`` is 0; round half to even; entries flagged in ``zeroed``
    read as 0 with ``use_zeroed``)."""
    for j in range(x.shape[1]):
        v = x[b, j] / s
        if use_zeroed and zeroed[b, j]:
            v = np.float32(0.0)
        if step > 0:
            v = np.float32(np.rint(v / step)) * step
        if v > bound:
            v = bound
        elif v < -bound:
            v = -bound
        out[ob, j] = v


@njit(cache=True)
def dac_rows(x, rows, safe, factor, step, bound, zeroed, use_zeroed, out, scale):
    """Bound management's re-read, DAC half: for each ``rows[i]`` = b, the input scale
    ``scale[b] = safe[b]·factor`` and ``out[i]`` = the DAC levels of ``x[b]`` at that
    scale (``zeroed`` as in :func:`scale_and_dac`)."""
    for i in range(rows.shape[0]):
        b = rows[i]
        s = safe[b] * factor
        scale[b] = s
        _dac_row(x, b, s, step, bound, zeroed, use_zeroed, out, i)


@njit(cache=True)
def adc_rows(yy, noise, sigma, step, bound, check_negative, again, y, rows):
    """Bound management's re-read, ADC half: the ADC on each row ``i`` of ``yy`` (its
    over-the-bound flag into ``again[i]``), then written to ``y[rows[i]]``."""
    for i in range(yy.shape[0]):
        again[i] = _adc_row(yy, noise, i, sigma, step, bound, check_negative)
        b = rows[i]
        for j in range(yy.shape[1]):
            y[b, j] = yy[i, j]


@njit(cache=True)
def _adc_row(y, noise, b, sigma, step, bound, check_negative):
    """The ADC on row ``b`` in place: ``y += noise·sigma`` (when ``sigma`` > 0),
    ``y = step·round(y / step)`` (when ``step`` > 0), then clipped to ±``bound``; returns
    whether some entry was beyond ``bound`` (or below ``−bound`` with
    ``check_negative``) before the clip."""
    flag = False
    for i in range(y.shape[1]):
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
    return flag


@njit(parallel=True, cache=True)
def scale_and_dac(x, zeroed, use_zeroed, mode, nm_thres, step, bound, out):
    """Noise management and the DAC (:func:`_dac_row`) in one call: per row ``α`` (``mode`` 0:
    abs-max capped at ``nm_thres`` > 0; 1: the constant ``nm_thres`` or 1; 2: none, 1),
    and ``out`` = the DAC levels of ``x/α``; with ``use_zeroed``, the entries where
    ``zeroed`` is true count as 0 (the backward gradient mask); returns (α with 1 where it
    is ≤ 0, the ≤ 0 flags: all-zero rows)."""
    rows, cols = x.shape
    safe = np.empty(rows, np.float32)
    zero = np.empty(rows, np.bool_)
    for b in prange(rows):  # rows are independent: the same bits on any thread count
        if mode == 0:
            m = np.float32(0.0)
            for j in range(cols):
                v = abs(x[b, j])
                if use_zeroed and zeroed[b, j]:
                    v = np.float32(0.0)
                m = v if v > m else m
            if nm_thres > 0 and m > nm_thres:
                m = nm_thres
        elif mode == 1:
            m = nm_thres if nm_thres > 0 else np.float32(1.0)
        else:
            m = np.float32(1.0)
        zero[b] = m <= 0
        s = np.float32(1.0) if m <= 0 else m
        safe[b] = s
        _dac_row(x, b, s, step, bound, zeroed, use_zeroed, out, b)
    return safe, zero


@njit(parallel=True, cache=True)
def adc_and_rescale(y, noise, sigma, step, bound, check_negative, managed, scale, zero,
                    out_scale, mask_bound, want_mask, over, final, mask):
    """The ADC on every row, then — for every row that needs no re-read (``managed`` false, or
    nothing over the bound) — the rescaling ``y[b] *= out_scale·α_b`` (0 for ``zero``
    rows; ``final[b]`` gets that row's scale) and, with ``want_mask``, the gradient mask
    ``|y| ≥ mask_bound`` of the rescaled row; returns whether some row is over."""
    for b in prange(y.shape[0]):  # rows are independent: the same bits on any threads
        flag = _adc_row(y, noise, b, sigma, step, bound, check_negative)
        over[b] = flag
        if not (managed and flag):
            _finish_row(y, b, scale, zero, out_scale, mask_bound, want_mask, final, mask)
    return managed and over.any()


@njit(cache=True)
def _finish_row(y, b, scale, zero, out_scale, mask_bound, want_mask, final, mask):
    s = np.float32(0.0) if zero[b] else scale[b]
    final[b] = s
    f = out_scale * s
    for i in range(y.shape[1]):
        v = y[b, i] * f
        y[b, i] = v
        if want_mask:
            mask[b, i] = v >= mask_bound or v <= -mask_bound


@njit(cache=True)
def finish_rows(y, rows, scale, zero, out_scale, mask_bound, want_mask, final, mask):
    """:func:`adc_and_rescale`'s rescaling and mask for the re-read ``rows``."""
    for r in range(rows.shape[0]):
        _finish_row(y, rows[r], scale, zero, out_scale, mask_bound, want_mask, final, mask)
