"""Uncertainty over seeds: Student-t confidence intervals, Welch's t-test and the seeds a
difference would need (pure functions, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CI_LEVEL = 0.95
"""Confidence level of every interval in the reports (two-sided)."""

ALPHA = 0.05
"""Significance level of the comparisons (two-sided Welch's t-test over seeds)."""

POWER = 0.8
"""Power the "seeds needed" estimate asks for (probability of detecting the observed
difference at :data:`ALPHA`)."""

CI_METHOD = (f"Student-t {100 * CI_LEVEL:.0f} % confidence interval of the mean over seeds "
             "(mean ± t·s/√n, n seeds, sample std s)")
"""The interval method in words, as the reports state it."""

TEST_METHOD = (f"Welch's t-test over seeds at {100 * ALPHA:.0f} % (two-sided); seeds needed: "
               f"normal-approximation power calculation, {100 * POWER:.0f} % power at the "
               "observed difference and spread")
"""The comparison test in words."""


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with its confidence interval (``low``/``high`` NaN below two
    values); same unit as the values."""

    mean: float
    low: float
    high: float
    n: int


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return np.asarray(x[np.isfinite(x)], dtype=float)


def mean_ci(values: Sequence[float] | np.ndarray, level: float = CI_LEVEL) -> Interval:
    """Mean and Student-t ``level`` interval of the finite ``values`` (NaN/None dropped):
    ``mean ± t_{(1+level)/2, n-1} · s / √n``; a zero spread gives a zero-width interval."""
    x = _finite(values)
    if x.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, int(x.size))
    half = float(stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(mean, mean - half, mean + half, int(x.size))


def welch_p(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test between the finite values of ``a`` and ``b``;
    NaN with fewer than two values on a side; 0 or 1 where both sides have no spread
    (the means differ or not)."""
    x, y = _finite(a), _finite(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    scale = 1e-9 * max(abs(float(x.mean())), abs(float(y.mean())), 1e-300)
    if x.std(ddof=1) <= scale and y.std(ddof=1) <= scale:  # no spread (float noise)
        return 0.0 if abs(float(x.mean() - y.mean())) > scale else 1.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def seeds_needed(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                 alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per side for a two-sided test at ``alpha`` to detect the observed difference
    of means with probability ``power`` at the observed spread:
    ``n = ⌈(z_{1-α/2} + z_{power})² (s_a² + s_b²) / Δ²⌉`` (at least 2); ``None`` when the
    means are equal or a side has under two values."""
    x, y = _finite(a), _finite(b)
    if x.size < 2 or y.size < 2:
        return None
    delta = float(x.mean() - y.mean())
    if delta == 0:
        return None
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    var = float(x.var(ddof=1) + y.var(ddof=1))
    return max(2, math.ceil(z * z * var / (delta * delta)))
