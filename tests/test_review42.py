"""review42: attacks on the input-infinite-limit rule (h-inf42) — a wrong limit is a silent wrong answer.

Found: a −0 limit whose sign needs a generator of lc(P) nonzero (lc(P) = −y²) was returned where that generator is 0,
where lc(P) vanishes and a lower term of P gives the sign: (1 − x·y²)/(x² + 1) at x = +inf, y = ±0 was −0 for +0
(the value there is 1/(x² + 1)); now a select: −0 where y ≠ 0, +0 where y = 0.

References: mpmath at 60 digits with the infinite input at ±1e1000 (a zero's sign), torch autograd in the same dtype.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch

F64, F32 = np.float64, np.float32
R = dict(real=True)
x, y = sp.symbols("x y", **R)

FORMULA = "(1 - x*y**2)/(x**2 + 1)"


def _truth(xv, yv):
    """f, ∂x, ∂y at x = ±1e1000 (xv's sign), y = yv, in mpmath at 60 digits."""
    with mpmath.workdps(60):
        X, Y = mpmath.mpf("1e1000") * (1 if xv > 0 else -1), mpmath.mpf(float(yv))
        f = (1 - X * Y ** 2) / (X ** 2 + 1)
        fx = (-Y ** 2 * (X ** 2 + 1) - 2 * X * (1 - X * Y ** 2)) / (X ** 2 + 1) ** 2
        fy = -2 * X * Y / (X ** 2 + 1)
        return [f, fx, fy]


def _points(dtype, n=300, seed=42):
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    ys = np.concatenate([[0.0, -0.0, 1.0, -1.0, float(info.max), float(info.tiny)],
                         rng.choice([-1, 1], n - 6) * 10.0 ** rng.uniform(-30, 30, n - 6)])
    xs = rng.choice([np.inf, -np.inf], n)
    xs[:2] = np.inf
    return xs.astype(dtype), ys.astype(dtype)


def _torch(dtype, xs, ys):
    torch = pytest.importorskip("torch")
    td = torch.float64 if dtype is F64 else torch.float32
    tx, ty = (torch.tensor(c, dtype=td, requires_grad=True) for c in (xs, ys))
    f = (1 - tx * ty ** 2) / (tx ** 2 + 1)
    gx, gy = torch.autograd.grad(f.sum(), [tx, ty])
    return [t.detach().double().numpy() for t in (f, gx, gy)]


@pytest.mark.parametrize("dtype", [F64, F32])
def test_a_negative_zero_limit_is_not_taken_where_its_leading_coefficient_vanishes(dtype):
    # before (62c93d83): f = −0 at x = +inf, y = ±0 (both dtypes) for +0, the value 1/(x² + 1) there (torch NaN);
    # a −0 is a claim (the rule's +0 is "sign not known"): every −0 returned must be the truth's sign, and f's sign is
    # known at every point (−sign(x) where y ≠ 0, + where y = 0)
    xs, ys = _points(dtype)
    k = compiled(FORMULA)
    with np.errstate(all="ignore"):
        got = [np.asarray(v, F64) for v in k(x=xs, y=ys)]
    theirs = _torch(dtype, xs, ys)
    for i in range(len(xs)):
        truth = _truth(xs[i], ys[i])
        for o in range(3):
            assert got[o][i] == 0, (o, xs[i], ys[i], got[o][i])
            if np.signbit(got[o][i]):
                assert truth[o] < 0, (o, xs[i], ys[i], "−0 for a positive value")
            if not np.isnan(theirs[o][i]):
                assert got[o][i] == theirs[o][i], (o, xs[i], ys[i], got[o][i], theirs[o][i])
        assert np.signbit(got[0][i]) == bool(truth[0] < 0), (xs[i], ys[i], got[0][i], mpmath.nstr(truth[0], 5))


def test_the_proof_takes_the_negative_zero_only_where_the_leading_coefficient_is_nonzero():
    from symnet.codegen.rewrite import _NEGATIVE_ZERO, _TowardInfinity

    limit, nonzero = _TowardInfinity((1 - x * y ** 2) / (x ** 2 + 1), x, [y]).limit(1)
    assert limit == sp.Piecewise((_NEGATIVE_ZERO, sp.Ne(y, 0)), (0, True)) and nonzero == set(), (limit, nonzero)
    limit, nonzero = _TowardInfinity((1 - x * y ** 2) / (x ** 2 + 1), x, [y]).limit(-1)
    assert limit == 0 and nonzero == set(), (limit, nonzero)  # +0 where y ≠ 0; "not known" (+0) where y = 0


def test_the_select_in_triton():
    torch = triton_torch()
    xs, ys = _points(F64, 24, 7)
    k = compiled(FORMULA, "triton")
    got = [v.double().numpy() for v in k(x=torch.tensor(xs), y=torch.tensor(ys))]
    with np.errstate(all="ignore"):
        mine = [np.asarray(v, F64) for v in compiled(FORMULA)(x=xs, y=ys)]
    for o in range(3):
        assert np.array_equal(got[o], mine[o]) and np.array_equal(np.signbit(got[o]), np.signbit(mine[o])), o


# measured before (root49): ∂x of (1 − x·y²)/(x² + 1) at x = +inf, y = ±0 was +0 for −0 (the value there is
# −2x/(x² + 1)² → −0; torch NaN), both dtypes: lc(P) = y² vanishes at y = 0 and the rule's +0 was 'sign not known'; the
# walk now takes P with y = 0 there (−2x: −0), a select on y ≠ 0
@pytest.mark.parametrize("dtype", [F64, F32])
def test_the_sign_of_a_zero_limit_where_the_leading_coefficient_vanishes(dtype):
    xs, ys = np.array([np.inf, np.inf], dtype), np.array([0.0, -0.0], dtype)
    with np.errstate(all="ignore"):
        fx = np.asarray(compiled(FORMULA)(x=xs, y=ys)[1], F64)
    for i in range(2):
        assert fx[i] == 0 and np.signbit(fx[i]) == bool(_truth(xs[i], ys[i])[1] < 0), (ys[i], fx[i])


def _random_expression(rnd, depth, z):
    """A random expression of x, y, z: sums, products, quotients, |a|, relu, Max, Min, sign, a select, σ(y)·a."""
    from symnet.codegen.rewrite import relu, sigmoid

    if depth == 0:
        return rnd.choice([x, x, y, z, sp.Integer(rnd.randint(-3, 3)), sp.Rational(1, 2)])
    a, b = _random_expression(rnd, depth - 1, z), _random_expression(rnd, depth - 1, z)
    k = rnd.random()
    for bound, make in ((0.25, lambda: a + b), (0.5, lambda: a * b), (0.62, lambda: a / b), (0.67, lambda: sp.Abs(a)),
                        (0.72, lambda: relu(a)), (0.77, lambda: sp.Max(a, b)), (0.8, lambda: sp.Min(a, b)),
                        (0.83, lambda: sp.sign(a)),
                        (0.88, lambda: sp.Piecewise((a, b > 0), (_random_expression(rnd, depth - 1, z), True))),
                        (0.9, lambda: sigmoid(y) * a)):
        if k < bound:
            return make()
    return a - b


def test_proved_limits_of_random_expressions_agree_with_mpmath():
    # 600 random expressions (seed 1): every limit the walk proves, at 4 random rows of y, z from {0, ±1, −2, 0.5, 3}
    # where its nonzero conditions hold, is mpmath's value at x = ±1e1000 (100 digits) within 1e−12, and every −0 it
    # returns is the sign of that value (a +0 is "sign not known"). Measured: 245 checks, none wrong, on this branch and
    # on 62c93d83 alike (a guard for later changes to the walk; review42's fuzz of 3000 expressions, seeds 1 and 7, found
    # 408 and 392 limits, 0 wrong, after the −0 fix above)
    import random

    from symnet.codegen.rewrite import _NoRationalLimit, _TowardInfinity

    z = sp.Symbol("z", real=True)
    rnd = random.Random(1)
    numbers = {"relu": lambda t: max(t, 0), "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t))}
    checked = 0
    for _ in range(600):
        try:
            e = _random_expression(rnd, rnd.randint(2, 4), z)
        except ValueError:  # Max/Min of zoo
            continue
        if e.has(sp.zoo, sp.nan, sp.oo) or not e.has(x) or len(e.free_symbols) < 2:
            continue
        others = sorted(e.free_symbols - {x}, key=lambda s: s.name)
        f = sp.lambdify([x, *others], e, modules=[numbers, "mpmath"])
        for sign in (1, -1):
            try:
                walk = _TowardInfinity(e, x, others)
                limit, nonzero = walk.limit(sign)
            except _NoRationalLimit:
                continue
            opaque = {g: o for o, g in walk.opaque.items()}
            for _ in range(4):
                row = {q: sp.Float(rnd.choice([0.0, 1.0, -2.0, 0.5, -1.0, 3.0])) for q in others}
                if any(sp.sympify(g).xreplace(opaque).xreplace(row).evalf().is_zero for g in nonzero):
                    continue
                try:
                    value = sp.sympify(limit).xreplace(row).evalf()
                    with mpmath.workdps(100):
                        truth = f(sign * mpmath.mpf("1e1000"), *[mpmath.mpf(float(row[q])) for q in others])
                except (TypeError, ZeroDivisionError):  # a select's condition at a pole (1/y > 0 at y = 0)
                    continue
                checked += 1
                assert abs(truth - float(value)) <= 1e-12 * max(1, abs(float(value))), (e, sign, row, limit, truth)
                if float(value) == 0 and str(value).startswith("-"):
                    assert truth < 0, (e, sign, row, limit, mpmath.nstr(truth, 5))
    assert checked >= 100, checked
