"""numba kernels behind :mod:`pulsetrain.crossbar.kernels` (imported only when numba is).

Module-level functions so numba can cache the compiled code on disk.
"""
# mypy: ignore-errors

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

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

@intrinsic
def popcount(typingctx, v):
    """Set bits of an int64 (one ``ctpop`` instruction)."""
    if v != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.int64(types.int64), codegen

@njit(inline="always", cache=True)
def pulses(wij, n, direction, lut_up, lut_down, gu, gd, lo, hi, c2c,
           seed, index, ordinal):
    """``n`` pulses of one weight, pulse by pulse in weight coordinates, with
    cycle-to-cycle noise (counter-based, ``ordinal`` onwards); returns (weight, next
    ordinal).  The reference walk; noise-free runs use :func:`walk`/:func:`lockstep`."""
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

@njit(cache=True)
def node_tables(lut_up, lut_down):
    """Steps as ``c[k] + s[k]·pos`` on segment k of the table coordinate pos ∈ [0, m−1]
    (the linear interpolation of the LUT, rewritten as one multiply-add); the up table
    at offset 0, the down table at offset m."""
    m = lut_up.shape[0]
    c = np.zeros(2 * m, np.float64)
    sl = np.zeros(2 * m, np.float64)
    for off in range(2):
        lut = lut_up if off == 0 else lut_down
        for k in range(m - 1):
            slope = np.float64(lut[k + 1]) - np.float64(lut[k])
            sl[off * m + k] = slope
            c[off * m + k] = np.float64(lut[k]) - k * slope
    return c, sl

@njit(inline="always", cache=True)
def walk_start(wij, direction, gu, gd, lo, hi, m):
    """Table coordinate of ``wij`` and the per-pulse factor ``±gain·(m−1)/(hi−lo)``."""
    scale = (m - 1) / (hi - lo)
    pos = min(max((wij - lo) * scale, 0.0), m - 1.0)
    if direction > 0:
        return pos, gu * scale, 0
    return pos, -gd * scale, m

@njit(inline="always", cache=True)
def walk(pos, fac, off, n, tab_c, tab_s, m):
    """``n`` pulses of one weight in table coordinates: one multiply-add per pulse."""
    top = m - 1.0
    last = m - 2
    for _ in range(n):
        k = min(int(pos), last) + off
        pos = min(max(pos + fac * (tab_c[k] + tab_s[k] * pos), 0.0), top)
    return pos

@njit(inline="always", cache=True)
def scratch(n):
    """Work buffers of :func:`lockstep` for up to ``n`` walks, in its argument order:
    ``pos, fac`` (float64), ``wj, off, left`` (int64), their sorted copies ``s_pos,
    s_fac, s_off, s_left, s_j``, and 66 rank bins (walks of ≤ 64 pulses)."""
    return (np.empty(n, np.float64), np.empty(n, np.float64), np.empty(n, np.int64),
            np.empty(n, np.int64), np.empty(n, np.int64),
            np.empty(n, np.float64), np.empty(n, np.float64), np.empty(n, np.int64),
            np.empty(n, np.int64), np.empty(n, np.int64), np.zeros(66, np.int64))


@njit(inline="always", cache=True)
def lockstep(wj, pos, fac, off, left, n_act, tab_c, tab_s, m,
             s_pos, s_fac, s_off, s_left, s_j, bins):
    """Walk ``n_act`` independent weights together, one pulse each per round, so the
    dependent chains of different weights overlap.  The walks are first sorted by pulse
    count, longest first (counting sort), so round t is a branch-free loop over the walks
    still running — a prefix.  On return ``s_j[q]`` and ``s_pos[q]`` hold each walk's
    weight index and final position.  (No argument is reassigned: numba's inlining
    mishandles the reference count of a reassigned array argument — it corrupted the
    heap once.)"""
    top = m - 1.0
    last = m - 2
    n_max = 0
    for q in range(n_act):
        n_max = max(n_max, left[q])
    # rank r = n_max − n (longest walks first); more ranks than ``bins`` holds (mixed
    # precision can fire hundreds of pulses per weight): a buffer of this call's own
    work = bins if n_max + 2 <= bins.shape[0] else np.empty(n_max + 2, np.int64)
    for r in range(n_max + 2):
        work[r] = 0
    for q in range(n_act):
        work[n_max - left[q] + 1] += 1
    for r in range(1, n_max + 2):
        work[r] += work[r - 1]
    for q in range(n_act):
        r = n_max - left[q]
        dst = work[r]
        work[r] += 1
        s_pos[dst] = pos[q]
        s_fac[dst] = fac[q]
        s_off[dst] = off[q]
        s_left[dst] = left[q]
        s_j[dst] = wj[q]
    act = n_act
    for t in range(n_max):
        while s_left[act - 1] <= t:
            act -= 1
        for q in range(act):
            p = s_pos[q]
            k = min(int(p), last) + s_off[q]
            s_pos[q] = min(max(p + s_fac[q] * (tab_c[k] + tab_s[k] * p), 0.0), top)

