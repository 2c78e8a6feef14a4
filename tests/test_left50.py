"""Session 50 (h-left50): faults found this session and left as strict xfails.

Fixed here (measured 2026-12-07, base a3232204 and this branch):

- a·b + c·d at a = 1e200, b = 1.8e308, c = inf, d = −1: NaN for −inf in float64 (torch NaN; tests/test_far50.py,
  tests/test_break49.py). widened-product-overflow's scaled far sum a·(b/2⁶⁴)·2⁶⁴ + c·(d/2⁶⁴)·2⁶⁴ is inf − inf
  there. Its scaled body is now taken, where it is ±inf or NaN, as the sum of the terms that hold an infinite input
  (inf·0 and inf − inf NaN as the true value has none; NaN where no input is ±inf). h-far50 wrote those selects as
  Piecewise inside the written form, and SymPy's piecewise_fold distributed them into every sign test of the
  product around it (the cosine loss's Triton kernel failed in the interpreter: test_cancel49). Here each select is
  one node, rewrite.TakenWhereInfiniteBase(value, otherwise, inputs…), with no select in its arguments, which both
  printers print as a select; the written form wraps the scaled body alone. After: −inf (NumPy and Triton, both
  dtypes; float32 inputs were right before, summed in float64). Generated kernels byte-identical (none holds a
  widened sum of two products of inputs).
  Cost (benchmarks/cost_left50.py, CPU time, 1e6 elements, best of 5, base → new; box loaded, ±15 %): a·b + c·d
  ordinary float64 0.79×, float32 1.01×; far (|a·b| ≈ 1e300..1e302, every element in the scaled branch) float64 0.97×;
  float32 1.41× there (1e300 is inf in float32: every element takes the written form, the fault's own case); the
  cosine loss 1.01× / 0.98×.
- ((smooth_l1(x, y))/y)⁻² at x = 0, y = −1.6e308: f 0 for 1 in float64 (torch exact; test_hyp50's strict xfail).
  SymPy writes f as y²·{4/(x − y)⁴ if |x − y| < 1; (|x − y| − 1/2)⁻² otherwise}; power-product made it y·(y·{…}), and
  s⁻² underflowed to 0. New rule monomial-into-power-branches (branches.py, registered after
  factor-into-quotient-branches, before the shared-powers pass of codegen/ir.py): an input's power y^k (k ≥ 2) times a
  select whose every value is a number times negative integer powers moves into each branch, where shared-powers
  writes y²·s⁻² as (y/s)² beyond the powers' normal range; power-product leaves such products to it (as it leaves
  s^n/V^k). After: f 1; f and ∂x within 2.3 ULP (float64) and 0.5 ULP (float32) of mpmath at 60 points about the
  fault (before: f 9.0e15 ULP at x = 3.1e294, y = 6.2e294, 0 for 3.99). Cost (x, y N(0, 3²)): 1.03× float64,
  1.01× float32.
  Found and not fixed (strict xfail below; base the same): ∂y = 2y/s² + 2y²·s′/s³ cancels: 4.4e16 ULP at
  x = −2.57e291, y = −2.10e292 in float64 (1.41e−292 for 1.73e−293); float32 2.9e8 ULP at x = −1.18,
  y = −1.87e17 (−1.5e−33 for 9.6e−35). torch not measured here (no torch on the box).

Not fixed (test_hyp50's strict xfails stay): exp(mish(x) − x^y) at x = 7.6e33, y = 1; (x + y)/(e^x/(e^x + e^y)) − π
∂y at x = y = 709.
"""
import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, mp_function, ulps
from test_worsea41 import _outputs

MP_DPS = 80

F64, F32 = np.float64, np.float32
_x, _y = sp.symbols("x y", real=True)
RULE_CASES = [
    ("monomial-into-power-branches", _y ** 2 * sp.Piecewise((4 / (_x - _y) ** 4, sp.Abs(_x - _y) < 1),
                                                             ((sp.Abs(_x - _y) - sp.Rational(1, 2)) ** -2, True)),
     (_x, _y), (-4.0, 4.0), (0.0, -1.6023537046489114e308), F64),  # written: 0 for 1
]
BOUND = {F64: 4.0, F32: 8.0}
DTYPES = pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
INF = math.inf

