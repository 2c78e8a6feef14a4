"""nbfix44 (issue 16, session 44, h-nbfix44): the negative-binomial NLL's ∂r = log1p(μ/r) − μ/(μ + r) + k/(μ + r)
where μ/r is far below 1, its first two terms as the series u²·(1/2 − 2u/3) (u = μ/r) where |u| ≤ 2⁻³⁰ (widened-log-sum's
_log_complement_near), against mpmath (700 digits) and torch autograd in float64."""
from __future__ import annotations

import numpy as np
import pytest

from test_review44 import _worst, NEGBIN, NEGBIN_NAMES, F64, F32


def _far_apart(n, seed, dtype, low, high):
    """n points (k, μ, r): μ/r = 10^U(low, high), r = 10^U(−5, 5) (float32: 10^U(−3, 3)), k = 0 at half, else an
    integer in 0..4; μ and r rounded to the dtype."""
    rng = np.random.default_rng(seed)
    span = 5 if dtype is F64 else 3
    r = (10.0 ** rng.uniform(-span, span, n)).astype(dtype).astype(F64)
    mu = (10.0 ** rng.uniform(low, high, n) * r).astype(dtype).astype(F64)
    k = np.where(rng.random(n) < 0.5, 0.0, rng.integers(0, 5, n).astype(F64))
    return [k, mu, r]


def test_negative_binomial_r_at_k_zero_at_the_failing_point():
    # before (fb14a9f2): 1e−110 where the truth is 5e−221, 1.0e126 ULP in float64 (torch 0: 5.1e15 ULP)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [[0.0], [1e-100], [1e10]], "r", F64, digits=700)
    assert ours <= 1 and worse == 0, (ours, theirs)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_negative_binomial_r_far_apart(dtype):
    """300 points with μ/r in 10^[−300, −20] (float32: 10^[−37, −8]), k = 0 and small: ∂r within the bound of mpmath
    and no worse than torch. Before (fb14a9f2): float64 218 of 300 past the bound, 185 worse than torch (worst
    3.7e169 ULP); float32 13 past, 11 worse (5.6e10 ULP). After: 0.50 ULP at worst in both."""
    low, high = (-300, -20) if dtype is F64 else (-37, -8)
    cols = _far_apart(300, 4400 + (dtype is F32), dtype, low, high)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, cols, "r", dtype, digits=700)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_negative_binomial_r_around_the_series_bound(dtype):
    """300 points with μ/r within a factor 64 of the series' bound 2⁻³⁰ (either side: the series, then the widened
    sum), and 300 with μ/r in 10^[−20, −2]: ∂r within the bound, no worse than torch. Before (fb14a9f2): float64
    32 of the second 300 past the bound (3.4e6 ULP at worst, torch worse); after 0.50 ULP at worst everywhere."""
    for low, high, seed in [(-30 * np.log10(2) - 1.8, -30 * np.log10(2) + 1.8, 4402), (-20, -2, 4403)]:
        cols = _far_apart(300, seed + 10 * (dtype is F32), dtype, low, high)
        ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, cols, "r", dtype, digits=700)
        assert past == 0 and worse == 0, (low, high, ours, theirs, past, worse)
