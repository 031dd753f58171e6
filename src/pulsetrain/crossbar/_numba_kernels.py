"""numba kernels behind :mod:`pulsetrain.crossbar.kernels` (imported only when numba is).

Module-level functions so numba can cache the compiled code on disk.
"""
# mypy: ignore-errors

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from pulsetrain.crossbar.noise import GOLDEN, MASK32, MIX_MUL1, MIX_MUL2, ORDINAL_MIX

MASK = np.uint64(MASK32)
MUL1 = np.uint64(MIX_MUL1)
MUL2 = np.uint64(MIX_MUL2)
GOLD = np.uint64(GOLDEN)
ORD = np.uint64(ORDINAL_MIX)

@njit(inline="always", cache=True)
def mix32(x):
    x = x ^ (x >> np.uint64(16))
    x = (x * MUL1) & MASK
    x = x ^ (x >> np.uint64(15))
    x = (x * MUL2) & MASK
    return x ^ (x >> np.uint64(16))

@njit(inline="always", cache=True)
def gauss(seed, index, ordinal):
    a = mix32(((np.uint64(seed) & MASK) * GOLD + np.uint64(index)) & MASK)
    h1 = mix32((a + np.uint64(2 * ordinal) * ORD) & MASK)
    h2 = mix32((a + np.uint64(2 * ordinal + 1) * ORD) & MASK)
    u1 = (np.float64(h1) + 0.5) / 4294967296.0
    u2 = (np.float64(h2) + 0.5) / 4294967296.0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

@njit(inline="always", cache=True)
def uniform(seed, index, ordinal):
    a = mix32(((np.uint64(seed) & MASK) * GOLD + np.uint64(index)) & MASK)
    h = mix32((a + np.uint64(ordinal) * ORD) & MASK)
    return (np.float64(h) + 0.5) / 4294967296.0

# entries of one sample that one parallel task of draw_bits draws when the batch is small
DRAW_BLOCK = 256

@njit(parallel=True, cache=True)
def draw_bits(values, scale, bl, seed, out):
    batch, n = values.shape
    # parallel over samples; a small batch is also split into blocks of entries, so a
    # batch of one sample is drawn on every core (one integer division per task)
    block = n if batch >= 8 else DRAW_BLOCK
    blocks = (n + block - 1) // block
    for task in prange(batch * blocks):
        b = task // blocks
        j0 = (task - b * blocks) * block
        nb = bl[b]
        sb = scale[b]
        full = (np.int64(1) << nb) - np.int64(1)
        for j in range(j0, min(n, j0 + block)):
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