PRODUCTS = "a*b + c*d"
COSINE = "1 - (a*c + b*d)/sqrt((a**2 + b**2)*(c**2 + d**2) + 1e-12)"


def _infinite_sum(a, b, c, d):
    """The true a·b + c·d where an input is ±inf: the terms holding one, in floats (inf·0, inf − inf: NaN)."""
    return sum(p * q for p, q in ((a, b), (c, d)) if math.isinf(p) or math.isinf(q))


def test_the_brief_point():
    """a = 1e200, b = 1.8e308, c = inf, d = −1: −inf (before NaN; torch NaN)."""
    got = _outputs(PRODUCTS, "numpy", F64, a=[1e200], b=[1.7976931348623157e308], c=[INF], d=[-1.0])
    assert got[0][0] == -INF and list(g[0] for g in got[1:]) == [1.7976931348623157e308, 1e200, -1.0, INF]


@DTYPES
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_an_infinite_input_beside_a_far_product(backend, dtype):
    """An infinite input (any of the four) beside a product past the range, the other inputs far or 0: the terms
    holding the infinity, in floats."""
    rng = np.random.default_rng(5001)
    n = 8 if backend == "triton" else 60
    top = 3e38 if dtype is F32 else 1.7976931348623157e308
    cols = [rng.choice([-1, 1], n) * (top / 10.0 ** rng.uniform(0, 10, n)) for _ in range(4)]
    where = rng.integers(0, 4, n)
    for i in range(n):
        cols[where[i]][i] = rng.choice([-INF, INF])
    cols[(where[3] + 1) % 4][3] = 0.0  # inf·0 or a zero beside it
    a, b, c, d = (v.astype(dtype) for v in cols)
    got = _outputs(PRODUCTS, backend, dtype, a=a, b=b, c=c, d=d)[0]
    want = np.array([_infinite_sum(*p) for p in zip(a.tolist(), b.tolist(), c.tolist(), d.tolist())])
    assert np.array_equal(got, want, equal_nan=True), (got, want)


@DTYPES
def test_nan_and_overflowing_sums_stay(dtype):
    """Where no input is ±inf the written form is not taken as a finite number: a NaN input NaN; a finite sum past
    the range (1e300·1e300 + 1e300·1e300) +inf, as before."""
    big = 1e300 if dtype is F64 else 1e30
    got = _outputs(PRODUCTS, "numpy", dtype, a=[np.nan, big, big], b=[1.0, big, big], c=[1.0, big, -big],
                   d=[1.0, big, big])[0]
    assert np.isnan(got[0]) and got[1] == INF and got[2] == 0.0, got


def test_the_cosine_loss_kernel_holds_no_folded_select():
    """The cosine loss (whose Triton kernel failed under the interpreter with h-far50's form): its NumPy module takes
    a written form once per widened product sum, none of them a bare number; its Triton kernel runs and agrees
    with NumPy at ordinary, far and infinite points."""
    source = compiled(COSINE).source
    assert "_taken_again(fn_1, float(\"nan\")" not in source and "lambda: nan" not in source
    rng = np.random.default_rng(5002)
    cols = [rng.normal(0, 3, 8) for _ in range(4)]
    cols[0][1], cols[2][2], cols[1][3], cols[3][4] = 1e200, INF, -INF, 1e300
    cols[2][4] = 1.7976931348623157e308
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _outputs(COSINE, "numpy", F64, **dict(zip("abcd", cols)))
        got = _outputs(COSINE, "triton", F64, **dict(zip("abcd", cols)))
    for g, w in zip(got, want):
        assert np.allclose(g, w, rtol=1e-14, atol=0, equal_nan=True), (g, w)


# ------------------------------------------------------------------ ((smooth_l1(x, y))/y)⁻² at a huge y

SMOOTH_QUOTIENT = "((smooth_l1(x, y))/(y))**(-2)"


