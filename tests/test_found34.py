"""found34 (issue 16): faults session 33's helpers found and did not record, each measured against mpmath (60 digits,
700 where a sum of float64 near 1e308 cancels) and torch autograd (float64) of the formula as written:

- x − 3y + 1 was 0 for 5.6e−17 at (0, fl(1/3)) (4.5e15 ULP, torch the same) and 16 ULP at (−1.7e308, −6e307)
  (torch inf): c·y with c no power of two rounds as x·y does, and the widen rule (rewrite._widen_hazard) now takes it;
  3y overflows there where the sum does not: the scaled double words (doubleword._dwx_leaf, _dwx_tier) scale a leaf
  above 2⁹⁰⁰ by 2⁻⁶⁰⁰ and are taken where the double word is not finite and every leaf is.
- x − 3y + tanh(x) was inf at (−1.7e308, −6e307) for 1e307 (torch inf): the same.
- log(2cosh²x − 1 + y) was 2,473 ULP at (0.00638, 1.27e−4) (torch 2,395): the widened-log-argument rule now takes a
  widened sum that holds e^x (exp-collect's e^(2x)/2 + e^(−2x)/2 + y).
- ∂x of x·y/√(3x² + 1), y·(1/√B − 3x²/B^(3/2)), was −4.5e−36 for −5.8e−61 at (−1e20, −3) (torch the same): the rule
  sum-power-cancel writes it y/B^(3/2) (the inner sum B − 3x² multiplies out to 1).

Bounds: issue 16's, 4 ULP float64 and 8 float32, where the true value is a normal number; never worse than torch.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import ulps
from test_xfail33 import _run, _torch_worst, _worst  # a formula compiled once and run; the worst ULP per output

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}

_x, _y = sp.symbols("x y", real=True)
# (rule, formula, variables, range of the exactness check, the point where the written form fails, dtype): read by
# tests/test_stability_rules.py
RULE_CASES = [
    ("sum-power-cancel", _x * _y / sp.sqrt(3 * _x ** 2 + 1), (_x, _y), (-3.0, 3.0), (-1e20, -3.0),
     F64),  # ∂x −4.5e−36 for −5.8e−61 as written
]


def _truths(truth, columns, digits):
    with mpmath.workdps(digits):
        rows = [truth(*[mpmath.mpf(float(c[i])) for c in columns]) for i in range(len(columns[0]))]
    return [list(col) for col in zip(*rows)]


def _check(formula, dtype, columns, truth, torch_fn, digits=60):
    """Every output within issue 16's bound of ``truth`` (mpmath) at ``columns``, and never past torch autograd."""
    cols = [np.asarray(c, dtype) for c in columns]
    outs = _run(formula, dtype, *cols)
    truths = _truths(truth, cols, digits)
    worst = _worst(outs, truths, dtype)
    where = [(w, i is not None and tuple(float(c[i]) for c in cols)) for w, i in worst]
    assert all(w <= BOUND[dtype] for w, _ in worst), (formula, dtype, where)
    if dtype is F64 and torch_fn is not None:
        torch_worst = _torch_worst(torch_fn, truths, *cols)
        assert all(w <= max(BOUND[dtype], tw) for (w, _), tw in zip(worst, torch_worst)), (where, torch_worst)
    return worst


# ------------------------------------------------------------------ x − 3y + 1, x − 3y + tanh(x)

def _affine_points(c, seed, n=150):
    """y over ±[1e307, 5.9e307/c] with x = c·y·(1 ± 10 %) (c·y overflows for most of them), and x within 4 ULPs of
    c·y − 1 for |y| ≤ 1e3 (the sum cancels), and the two points that failed."""
    rng = np.random.default_rng(seed)
    far_y = rng.choice([-1, 1], n) * rng.uniform(1e307, min(1.77e308, 1.77e308 / c), n)
    far_x = np.clip(c * far_y * (1 + rng.uniform(-0.1, 0.1, n)), -1.79e308, 1.79e308)
    near_y = rng.uniform(-1e3, 1e3, n)
    near_x = (c * near_y - 1) * (1 + rng.integers(-4, 5, n) * 2.0 ** -52)
    return (np.concatenate([far_x, near_x, [-1.7e308, 0.0]]),
            np.concatenate([far_y, near_y, [-0.6e308, 0.3333333333333333]]))


