"""Session 23, h-xyz23: a sum of products of inputs against a target (x·y − z, a linear model's w·x + b − t) widened
with a cheap front (symnet/codegen/doubleword._product_sum_front): the float64 body and its bound everywhere, Sum2
(Ogita, Rump & Oishi 2005: TwoSum, TwoProduct) on the elements whose bound is past ``within`` of the value only, the
whole widened function (double, triple, scaled double words) where Sum2 is not enough.

References independent of symnet's code generator: mpmath at 1000 digits of SymPy's derivative of the formula as
written and torch's autograd in the same dtype (tests/test_breakage21b._faults: within 4/8 ULP where the truth is
normal, never worse than torch); exact rational arithmetic (fractions.Fraction, rounded once by float()) for arrays
of 20,000 elements. Measured 2026-12-03: 0 faults; before (main, the sum not widened) x·y − z at z = fl(x·y) 5.8e15
ULP float64, 8.7e6 float32 (torch the same).
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from conftest import compiled
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
LINEAR = ("(w*x + b - t)**2", ["b", "t", "w", "x"], lambda T, b, t, w, x: (w * x + b - t) ** 2)
PRODUCT = ("x*y - z", ["x", "y", "z"], lambda T, x, y, z: x * y - z)


def _neighbours(v, dtype):
    v = dtype(v)
    return [float(v), float(np.nextafter(v, dtype(-np.inf))), float(np.nextafter(v, dtype(np.inf)))]


def _linear_points(dtype):
    """t at fl(w·x + b) and its neighbours (every element cancels); t = (w·x + b)(1 − 2⁻ᵏ) for k = 1 … 60 (each depth
    of cancellation: Sum2 taken up to |value| = 4n² bound, the whole function past it); b − t cancelling beside a tiny
    w·x (the sum's depth is b's, not the product's)."""
    pts = []
    for w, x, b in [(1.1, 1.3, 0.25), (0.7, -3.3, 2.0), (3.0, 1 / 3, -1.0), (1e5, 1.0000001, -1e5)]:
        w, x, b = (float(dtype(v)) for v in (w, x, b))
        pts += [(b, t, w, x) for t in _neighbours(w * x + b, dtype)]
    w, x, b = (float(dtype(v)) for v in (1.1, 1.3, 0.25))
    pts += [(b, float(dtype((w * x + b) * (1 - 2.0 ** -k))), w, x) for k in range(1, 61, 3)]
    w, x = float(dtype(3e-9)), float(dtype(1.7e-9))
    pts += [(1.0, t, w, x) for t in _neighbours(1.0 + w * x, dtype)]
    return pts


def _boundary_points(dtype):
    """x·y − z about the front's test (float64: |x·y| > 2|x·y − z| is sent to Sum2): z = x·y/2 and 3x·y/2 and their
    neighbours, where the bound u|x·y| + u|x·y − z| meets 3u|x·y − z|, and z = fl(x·y)·(1 ± 2⁻ᵏ)."""
    pts = []
    for x, y in [(1.1, 1.3), (0.7, -3.3), (1e5, 1.0000001)]:
        x, y = float(dtype(x)), float(dtype(y))
        p = x * y
        for z in (p / 2, 1.5 * p, p * (1 - 2.0 ** -30), p * (1 + 2.0 ** -45)):
            pts += [(x, y, v) for v in _neighbours(z, dtype)]
    return pts


def test_product_near_the_ends_of_the_range():
    """x·y − z at z = fl(x·y) and its neighbours where x·y is past 2⁹⁹⁶ (TwoProduct's scaled split), near the largest
    float64, and about 2⁻⁹⁰⁰ (Sum2's value above 2⁻⁹⁶⁸) and 2⁻⁹⁶⁰ (below it: the scaled double words), float64."""
    formula, names, tfn = PRODUCT
    pts = []
    for x, y in [(1.7e300, 100.3), (1.3e304, 13.7), (1.1 * 2.0 ** -450, 1.3 * 2.0 ** -450),
                 (1.1 * 2.0 ** -480, 1.3 * 2.0 ** -480), (-3.3 * 2.0 ** -455, 0.7 * 2.0 ** -445)]:
        pts += [(x, y, z) for z in _neighbours(x * y, F64)]
    assert not _faults(formula, names, pts, F64, tfn)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_linear_model_squared_error_at_its_target(dtype):
    """(w·x + b − t)² and its four derivatives within 4/8 ULP of mpmath at t about fl(w·x + b) (37 points)."""
    formula, names, tfn = LINEAR
    assert not _faults(formula, names, _linear_points(dtype), dtype, tfn)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_product_at_the_front_boundary(dtype):
    """x·y − z at the boundary of the front's test and past it: nothing the test keeps needed the correction."""
    formula, names, tfn = PRODUCT
    assert not _faults(formula, names, _boundary_points(dtype), dtype, tfn)


def _exact_ulps(got, exact_values, dtype):
    """ULPs of ``got`` from the exact rationals (float() rounds a Fraction once, correctly)."""
    out = []
    for g, e in zip(got, exact_values):
        r = dtype(float(e))
        out.append(0.0 if g == r else abs(Fraction(float(g)) - e) / Fraction(float(np.spacing(abs(r)))))
    return out


@pytest.mark.parametrize("spread", ["random", "apart"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_mixed_blocks_against_exact_rationals(dtype, spread):
    """20,000 elements of w·x + b − t in two blocks of the kernel, 300 cancelling (t = fl(w·x + b), t next to it,
    b − t beside a tiny w·x) among others: ∂b = 2(…) within 4 ULP of the exact rational value, f = (…)² within
    max(4, the written form's ULPs) (the elements past the bound corrected in place; the others keep the float64 body
    where its bound is within 3u, as the widen rule does everywhere). ``random``: every input in [−2, 2] (a third of
    the block past the bound: Sum2 on the whole block); ``apart``: w, x in [1.25, 2], b in [0, 1], t in [−1, 0] besides
    the 300 (Sum2 on those, gathered). Measured float64: ∂b 1.48 ULP at most random, 1.50 apart (1.34 on the 300); f
    3.50 random, 4.24 apart at four elements that do not cancel, where the float64 sum kept (within 3u) is squared:
    the written form's (torch's) bits there; float32 0 and 0."""
    rng = np.random.default_rng(23)
    n = 20_000
    w, x, b, t = (rng.uniform(-2, 2, n) for _ in range(4))
    if spread == "apart":
        w, x, b, t = w / 4 + 1.5, x / 4 + 1.5, b / 4 + 0.5, t / 4 - 0.5
    some = rng.choice(n, 300, replace=False)
    t[some[:100]] = w[some[:100]] * x[some[:100]] + b[some[:100]]
    t[some[100:200]] = np.nextafter(t[some[100:200]], np.inf)
    t[some[200:]] = b[some[200:]]
    w[some[200:]] *= 1e-12
    cols = [np.asarray(c, dtype) for c in (b, t, w, x)]
    k = compiled(LINEAR[0], "numpy", tuple(LINEAR[1]))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f, d_b = k(*cols)[:2]
    exact = [Fraction(float(wi)) * Fraction(float(xi)) + Fraction(float(bi)) - Fraction(float(ti))
             for bi, ti, wi, xi in zip(*cols)]
    b, t, w, x = cols
    written = (w * x + b - t) ** 2  # as torch computes it (the same bits in float64)
    squares = [e * e for e in exact]
    past = [i for i, (ours, theirs) in enumerate(zip(_exact_ulps(f, squares, dtype), _exact_ulps(written, squares, dtype)))
            if ours > max(4, theirs)]
    worst_d = max(_exact_ulps(d_b, [2 * e for e in exact], dtype))
    assert not past and worst_d <= 4, (past[:5], float(worst_d))


def test_product_front_keeps_nan_and_inf_as_torch():
    """inf and NaN inputs: the front keeps the float64 value (its bound is not finite), as torch."""
    formula, names, tfn = PRODUCT
    inf, nan = math.inf, math.nan
    pts = [(inf, 2.0, 1.0), (inf, 2.0, inf), (nan, 1.0, 1.0), (1e300, 1e300, 1.0), (1.1, 1.3, inf), (0.0, inf, 1.0)]
    assert not _faults(formula, names, pts, F64, tfn)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_linear_model_squared_error_at_its_target(dtype):
    """The Triton kernel (TRITON_INTERPRET=1; the whole double word in a float64 kernel, the bound in float32): as
    NumPy's, at the first 12 points."""
    formula, names, tfn = LINEAR
    assert not _faults(formula, names, _linear_points(dtype)[:12], dtype, tfn, backend="triton")
