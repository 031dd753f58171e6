"""numba kernels behind :mod:`pulsetrain.crossbar.kernels` (imported only when numba is).

Module-level functions so numba can cache the compiled code on disk.
"""
# mypy: ignore-errors

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

MASK = np.uint64(0xFFFFFFFF)

@njit(inline="always", cache=True)
def mix32(x):
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x7FEB352D)) & MASK
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(0x846CA68B)) & MASK
    return x ^ (x >> np.uint64(16))

@njit(inline="always", cache=True)
def gauss(seed, index, ordinal):
    a = mix32(((np.uint64(seed) & MASK) * np.uint64(0x9E3779B1) + np.uint64(index)) & MASK)
    h1 = mix32((a + np.uint64(2 * ordinal) * np.uint64(0x85EBCA77)) & MASK)
    h2 = mix32((a + np.uint64(2 * ordinal + 1) * np.uint64(0x85EBCA77)) & MASK)
    u1 = (np.float64(h1) + 0.5) / 4294967296.0
    u2 = (np.float64(h2) + 0.5) / 4294967296.0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

@njit(inline="always", cache=True)
def uniform(seed, index, ordinal):
    a = mix32(((np.uint64(seed) & MASK) * np.uint64(0x9E3779B1) + np.uint64(index)) & MASK)
    h = mix32((a + np.uint64(ordinal) * np.uint64(0x85EBCA77)) & MASK)
    return (np.float64(h) + 0.5) / 4294967296.0

@njit(parallel=True, cache=True)
def draw_bits(values, scale, bl, seed, out):
    batch, n = values.shape
    for b in prange(batch):
        nb = bl[b]
        sb = scale[b]
        full = (np.int64(1) << nb) - np.int64(1)
        for j in range(n):
            p = sb * abs(np.float64(values[b, j]))
            if p <= 0.0:
                out[b, j] = 0
            elif p >= 1.0:
                out[b, j] = full
            else:
                bits = np.int64(0)
                for t in range(nb):
                    if uniform(seed, b * n + j, t) < p:
                        bits |= np.int64(1) << t
                out[b, j] = bits

@njit(cache=True)
def management(x, d, lr, dw_min, bl, update_management, bl_management, scale_x, scale_d,
               bl_b):
    batch, in_n = x.shape
    out_n = d.shape[1]
    for b in range(batch):
        xm = 0.0
        for j in range(in_n):
            xm = max(xm, abs(np.float64(x[b, j])))
        dm = 0.0
        for i in range(out_n):
            dm = max(dm, abs(np.float64(d[b, i])))
        scale_x[b] = 0.0
        scale_d[b] = 0.0
        bl_b[b] = bl
        if xm > 0.0 and dm > 0.0:
            if bl_management:
                bl_b[b] = min(max(math.ceil(lr * xm * dm / dw_min), 1), bl)
            base = math.sqrt(lr / (dw_min * bl_b[b]))
            if update_management:
                r = math.sqrt(dm / xm)
                scale_x[b] = base * r
                scale_d[b] = base / r
                if scale_x[b] * xm > 1.0:  # saturated: cap the x side, δ side takes the rest
                    scale_x[b] = 1.0 / xm
                    scale_d[b] = base * base / scale_x[b]
            else:
                scale_x[b] = base
                scale_d[b] = base
        elif bl_management:
            bl_b[b] = 1

@njit(cache=True)
def signs(v):
    out = np.zeros(v.shape, np.int8)
    for b in range(v.shape[0]):
        for j in range(v.shape[1]):
            if v[b, j] > 0:
                out[b, j] = 1
            elif v[b, j] < 0:
                out[b, j] = -1
    return out

@njit(inline="always", cache=True)
def popcount(v):
    c = 0
    while v:
        v &= v - 1
        c += 1
    return c

@njit(inline="always", cache=True)
def pulses(wij, n, direction, lut_up, lut_down, gu, gd, lo, hi, c2c,
           seed, index, ordinal):
    m = lut_up.shape[0]
    for _ in range(n):
        pos = (wij - lo) / (hi - lo)
        pos = min(max(pos, 0.0), 1.0) * (m - 1)
        k = min(math.floor(pos), m - 2)
        t = pos - k
        if direction > 0:
            step = gu * (lut_up[k] * (1.0 - t) + lut_up[k + 1] * t)
        else:
            step = gd * (lut_down[k] * (1.0 - t) + lut_down[k + 1] * t)
        if c2c > 0.0:
            step *= 1.0 + c2c * gauss(seed, index, ordinal)
        ordinal += 1
        wij = min(max(wij + direction * step, lo), hi)
    return wij, ordinal