def test_affine_sum_at_the_failing_points():
    # 16 ULP at (−1.7e308, −6e307) before (torch inf), 4.5e15 at (0, fl(1/3)) (0 for 5.6e−17; torch the same)
    outs = _run("x - 3*y + 1", F64, [-1.7e308, 0.0], [-0.6e308, 0.3333333333333333])
    with mpmath.workdps(700):
        for i, (x, y) in enumerate([(-1.7e308, -0.6e308), (0.0, 0.3333333333333333)]):
            t = mpmath.mpf(x) - 3 * mpmath.mpf(y) + 1
            assert ulps(outs[0][i], t, F64) <= 0.5, (x, y, outs[0][i], t)


@pytest.mark.parametrize("formula, third, k", [("x - 3*y + 1", False, 1), ("1 - y*3 + x", False, 1),
                                               ("x - 3*y", False, 0), ("x - y/3 + 1", True, 1)])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_affine_sums_over_their_cancellations_and_overflows(formula, third, k, dtype):
    """302 points each: measured f ≤ 0.5 ULP in float64 (torch inf where c·y overflows, up to 1.0e16 where the sum
    cancels); before: 16 ULP far out, 4.5e15 (0 for the true value) where it cancels. Float32 points are the same
    drawn values rounded to float32 (those past its range are inf, left out)."""
    xs, ys = _affine_points(1 / 3 if third else 3, 16)
    if dtype is F32:
        keep = np.isfinite(np.asarray(xs, F32)) & np.isfinite(np.asarray(ys, F32))
        xs, ys = xs[keep], ys[keep]

    def truth(x, y):
        c = 1 / mpmath.mpf(3) if third else mpmath.mpf(3)
        return x - c * y + k, mpmath.mpf(1), -c
    _check(formula, dtype, [xs, ys], truth, lambda t, x, y: x - (y / 3 if third else 3 * y) + k, digits=700)


@pytest.mark.parametrize("formula, coefficient, k", [
    ("x*pi - y", mpmath.pi, 0), ("sqrt(2)*x - y + 1", lambda: mpmath.sqrt(2), 1), ("x*exp(1) - y", mpmath.e, 0)])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_irrational_multiple_of_an_input_against_a_target(formula, coefficient, k, dtype):
    """The same family, a constant that is no rational number: 300 points with y within 4 ULPs of c·x + k (the sum
    cancels) and 100 random ones. Before: π·x − y 5.0e15 ULP in float64 (symnet verify; torch the same), √2·x − y + 1
    6.4e15 (torch), e·x − y 5.5e15; measured after: ≤ 0.5 ULP in float64 and float32."""
    rng = np.random.default_rng(20)
    with mpmath.workdps(60):
        c = float(coefficient() if callable(coefficient) else +coefficient)
    xs = rng.choice([-1, 1], 400) * 10.0 ** rng.uniform(-30, 30, 400)
    ys = np.where(np.arange(400) < 300, (c * xs + k) * (1 + rng.integers(-4, 5, 400) * 2.0 ** -52),
                  rng.uniform(-5, 5, 400))
    if dtype is F32:
        xs = np.asarray(np.asarray(xs, F32), np.float64)
        ys = np.where(np.arange(400) < 300, np.asarray(c * xs + k, F32) * (1 + rng.integers(-4, 5, 400) * 2.0 ** -23),
                      ys)

    def truth(x, y):
        cc = coefficient() if callable(coefficient) else +coefficient
        return cc * x - y + k, cc, mpmath.mpf(-1)
    _check(formula, dtype, [xs, ys], truth, lambda t, x, y: c * x - y + k)