@njit(inline="always", cache=True)
def walk_end(pos, lo, hi, m):
    """Weight at table coordinate ``pos`` (inverse of :func:`walk_start`)."""
    return min(max(lo + pos * (hi - lo) * (1.0 / (m - 1)), lo), hi)

@njit(inline="always", cache=True)
def finish_walks(w, i, n_act, buf, tab_c, tab_s, w_min, w_max, m):
    """Run the ``n_act`` walks queued in the :func:`scratch` buffers ``buf`` (positions,
    factors, weight indices, table offsets, pulse counts) in lockstep and store the final
    weights in row ``i`` of ``w``."""
    pos, fac, wj, off, left, s_pos, s_fac, s_off, s_left, s_j, bins = buf
    lockstep(wj, pos, fac, off, left, n_act, tab_c, tab_s, m, s_pos, s_fac, s_off, s_left,
             s_j, bins)
    for q in range(n_act):
        j = s_j[q]
        w[i, j] = walk_end(s_pos[q], w_min[i, j], w_max[i, j], m)

# samples whose trains one parallel pass walks (x trains of 16 × 784 inputs: 100 kB)
SAMPLE_CHUNK = 16

# walks of at most this many pulses are done at once; longer ones go to the lockstep
SHORT_WALK = 2

@njit(parallel=True, cache=True)
def trains(w, x_bits, x_sign, d_bits, d_sign,
           lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n, in_n = w.shape
    batch = x_bits.shape[0]
    m = lut_up.shape[0]
    tab_c, tab_s = node_tables(lut_up, lut_down)
    cols = np.empty((batch, in_n), np.int32)  # per sample: the inputs that fire at all
    ncols = np.zeros(batch, np.int64)
    for b in range(batch):
        k = 0
        for j in range(in_n):
            if x_bits[b, j] != 0:
                cols[b, k] = j
                k += 1
        ncols[b] = k
    # c2c noise ordinals per weight, running over the samples (noise-free: unused)
    ordv = np.zeros((out_n, in_n) if c2c > 0.0 else (1, 1), np.int64)
    # samples in chunks, so one chunk's trains stay in cache while every row walks them
    for c0 in range(0, batch, SAMPLE_CHUNK):
        c1 = min(batch, c0 + SAMPLE_CHUNK)
        for i in prange(out_n):
            idle = True  # most rows get no pulse at small learning rates: no buffers then
            for b in range(c0, c1):
                if d_bits[b, i] != 0:
                    idle = False
            if idle:
                continue
            buf = scratch(in_n)  # lockstep buffers
            pos, fac, wj, off, left = buf[0], buf[1], buf[2], buf[3], buf[4]
            cu = 0
            cd = 0
            for b in range(c0, c1):
                db = d_bits[b, i]
                if db == 0:
                    continue
                ds = d_sign[b, i]
                n_act = 0
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
                    if c2c > 0.0:
                        wij, ordv[i, j] = pulses(np.float64(w[i, j]), n, direction, lut_up,
                                                 lut_down, gain_up[i, j], gain_down[i, j],
                                                 w_min[i, j], w_max[i, j], c2c, seed,
                                                 i * in_n + j, ordv[i, j])
                        w[i, j] = wij
                        continue
                    p, f, o = walk_start(np.float64(w[i, j]), direction, gain_up[i, j],
                                         gain_down[i, j], w_min[i, j], w_max[i, j], m)
                    if n <= SHORT_WALK:
                        w[i, j] = walk_end(walk(p, f, o, n, tab_c, tab_s, m), w_min[i, j],
                                           w_max[i, j], m)
                        continue
                    wj[n_act] = j
                    pos[n_act] = p
                    fac[n_act] = f
                    off[n_act] = o
                    left[n_act] = n
                    n_act += 1
                if n_act > 0:
                    finish_walks(w, i, n_act, buf, tab_c, tab_s, w_min, w_max, m)
            n_up[i] += cu
            n_down[i] += cd

@njit(inline="always", cache=True)
def signed_pulses(w, i, j, n, lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c,
                  seed):
    """Apply |n| pulses in direction sign(n) to w[i, j] (c2c ordinals from 0)."""
    direction = 1 if n > 0 else -1
    wij, _ = pulses(np.float64(w[i, j]), abs(n), direction, lut_up, lut_down,
                    gain_up[i, j], gain_down[i, j], w_min[i, j], w_max[i, j],
                    c2c, seed, i * w.shape[1] + j, 0)
    w[i, j] = wij

@njit(inline="always", cache=True)
def count_row(w, i, row, n_act, lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c,
              seed, tab_c, tab_s):
    """Apply ``row[j]`` pulses (sign = direction) to ``w[i, j]``; ``n_act`` is the number
    of nonzero entries of ``row``.  Returns (up, down) pulse totals.  Without
    cycle-to-cycle noise the weights are walked in lockstep; with it one after another,
    pulse by pulse.  Rows without pulses allocate nothing."""
    m = lut_up.shape[0]
    cu = 0
    cd = 0
    if n_act == 0:
        return cu, cd
    buf = scratch(n_act)
    pos, fac, wj, off, left = buf[0], buf[1], buf[2], buf[3], buf[4]
    q = 0
    for j in range(row.shape[0]):
        n = row[j]
        if n == 0:
            continue
        if n > 0:
            cu += n
        else:
            cd -= n
        if c2c > 0.0:
            signed_pulses(w, i, j, n, lut_up, lut_down, gain_up, gain_down, w_min, w_max,
                          c2c, seed)
            continue
        pos[q], fac[q], off[q] = walk_start(np.float64(w[i, j]), 1 if n > 0 else -1,
                                            gain_up[i, j], gain_down[i, j], w_min[i, j],
                                            w_max[i, j], m)
        wj[q] = j
        left[q] = abs(n)
        q += 1
    if q > 0:
        finish_walks(w, i, q, buf, tab_c, tab_s, w_min, w_max, m)
    return cu, cd

@njit(parallel=True, cache=True)
def counts(w, cnt, lut_up, lut_down,
           gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n = w.shape[0]
    tab_c, tab_s = node_tables(lut_up, lut_down)
    for i in prange(out_n):
        n_act = 0
        for j in range(cnt.shape[1]):
            if cnt[i, j] != 0:
                n_act += 1
        n_up[i], n_down[i] = count_row(w, i, cnt[i], n_act, lut_up, lut_down, gain_up,
                                       gain_down, w_min, w_max, c2c, seed, tab_c, tab_s)


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
    tab_c, tab_s = node_tables(lut_up, lut_down)
    for i in prange(out_n):
        n_due = 0  # most rows fire nothing at a given step: no buffers then (a full
        for j in range(in_n):  # count, not an early exit: this loop vectorises)
            c = chi[i, j]
            if int(c / (eps_up if c > 0 else eps_down)) != 0:
                n_due += 1
        if n_due == 0:
            continue
        row = np.zeros(in_n, np.int64)
        for j in range(in_n):
            c = chi[i, j]
            e = eps_up if c > 0 else eps_down
            n = int(c / e)
            if n != 0:
                chi[i, j] = c - np.float32(n) * e
                row[j] = n
        n_up[i], n_down[i] = count_row(w, i, row, n_due, lut_up, lut_down, gain_up,
                                       gain_down, w_min, w_max, c2c, seed, tab_c, tab_s)

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
