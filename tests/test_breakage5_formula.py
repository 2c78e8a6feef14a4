"""Breakage round 5 (formula side): the stability rules added in issue 16 (root-series, widen, two-sum,
reciprocal-difference) and the parser's literal limits, checked through the public API against
mpmath at high precision."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet


def _ulps(got, want, dtype):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    spacing = np.maximum(np.spacing(np.abs(want.astype(dtype))).astype(np.float64),
                         float(np.finfo(dtype).smallest_subnormal))
    return np.abs(got - want) / spacing


def _run(kernel, *arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kernel(*arrays)


def _silu_prime_near_root(denominator):
    """silu′(x + shift) at the floats nearest its root, written (1 + x·σ(−x))·σ(x) about x + shift."""
    with mpmath.workdps(60):
        shift = mpmath.mpf(1) / denominator  # the parser reads 1e-8 as 1/10⁸ exactly

        def f(v):
            u = v + shift
            s = 1 / (1 + mpmath.exp(-u))
            return s * (1 + u * (1 - s))
        r = mpmath.findroot(f, -1.2785)
        pts = [float(r)]
        for _ in range(8):
            pts = [np.nextafter(pts[0], -np.inf)] + pts + [np.nextafter(pts[-1], np.inf)]
        pts = np.array(pts)
        return pts, [float(f(mpmath.mpf(float(p)))) for p in pts]


def test_root_series_fires_after_affine_root():
    """silu(x + 1e-8): the affine-root rule writes x + 1/10⁸ as a Grouped sum, which the root-series
    analysis could not evaluate in mpmath (NotEvaluable, swallowed): the rule silently did not fire
    and ∂f/∂x was 1.4e16 ULP off at the float nearest its root (1e7 ULP in float32)."""
    d = symnet.derive("silu(x + 1e-8)")
    k = symnet.compile(d, "numpy")
    assert "root-series" in k.source
    pts, want = _silu_prime_near_root(10 ** 8)
    _, got = _run(k, pts)
    assert float(_ulps(got, want, np.float64).max()) <= 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reciprocal_difference_at_subnormal_p(dtype):
    """(1 − t)/(1 − p) − t/p → (p − t)/(p(1 − p)) was printed into the output as
    np.multiply(1/(p·(1 − p)), p − t): the reciprocal of a subnormal p overflows, so the gradient
    was inf at p = 5e−324, t = 0 (true 1: the t/p term is 0); the quotient is now one division."""
    d = symnet.derive("-(t*log(p) + (1 - t)*log(1 - p))")
    k = symnet.compile(d, "numpy")
    tiny = float(np.finfo(dtype).smallest_subnormal)
    p = np.array([tiny, 4 * tiny, tiny, 0.3, 0.7, 1e-30], dtype=dtype)
    t = np.array([0.0, 2 * tiny, tiny / 2 if dtype is np.float64 else 0.0, 0.3, 1.5, 0.0], dtype=dtype)
    _, dp, _ = _run(k, p, t)
    assert dp.dtype == dtype
    with mpmath.workdps(60):
        want = [float((1 - mpmath.mpf(float(b))) / (1 - mpmath.mpf(float(a))) - mpmath.mpf(float(b)) / mpmath.mpf(float(a)))
                for a, b in zip(p, t)]
    assert np.all(np.isfinite(dp)), dp
    assert float(_ulps(dp, want, dtype).max()) <= 2, (dp, want)