def test_affine_sum_that_truly_overflows_is_infinite():
    """3x − 5y + 7 at x = y = ±1.8e308 is ±3.6e308, past the range: ±inf, not the NaN of inf − inf (before, and torch:
    NaN); 100 points near there: measured ≤ 0.5 ULP where the truth is finite, the infinity of its sign where not."""
    rng = np.random.default_rng(21)
    xs = np.concatenate([[-1.7976931348623157e308, 1.7976931348623157e308],
                         rng.choice([-1, 1], 100) * rng.uniform(1e307, 1.79e308, 100)])
    ys = np.concatenate([xs[:2], -xs[2:] * rng.uniform(0.3, 0.9, 100)])
    outs = _run("3*x - 5*y + 7", F64, xs, ys)
    with mpmath.workdps(700):
        for i, (x, y) in enumerate(zip(xs, ys)):
            t = 3 * mpmath.mpf(x) - 5 * mpmath.mpf(y) + 7
            assert ulps(outs[0][i], t, F64) <= 0.5, (x, y, outs[0][i], t)


# measured session 34: x − 3y + sinh(x) at x = y = −1.8e308 was NaN for −inf (sinh x = −inf, 3y = −inf: inf − inf;
# torch NaN), x − 3y + cosh(x) at x = y = 1.8e308 NaN for +inf (torch NaN). Fixed by h-xfailb35 (the quartered sum's
# infinity taken where the sum as printed is NaN); its neighbourhood in tests/test_xfailb35.py
def test_affine_sum_with_sinh_past_the_range():
    outs = _run("x - 3*y + sinh(x)", F64, [-1.7976931348623157e308], [-1.7976931348623157e308])
    assert outs[0][0] == -np.inf, outs[0][0]


@pytest.mark.parametrize("formula", ["x - 3*y + tanh(x)", "x + tanh(x) - 3*y"])
def test_affine_sum_with_tanh_far_out(formula):
    """302 points (float64): measured f ≤ 0.37 ULP, ∂x ≤ 1.11 (torch 0.39); before: inf at (−1.7e308, −6e307) for
    1e307 (3y overflowed inside the widened sum; torch inf)."""
    xs, ys = _affine_points(3, 17)

    def truth(x, y):
        return x - 3 * y + mpmath.tanh(x), 2 - mpmath.tanh(x) ** 2, mpmath.mpf(-3)
    _check(formula, F64, [xs, ys], truth, lambda t, x, y: x - 3 * y + t.tanh(x), digits=700)


# ------------------------------------------------------------------ log(2cosh²x − 1 + y)

def _log_cosh_points(seed, n=150):
    """x = ±10^(−5 … −1), y = ±10^(−8 … −2) (y ≥ −(cosh 2x − 1)/2: the argument stays past 1), 50 points within 5 %
    of the failing one, and that point."""
    rng = np.random.default_rng(seed)
    x = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-5, -1, n)
    y = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-8, -2, n)
    y = np.where(y < 0, np.maximum(y, -0.5 * (np.cosh(2 * x) - 1)), y)
    return (np.concatenate([x, 0.00638 * (1 + rng.uniform(-0.05, 0.05, 50)), [0.00638]]),
            np.concatenate([y, 1.27e-4 * (1 + rng.uniform(-0.05, 0.05, 50)), [1.27e-4]]))


def _log_cosh_truth(x, y):
    a = 2 * mpmath.cosh(x) ** 2 - 1 + y
    return mpmath.log(a), 4 * mpmath.cosh(x) * mpmath.sinh(x) / a, 1 / a


def test_log_cosh_square_sum_at_the_failing_point():
    # 2,473 ULP before (torch 2,395): log of the widened sum rounded to 1.000208…; now the log of its double word
    outs = _run("log(2*cosh(x)**2 - 1 + y)", F64, [0.00638], [1.27e-4])
    truths = _truths(_log_cosh_truth, [[0.00638], [1.27e-4]], 60)
    assert ulps(outs[0][0], truths[0][0], F64) <= 1, (outs[0][0], truths[0][0])