@njit(parallel=True, cache=True)
def trains(w, x_bits, x_sign, d_bits, d_sign,
           lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n, in_n = w.shape
    batch = x_bits.shape[0]
    cols = np.empty((batch, in_n), np.int64)  # per sample: the inputs that fire at all
    ncols = np.zeros(batch, np.int64)
    for b in range(batch):
        k = 0
        for j in range(in_n):
            if x_bits[b, j] != 0:
                cols[b, k] = j
                k += 1
        ncols[b] = k
    for i in prange(out_n):
        ordv = np.zeros(in_n, np.int64)
        cu = 0
        cd = 0
        for b in range(batch):
            db = d_bits[b, i]
            if db == 0:
                continue
            ds = d_sign[b, i]
            for kk in range(ncols[b]):
                j = cols[b, kk]
                c = x_bits[b, j] & db
                if c == 0:
                    continue
                n = popcount(c)
                direction = -ds * x_sign[b, j]
                if direction > 0:
                    cu += n
                else:
                    cd += n
                wij, ordv[j] = pulses(np.float64(w[i, j]), n, direction, lut_up, lut_down,
                                      gain_up[i, j], gain_down[i, j], w_min[i, j],
                                      w_max[i, j], c2c, seed, i * in_n + j, ordv[j])
                w[i, j] = wij
        n_up[i] = cu
        n_down[i] = cd

@njit(inline="always", cache=True)
def signed_pulses(w, i, j, n, lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c,
                  seed):
    """Apply |n| pulses in direction sign(n) to w[i, j] (c2c ordinals from 0)."""
    direction = 1 if n > 0 else -1
    wij, _ = pulses(np.float64(w[i, j]), abs(n), direction, lut_up, lut_down,
                    gain_up[i, j], gain_down[i, j], w_min[i, j], w_max[i, j],
                    c2c, seed, i * w.shape[1] + j, 0)
    w[i, j] = wij

@njit(parallel=True, cache=True)
def counts(w, cnt, lut_up, lut_down,
           gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n, in_n = w.shape
    for i in prange(out_n):
        cu = 0
        cd = 0
        for j in range(in_n):
            n = cnt[i, j]
            if n == 0:
                continue
            if n > 0:
                cu += n
            else:
                cd -= n
            signed_pulses(w, i, j, n, lut_up, lut_down, gain_up, gain_down, w_min, w_max,
                          c2c, seed)
        n_up[i] = cu
        n_down[i] = cd


@njit(cache=True)
def accumulated(w, chi, eps_up, eps_down, lut_up, lut_down,
                gain_up, gain_down, w_min, w_max, c2c, seed):
    n_up = np.zeros(w.shape[0], np.int64)
    n_down = np.zeros(w.shape[0], np.int64)
    accumulated_rows(w, chi, eps_up, eps_down, lut_up, lut_down, gain_up, gain_down, w_min,
                     w_max, c2c, seed, n_up, n_down)
    return n_up.sum(), n_down.sum()

@njit(parallel=True, cache=True)
def accumulated_rows(w, chi, eps_up, eps_down, lut_up, lut_down,
                     gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n, in_n = w.shape
    for i in prange(out_n):
        cu = 0
        cd = 0
        for j in range(in_n):
            c = chi[i, j]
            e = eps_up if c > 0 else eps_down
            n = int(c / e)
            if n == 0:
                continue
            chi[i, j] = c - np.float32(n) * e
            if n > 0:
                cu += n
            else:
                cd -= n
            signed_pulses(w, i, j, n, lut_up, lut_down, gain_up, gain_down, w_min, w_max,
                          c2c, seed)
        n_up[i] = cu
        n_down[i] = cd

@njit(cache=True)
def sgd_update(w, x, d, lr, dw_min, bl, update_management, bl_management, seed_x, seed_d,
               lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c, seed):
    batch = x.shape[0]
    scale_x = np.empty(batch, np.float64)
    scale_d = np.empty(batch, np.float64)
    bl_b = np.empty(batch, np.int64)
    management(x, d, lr, dw_min, bl, update_management, bl_management, scale_x, scale_d,
               bl_b)
    x_bits = np.empty(x.shape, np.int64)
    d_bits = np.empty(d.shape, np.int64)
    draw_bits(x, scale_x, bl_b, seed_x, x_bits)
    draw_bits(d, scale_d, bl_b, seed_d, d_bits)
    n_up = np.zeros(w.shape[0], np.int64)
    n_down = np.zeros(w.shape[0], np.int64)
    trains(w, x_bits, signs(x), d_bits, signs(d), lut_up, lut_down, gain_up, gain_down,
           w_min, w_max, c2c, seed, n_up, n_down)
    return n_up.sum(), n_down.sum()