@njit(parallel=True, cache=True)
def management(x, d, lr, dw_min, bl, update_management, bl_management, scale_x, scale_d,
               bl_b):
    batch, in_n = x.shape
    out_n = d.shape[1]
    for b in prange(batch):
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
    ordinal).  The reference walk; noise-free runs use :func:`walk_queue`."""
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
def walk_end(pos, lo, hi, m):
    """Weight at table coordinate ``pos`` ∈ [0, m−1] (walks run in table coordinates:
    a pulse is ``pos += fac·(c[k] + s[k]·pos)`` with ``fac = ±gain·(m−1)/(hi−lo)``)."""
    return min(max(lo + pos * (hi - lo) * (1.0 / (m - 1)), lo), hi)

@njit(inline="always", cache=True)
def scratch(n):
    """Work buffers of :func:`walk_queue` for up to ``n`` walks, in its argument order:
    the queue ``q_j, q_n`` (weight index, signed pulse count), the walks sorted by length
    ``s_pos, s_fac`` (float64), ``s_off, s_left, s_j`` (int64), and 66 rank bins."""
    return (np.empty(n, np.int64), np.empty(n, np.int64),
            np.empty(n, np.float64), np.empty(n, np.float64), np.empty(n, np.int64),
            np.empty(n, np.int64), np.empty(n, np.int64), np.zeros(66, np.int64))


@njit(inline="always", cache=True)
def rounds(s_pos, s_fac, s_off, s_left, n_act, n_max, tab_c, tab_s, m):
    """Advance ``n_act`` walks sorted longest first, one pulse each per round: round t
    runs the walks with more than t pulses — a prefix, so each round is a branch-free
    loop whose iterations (different weights) are independent and overlap."""
    top = m - 1.0
    last = m - 2
    act = n_act
    for t in range(n_max):
        while s_left[act - 1] <= t:
            act -= 1
        for q in range(act):
            p = s_pos[q]
            k = min(int(p), last) + s_off[q]
            s_pos[q] = min(max(p + s_fac[q] * (tab_c[k] + tab_s[k] * p), 0.0), top)


@njit(inline="always", cache=True)
def walk_queue(w, i, nq, n_max, buf, tab_c, tab_s, gain_up, gain_down, w_min, w_max, m):
    """Apply the ``nq`` queued walks of row ``i`` (``buf[0][q]`` weight index,
    ``buf[1][q]`` signed nonzero pulse count, at most ``n_max`` pulses) in lockstep and
    store the final weights.  The queue is counting-sorted by length straight into the
    walk buffers (converted to table coordinates on the way), without a branch on the
    count or the direction — both are random in pulsed SGD, and mispredicted branches
    cost more than the walk itself.  (No argument is reassigned: numba's inlining
    mishandles the reference count of a reassigned array argument — it corrupted the
    heap once.)"""
    q_j, q_n, s_pos, s_fac, s_off, s_left, s_j, bins = buf
    # rank bins: walks of n pulses go to bin n (more bins than preallocated: mixed
    # precision can fire hundreds of pulses per weight — a buffer of this call's own)
    work = bins if n_max + 2 <= bins.shape[0] else np.empty(n_max + 2, np.int64)
    for r in range(n_max + 1):
        work[r] = 0
    for q in range(nq):
        work[abs(q_n[q])] += 1
    acc = 0  # bin starts, longest walks first
    for r in range(n_max, -1, -1):
        h = work[r]
        work[r] = acc
        acc += h
    n_act = work[0]
    scale_m = m - 1.0
    for q in range(nq):
        j = q_j[q]
        c = q_n[q]
        n = abs(c)
        dst = work[n]
        work[n] = dst + 1
        lo = w_min[i, j]
        scale = scale_m / (w_max[i, j] - lo)
        up_fac = gain_up[i, j] * scale
        down_fac = -gain_down[i, j] * scale
        s_pos[dst] = min(max((np.float64(w[i, j]) - lo) * scale, 0.0), scale_m)
        s_fac[dst] = up_fac if c > 0 else down_fac
        s_off[dst] = 0 if c > 0 else m
        s_left[dst] = n
        s_j[dst] = j
    rounds(s_pos, s_fac, s_off, s_left, n_act, n_max, tab_c, tab_s, m)
    for q in range(n_act):
        j = s_j[q]
        w[i, j] = walk_end(s_pos[q], w_min[i, j], w_max[i, j], m)

# samples whose trains one parallel pass walks (x trains of 16 × 784 inputs: 100 kB)
SAMPLE_CHUNK = 16

@njit(parallel=True, cache=True)
def trains(w, x_bits, x_sign, d_bits, d_sign,
           lut_up, lut_down, gain_up, gain_down, w_min, w_max, c2c, seed, n_up, n_down):
    out_n, in_n = w.shape
    batch = x_bits.shape[0]
    m = lut_up.shape[0]
    tab_c, tab_s = node_tables(lut_up, lut_down)
    cols = np.empty((batch, in_n), np.int32)  # per sample: the inputs that fire at all
    ncols = np.zeros(batch, np.int64)
    for b in prange(batch):
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
            buf = scratch(in_n)
            q_j, q_n = buf[0], buf[1]
            cu = 0
            cd = 0
            for b in range(c0, c1):
                db = d_bits[b, i]
                if db == 0:
                    continue
                ds = d_sign[b, i]
                # queue the coincidences with their signed counts, branch-free (every
                # entry is written, the queue advances only past nonzero counts)
                n_max = 0
                nq = 0
                for kk in range(ncols[b]):
                    j = cols[b, kk]
                    n = popcount(x_bits[b, j] & db)
                    up = np.int64(ds * x_sign[b, j] < 0)
                    cu += n * up
                    cd += n * (1 - up)
                    n_max = max(n_max, n)
                    q_j[nq] = j
                    q_n[nq] = n * (2 * up - 1)
                    nq += np.int64(n > 0)
                if nq == 0:
                    continue
                if c2c > 0.0:  # per-pulse reference walk: each pulse draws its noise
                    for q in range(nq):
                        j = q_j[q]
                        c = q_n[q]
                        wij, ordv[i, j] = pulses(np.float64(w[i, j]), abs(c),
                                                 1 if c > 0 else -1, lut_up, lut_down,
                                                 gain_up[i, j], gain_down[i, j], w_min[i, j],
                                                 w_max[i, j], c2c, seed, i * in_n + j,
                                                 ordv[i, j])
                        w[i, j] = wij
                else:
                    walk_queue(w, i, nq, n_max, buf, tab_c, tab_s, gain_up, gain_down, w_min,
                               w_max, m)
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
    q_j, q_n = buf[0], buf[1]
    q = 0
    n_max = 0
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
        q_j[q] = j
        q_n[q] = n
        n_max = max(n_max, abs(n))
        q += 1
    if q > 0:
        walk_queue(w, i, q, n_max, buf, tab_c, tab_s, gain_up, gain_down, w_min, w_max, m)
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
        n_due = due_in_row(chi, i, eps_up, eps_down)
        if n_due == 0:  # most rows fire nothing at a given step: no buffers then
            continue
        row = np.zeros(in_n, np.int64)
        split_row(chi, i, eps_up, eps_down, row)
        n_up[i], n_down[i] = count_row(w, i, row, n_due, lut_up, lut_down, gain_up,
                                       gain_down, w_min, w_max, c2c, seed, tab_c, tab_s)

@njit(cache=True)
def due_in_row(chi, i, eps_up, eps_down):
    """How many devices of row ``i`` have a transfer due (``trunc(χ/ε) ≠ 0``; a full
    count, not an early exit: this loop vectorises)."""
    n_due = 0
    for j in range(chi.shape[1]):
        c = chi[i, j]
        if int(c / (eps_up if c > 0 else eps_down)) != 0:
            n_due += 1
    return n_due


@njit(cache=True)
def split_row(chi, i, eps_up, eps_down, row):
    """``row = trunc(χ_i/ε)`` where nonzero (``row`` comes zeroed) and ``χ_i −= row·ε``;
    returns max |row|."""
    m = 0
    for j in range(chi.shape[1]):
        c = chi[i, j]
        e = eps_up if c > 0 else eps_down
        n = int(c / e)
        if n != 0:
            chi[i, j] = c - np.float32(n) * e
            row[j] = n
            m = max(m, abs(n))
    return m


@njit(parallel=True, cache=True)
def split_rows(chi, eps_up, eps_down, counts, row_max):
    """``counts = trunc(χ/ε)``, ``χ −= counts·ε`` (as :func:`accumulated_rows`), and
    each row's max |count|; ``counts`` and ``row_max`` come zeroed."""
    for i in prange(chi.shape[0]):
        if due_in_row(chi, i, eps_up, eps_down):
            row_max[i] = split_row(chi, i, eps_up, eps_down, counts[i])

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