@pytest.mark.parametrize("formula", ["log(2*cosh(x)**2 - 1 + y)", "log(2*sinh(x)**2 + 1 + y)"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_log_cosh_square_sum_near_one(formula, dtype):
    """201 points: measured in float64 f ≤ 0.93 ULP (torch 1.4e10), ∂x ≤ 3.33 (torch 4.5), ∂y ≤ 1.99 (torch 6.2);
    float32 ≤ 0.5."""
    xs, ys = _log_cosh_points(18)
    _check(formula, dtype, [xs, ys], _log_cosh_truth, lambda t, x, y: t.log(2 * t.cosh(x) ** 2 - 1 + y))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_log_cosh_double_angle_near_one(dtype):
    """The neighbour log(cosh(2x) + y), the same function: 1.26e10 ULP at (−1.0106e−5, −1.0214e−10) in float64 before
    (torch the same): y + cosh(2x) was rounded (cosh was no rounded function of the widen rule) before its log near
    1; widened now, and its log the double word's: measured f ≤ 0.5 ULP over the 201 points."""
    xs, ys = _log_cosh_points(18)
    _check("log(cosh(2*x) + y)", dtype, [xs, ys], _log_cosh_truth, lambda t, x, y: t.log(t.cosh(2 * x) + y))


# ------------------------------------------------------------------ x·y/√(3x² + 1)

def _root_points(seed, n=200):
    rng = np.random.default_rng(seed)
    x = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-200, 100, n)
    y = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-5, 5, n)
    return (np.concatenate([x, -1e20 * (1 + rng.uniform(-0.01, 0.01, 50)), [-1e20]]),
            np.concatenate([y, -3 * (1 + rng.uniform(-0.01, 0.01, 50)), [-3.0]]))


def _root_truth(a, b):
    def truth(x, y):
        s = a * x ** 2 + b
        return x * y / mpmath.sqrt(s), b * y / s ** mpmath.mpf(1.5), x / mpmath.sqrt(s)
    return truth


def test_root_quotient_dx_at_the_failing_point():
    # −4.5e−36 for −5.8e−61 before (6.5e40 ULP; torch 4.4e40): 1/√B − 3x²/B^(3/2) cancelled
    outs = _run("x*y/sqrt(3*x**2 + 1)", F64, [-1e20], [-3.0])
    truths = _truths(_root_truth(3, 1), [[-1e20], [-3.0]], 60)
    assert ulps(outs[1][0], truths[1][0], F64) <= 1, (outs[1][0], truths[1][0])


@pytest.mark.parametrize("formula, a, b", [("x*y/sqrt(3*x**2 + 1)", 3, 1), ("x*y/sqrt(5*x**2 + 2)", 5, 2),
                                           ("x*y*(1 + 3*x**2)**(-1/2)", 3, 1)])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_root_quotient_over_the_range(formula, a, b, dtype):
    """251 points, |x| ≤ 1e100 (beyond it tests/test_xfail35.py; in float32 |x| ≤ 1e12):
    measured in float64 f ≤ 1.73, ∂x ≤ 0.7, ∂y ≤ 1.2 ULP (torch 9e15 / 2.8e101 / 8e15); float32 ≤ 2.2. Before: ∂x
    4.5e15 and more past |x| ≈ 1e8 in float64, 0 in float32 at (1.449e13, 9134.3) for 5.8e−37."""
    xs, ys = _root_points(19)
    if dtype is F32:
        keep = (np.abs(xs) <= 1e12) & (np.abs(xs) > 1e-38)  # (past 1e12: tests/test_xfail35.py)
        xs, ys = xs[keep], ys[keep]
    _check(formula, dtype, [xs, ys], _root_truth(a, b), lambda t, x, y: x * y / t.sqrt(a * x ** 2 + b))