def _truth(formula, names, columns, digits=80):
    """[f, ∂…] of ``formula`` by mpmath at ``digits`` (SymPy's derivatives of the formula as written)."""
    from symnet.parsing import FUNCTIONS

    symbols = sp.symbols(names, real=True, seq=True)
    expr = sp.sympify(formula, locals={**FUNCTIONS, **{str(v): v for v in symbols}})
    out = []
    for e in [expr] + [sp.diff(expr, v) for v in symbols]:
        fn = mp_function(e, symbols)
        with mpmath.workdps(digits):
            out.append([fn(*(mpmath.mpf(float(v)) for v in row)) for row in zip(*columns)])
    return out


def _worst(got, truth, dtype):
    """The worst ULPs of ``got`` against ``truth`` where the truth is a normal number."""
    tiny, top = float(np.finfo(dtype).tiny), float(np.finfo(dtype).max)
    errs = [ulps(g, t, dtype) for g, t in zip(got, truth) if tiny <= abs(float(t)) <= top]
    return max(errs) if errs else 0.0


def test_smooth_l1_quotient_at_the_brief_point():
    """x = 0, y = −1.6e308: f = 1 (before 0; torch 1)."""
    got = _outputs(SMOOTH_QUOTIENT, "numpy", F64, x=[0.0], y=[-1.6023537046489114e308])
    assert got[0][0] == 1.0, got


@DTYPES
def test_smooth_l1_quotient_about_the_fault(dtype):
    """y far (to the dtype's largest) and x ordinary or comparable: f, ∂x, ∂y within the bound of mpmath where the truth
    is normal; and ordinary points (|x − y| below and above 1) as before."""
    rng = np.random.default_rng(5003)
    top = 300 if dtype is F64 else 37
    n = 40
    y = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(top - 20, top + 0.25, n)
    x = np.where(rng.random(n) < 0.5, rng.normal(0, 3, n), y * rng.uniform(-2, 2, n))
    x = np.concatenate([x, rng.normal(0, 3, 20)])
    y = np.concatenate([y, rng.normal(0, 3, 20)])
    x[-5:] = y[-5:] + rng.uniform(-0.9, 0.9, 5)  # |x − y| < 1
    x, y = x.astype(dtype), y.astype(dtype)
    got = _outputs(SMOOTH_QUOTIENT, "numpy", dtype, x=x, y=y)
    truth = _truth(SMOOTH_QUOTIENT, "x y", [x, y])
    worst = [_worst(g, t, dtype) for g, t in zip(got, truth)]
    assert max(worst[:2]) <= BOUND[dtype], worst  # ∂y: the strict xfail below


@pytest.mark.xfail(strict=True, reason="found, not fixed (left50; base a3232204 the same): ∂y = 2y/s² + 2y²·s′/s³ "
                   "cancels where |y| ≫ |x − y| − 1/2 is not: 4.4e16 ULP at x = −2.5727507899432065e291, "
                   "y = −2.0990176946015406e292 in float64 (1.41e−292 for 1.73e−293)")
def test_smooth_l1_quotient_dy_where_its_terms_cancel():
    x, y = [-2.5727507899432065e291], [-2.0990176946015406e292]
    got = _outputs(SMOOTH_QUOTIENT, "numpy", F64, x=x, y=y)[2]
    assert ulps(got[0], _truth(SMOOTH_QUOTIENT, "x y", [x, y])[2][0], F64) <= 4


def test_smooth_l1_quotient_triton():
    """The Triton kernel at the fault and beside it, float64 and float32: the NumPy kernel's values."""
    x = np.array([0.0, 3.0, -1e300, 0.5, 1.0])
    y = np.array([-1.6023537046489114e308, 1e305, 1.5e308, 1.0, -2.0])
    for dtype, scale in ((F64, 1.0), (F32, 1e-270)):
        cols = {"x": (x * scale).astype(dtype), "y": (y * scale).astype(dtype)}
        want = _outputs(SMOOTH_QUOTIENT, "numpy", dtype, **cols)
        got = _outputs(SMOOTH_QUOTIENT, "triton", dtype, **cols)
        for g, w in zip(got, want):
            assert np.allclose(g, w, rtol=1e-6 if dtype is F32 else 1e-14, atol=0, equal_nan=True), (dtype, g, w)