# measured (session 34): ∂x of x·y/√(3x² + 1), y/(3x² + 1)^(3/2), at (−1.1435e103, −639.5) was 11.2 ULP in float64
# (torch 6.4e206): square-sum-power's far form y·|x|⁻³·(√3/9) formed |x|⁻³ = 6.7e−310, subnormal, before y scaled it
# back to 8.3e−308 (float32: 19.2 ULP at (1.449e13, 9134.3)); since session 35 (h-xfail35) ((y·(√3/9))/|x|)/|x|)/|x|:
# within 2.3 ULP there and around it (tests/test_xfail35.py)
def test_root_quotient_dx_where_the_far_power_is_subnormal():
    outs = _run("x*y/sqrt(3*x**2 + 1)", F64, [-1.1435179810322524e+103], [-639.5009253880165])
    truths = _truths(_root_truth(3, 1), [[-1.1435179810322524e+103], [-639.5009253880165]], 60)
    assert ulps(outs[1][0], truths[1][0], F64) <= 4, (outs[1][0], truths[1][0])


def test_sum_power_cancel_names_itself_and_is_exact():
    """The rule fires on the quotient rule's sum of powers of one base whose inner sum multiplies out to one term,
    and its form equals the written one at random points (60 digits); a sum that does not collapse is left alone."""
    from symnet.codegen.rewrite import SUM_POWER_CANCEL
    x, y = sp.symbols("x y", real=True)
    b = 1 + 3 * x ** 2
    for e in (y * (1 / sp.sqrt(b) - 3 * x ** 2 / b ** sp.Rational(3, 2)),
              1 / sp.sqrt(2 + x ** 2) - x ** 2 / (2 + x ** 2) ** sp.Rational(3, 2) + y):
        new = SUM_POWER_CANCEL.apply(e)
        assert SUM_POWER_CANCEL.fired(e, new), e
        for point in ({x: 0.7, y: -1.3}, {x: -3e5, y: 2e-4}):
            assert abs(new.evalf(60, subs=point) - e.evalf(60, subs=point)) <= 1e-50 * abs(e.evalf(60, subs=point))
    kept = 1 / sp.sqrt(b) - x / b ** sp.Rational(3, 2)
    assert SUM_POWER_CANCEL.apply(kept) == kept


# ------------------------------------------------------------------ Charbonnier ((p − t)² + ε²)^(α/2), ε = 1e−200

_CHARBONNIER = "((p - t)**2 + eps**2)**(alpha/2)"  # inputs alpha, eps, p, t; outputs f, ∂α, ∂ε, ∂p, ∂t


def _charbonnier_truth(a, e, p, t):
    w = (p - t) ** 2 + e ** 2
    f = w ** (a / 2)
    g = a * w ** (a / 2 - 1)
    return f, f * mpmath.log(w) / 2, g * e, g * (p - t), -g * (p - t)


# measured (session 34) at α = 1, ε = 1e−200, p = 1e−170, t = 0 in float64 (true √((p − t)² + ε²) = 1e−170): f 0 for
# 1e−170, ∂α 0 for −3.9e−168, ∂ε inf for 1e−30, ∂p inf for 1, ∂t −inf for −1; torch autograd the same at each. (p − t)²
# + ε² underflowed to 0 wherever |p − t| and ε are below 1.5e−162. Since session 35 (h-xfail35) the hypot rule scales a
# sum of squares of two or more terms by a power of two of the largest (rewrite._hypot_sum): ≤ 3.6 ULP there and
# around it (tests/test_xfail35.py)
@pytest.mark.parametrize("output", range(5), ids=["f", "d_alpha", "d_eps", "d_p", "d_t"])
def test_charbonnier_with_a_tiny_epsilon(output):
    point = (1.0, 1e-200, 1e-170, 0.0)
    outs = _run(_CHARBONNIER, F64, *[[v] for v in point])
    truths = _truths(_charbonnier_truth, [[v] for v in point], 60)
    assert ulps(outs[output][0], truths[output][0], F64) <= 4, (outs[output][0], truths[output][0])
