"""Session 32's h-hostile32: three of test_hostile31's strict xfails fixed by general rules, each tested at its failing
point and at neighbouring forms (reordered, negated, times a constant, nested in a log) over many points.

* hypot (its input case): √(w·v² + c) with c holding an input (√(x² + y)) is |v|·√(w + (c/v)/v) past |v| = 2⁶⁰.
* root-difference (its far branch): past the cofactor's overflow bound the homogeneous form at 2^−S·u, 2^−S·v times
  2^(S·D/2), exact scalings (u^1.5 − v^1.5 + 3 at u = v = 1e300: NaN before).
* one-minus-cos-factor: −2·((B·s)·s), s = sin(u/2), not −2B·s² (s² underflowed: y·cos x − y at (1e−200, 1e300)).

References: mpmath at 60–400 digits of the formula as written (SymPy's derivatives of it, lambdified to mpmath), and
torch autograd in float64 of the formula as written. Before numbers were measured on main at 9e6ff40 (this branch's
base); the bounds hold at every point sampled here (the counts are in each test's comment).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch
from test_hostile31 import BOUND, F32, F64, _run, _ulps

_WORST: dict = {}  # (formula, dtype) → the worst ULP error _check found (for the numbers in the comments)


def _truths(formula, names, dps):
    """mpmath functions of the formula and its derivatives by each name (SymPy's, not symnet's), at ``dps`` digits."""
    syms = [sp.Symbol(n, real=True) for n in names]
    e = sp.sympify(formula, locals={n: s for n, s in zip(names, syms)})
    fs = [sp.lambdify(syms, g, modules="mpmath") for g in [e] + [sp.diff(e, s) for s in syms]]

    def at(*point):
        with mpmath.workdps(dps):
            return [f(*(mpmath.mpf(float(p)) for p in point)) for f in fs]
    return at


def _check(formula, names, dtype, points, dps=60, outputs=None, normal_only=True):
    """Every output (or those in ``outputs``) within the dtype's bound at every point where the truth is finite in
    the dtype (and a normal number, with ``normal_only``); an overflowing truth must be ±inf of its sign."""
    got = _run(formula, dtype, **{n: points[:, i] for i, n in enumerate(names)})
    truth = _truths(formula, names, dps)
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    checked, worst = 0, 0.0
    for i, point in enumerate(points):
        want = truth(*point)
        for j, w in enumerate(want):
            if outputs is not None and j not in outputs or isinstance(w, mpmath.mpc):
                continue
            if abs(w) > big:
                assert np.isinf(got[j][i]) and np.sign(got[j][i]) == mpmath.sign(w), (formula, j, point, got[j][i], w)
                continue
            if normal_only and abs(w) < tiny:
                continue
            err = _ulps(got[j][i], w, dtype)
            assert err <= BOUND[dtype], (formula, j, point, got[j][i], w, err)
            checked, worst = checked + 1, max(worst, err)
    _WORST[formula, np.dtype(dtype).name] = max(worst, _WORST.get((formula, np.dtype(dtype).name), 0.0))
    return checked


# ------------------------------------------------------------------ hypot with an input: √(x² + y)

def _hypot_points(dtype, n, seed=32):
    """x log-uniform (both signs) from 1e−5 to the dtype's top, y log-uniform over the dtype's normal range with
    30 % of them negative, down to −x²/2 (x² + y cancels at most a factor of 2: the written form's own condition)."""
    rng = np.random.default_rng(seed)
    top = math.log10(float(np.finfo(dtype).max)) - 0.05
    low = math.log10(float(np.finfo(dtype).tiny)) + 1
    x = np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-5, top, n)
    y = 10.0 ** rng.uniform(low, top, n)
    with np.errstate(over="ignore"):
        y = np.where(rng.uniform(0, 1, n) < 0.3, -np.minimum(y, 0.5 * x * x), y)
    return np.stack([x, y], axis=1).astype(dtype)


# Before: √(x² + y) at (1e200, 1) inf for 1e200, ∂x 0 for 1 (torch the same: x² overflows past 1.3e154, 1.8e19 in
# float32). Now ≤ 4 / 8 ULP, f, ∂x and ∂y, at 120 points per dtype and form (240 for √(x² + y)); measured worst
# float64 4.0 / 4.0 / 3.0 at 300 points of this sampling, float32 3.6 / 3.1 / 2.8 (torch float64: inf, 4.5e15, 8.9e15
# where x² overflows). 1/√(x² + y) and log √(x² + y): their values (their ∂x holds (x² + y)^(3/2) and x/(x² + y),
# which still overflow: −0 for −1.8e−273 at (1.3e137, −1.6e274), torch the same; not this rule's).
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula,outputs,n", [
    ("sqrt(x**2 + y)", None, 240), ("sqrt(y + 3*x**2)", None, 120), ("2*sqrt(y - 1 + x**2/4)", None, 120),
    ("1/sqrt(x**2 + y)", (0,), 120), ("log(sqrt(x**2 + y))", (0,), 120)])
def test_hypot_with_an_input(formula, outputs, n, dtype):
    points = _hypot_points(dtype, n)
    if formula == "sqrt(y + 3*x**2)" and dtype is F32:
        # ∂x = 3x/√(y + 3x²) as |x|⁻¹-scaled: |x|·√3 overflows float32 past 1.96e38 (0 for −1.73 at −2.4e38), as the
        # hypot rule's √(3x² + 1) did before this session; measured, not fixed here
        points = points[np.abs(points[:, 0]) < 1e38]
    assert _check(formula, ["x", "y"], dtype, points, outputs=outputs) > n // 2


def test_hypot_with_an_input_at_the_failing_point():
    # before: inf for 1e200, ∂x 0 for 1, ∂y 0 for 5e−201 (torch the same)
    points = np.array([[1e200, 1.0], [-1e200, 1e300], [1.7e308, 1.7e308], [-2.0 ** 61, -2.0 ** 121]])
    assert _check("sqrt(x**2 + y)", ["x", "y"], F64, points) == 11  # ∂y at 1.7e308: a subnormal, not counted


def test_hypot_with_an_input_triton():
    # before (Triton, interpreted, float64): inf for 1e200 as NumPy's
    triton_torch()
    f, dx, _ = _run("sqrt(x**2 + y)", F64, "triton", x=np.array([1e200, -3e160]), y=np.array([1.0, 5e300]))
    assert f[0] == 1e200 and dx[0] == 1.0 and dx[1] == -1.0


# ------------------------------------------------------------------ root-difference past its cofactor's bound

def _root_points(n, seed=32):
    """u log-uniform in (4e150, 1.6e308) (past the cofactor's bound 2⁵⁰⁰ = 3.3e150), v = u, u·(1 + k·2⁻⁵²) for
    |k| ≤ 8, u·U(1/2, 2), or log-uniform in (1e−300, 1e308)."""
    rng = np.random.default_rng(seed)
    u = 10.0 ** rng.uniform(150.6, 308.2, n)
    kind = rng.integers(0, 4, n)
    with np.errstate(over="ignore"):
        v = np.where(kind == 0, u, np.where(kind == 1, u * rng.uniform(0.5, 2, n), np.where(
            kind == 2, u * (1 + rng.integers(-8, 9, n) * 2.0 ** -52), 10.0 ** rng.uniform(-300, 308, n))))
    keep = np.isfinite(v)
    return np.stack([u[keep], v[keep]], axis=1)


# Before: u^1.5 − v^1.5 + 3 at u = v = 1e300 NaN for 3 (torch NaN): past the cofactor's bound 2⁵⁰⁰ the written
# inf − inf. Now 0 ULP at the 216 finite-valued points of 400 measured (the rest ±inf of the right sign), each form;
# torch inf ULP (NaN) there. u·√v − v·√u + 1: ≤ 1 ULP at 264 (a scaled v flushed to 0 at (4.2e152, 9.3e−299) before the
# branch's floor 2^(S − 400): 1 for 4032).
@pytest.mark.parametrize("formula", ["u**1.5 - v**1.5 + 3", "3 + v**1.5 - u**1.5", "2*u**1.5 - 2*v**1.5 + 3",
                                     "sqrt(u)*(u - v) + 1", "u*sqrt(v) - v*sqrt(u) + 1"])
def test_root_difference_past_the_cofactor_bound(formula):
    assert _check(formula, ["u", "v"], F64, _root_points(160), dps=120, outputs=(0,)) > 40


def test_root_difference_past_the_range_triton():
    # before (Triton, interpreted, float64): NaN for 3 as NumPy's
    triton_torch()
    f, *_ = _run("u**1.5 - v**1.5 + 3", F64, "triton", u=np.array([1e300, 1.7e308]), v=np.array([1e300, 1.7e308]))
    assert list(f) == [3.0, 3.0]


# ------------------------------------------------------------------ one-minus-cos-factor: (B·s)·s

def _cos_points(dtype, n, positive=False, seed=32):
    """x log-uniform (both signs) from 10⁻²⁰⁰ (10⁻²⁵ in float32: sin²(x/2) underflows below 3e−154, 1.2e−19) to 3,
    y log-uniform over the dtype's range."""
    rng = np.random.default_rng(seed)
    big = 300 if dtype is F64 else 37
    x = np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-200 if dtype is F64 else -25, 0.5, n)
    y = 10.0 ** rng.uniform(-big, big, n)
    if not positive:
        y = y * np.sign(rng.uniform(-1, 1, n))
    return np.stack([x, y], axis=1).astype(dtype)


# Before: y·cos x − y at (1e−200, 1e300) −0 for −5e−101 (torch 0): −2y·sin²(x/2) squared sin(x/2) = 5e−201 to 0.
# Now ≤ 1 ULP (float64) / 1.83 (float32) at 300 points per dtype and form, f, ∂x, ∂y (torch float64 9e15 ULP for f
# and ∂y); 3y·cos x − 3y and y·cos 2x − y ≤ 2.2. log(y − y·cos x) where y·(1 − cos x) is normal (an underflowing
# product's log is not this rule's: −inf for −993.6 at (−5.8e−114, 1.8e−205), torch the same).
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", ["y*cos(x) - y", "y - y*cos(x)", "3*y*cos(x) - 3*y", "y*cos(2*x) - y"])
def test_one_minus_cos_factor_multiplies_before_squaring(formula, dtype):
    assert _check(formula, ["x", "y"], dtype, _cos_points(dtype, 150), dps=500) > 200


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_one_minus_cos_factor_in_a_log(dtype):
    points = _cos_points(dtype, 150, positive=True)
    with mpmath.workdps(500):
        inside = [p[1] * (1 - mpmath.cos(mpmath.mpf(float(p[0])))) for p in points]
    points = points[[float(np.finfo(dtype).tiny) < v < float(np.finfo(dtype).max) for v in inside]]
    # ∂y = (1 − cos x)/(y − y·cos x) is left out: its numerator, 2·sin²(x/2) by the one-minus-cos rule, underflows
    # (0 for 6.6e−120 = 1/y at (1.5e−162, 1.5e119); float32 15.8 ULP at (7.2e−21, 5e14); torch NaN): not this rule's
    assert _check("log(y - y*cos(x))", ["x", "y"], dtype, points, dps=500, outputs=(0, 1)) > 100


def test_one_minus_cos_factor_triton():
    # before (Triton, interpreted, float64): −0 for −5e−101 as NumPy's
    triton_torch()
    f, *_ = _run("y*cos(x) - y", F64, "triton", x=np.array([1e-200]), y=np.array([1e300]))
    with mpmath.workdps(500):
        want = -2 * mpmath.mpf(1e300) * mpmath.sin(mpmath.mpf(1e-200) / 2) ** 2
    assert _ulps(f[0], want, F64) <= BOUND[F64]


# ------------------------------------------------------------------ exp-product-limit: a subnormal factor

def _exp_product_points(n=200, seed=32):
    """6.57 (test_hostile31's point), 6.5 to 6.6 (e^(−eˣ) subnormal from x = 6.5629, the product normal up to 6.574,
    its ∂ to 6.58) on a grid, and uniform there."""
    rng = np.random.default_rng(seed)
    return np.concatenate([[6.57], np.linspace(6.5, 6.6, n), rng.uniform(6.5, 6.6, n)])


# Before: x·eˣ·e^(−eˣ) at 6.57 28 ULP (torch 175): e^(−eˣ) is a subnormal 1.5e−310 and the written product multiplies
# its few digits up; over these 401 points f 2,161 ULP at 6.5742 (torch 2,158), eˣ·e^(−eˣ) 246 (torch 509), −2·… 437
# (torch 583). Now exp-product-limit takes the one exponential where a factor's exponent is below −708.40 too (it took
# it where a factor was 0 or inf): ≤ 3 ULP for f of each form at the 401 points where the truth is normal, ∂ of
# x·eˣ·e^(−eˣ) ≤ 1 (torch 1.6e6); log(x·eˣ·e^(−eˣ)) f and ∂ ≤ 2 where the product is normal (∂ 39 ULP at 6.57
# before). The ∂ of eˣ·e^(−eˣ) is not here: a strict xfail below.
@pytest.mark.parametrize("formula,outputs", [
    ("x*exp(x)*exp(-exp(x))", (0, 1)), ("exp(-exp(x))*x*exp(x)", (0, 1)), ("-x*exp(x)*exp(-exp(x))", (0, 1)),
    ("exp(x)*exp(-exp(x))", (0,)), ("exp(-exp(x))*exp(x)*(-2)", (0,)), ("log(x*exp(x)*exp(-exp(x)))", (0, 1))])
def test_exp_product_with_a_subnormal_factor(formula, outputs):
    points = _exp_product_points()[:, None]
    if formula.startswith("log"):
        # where the product is normal (x < 6.5740): past it the ∂ (a quotient of the product's ∂ by the product)
        # divides subnormals, 5 ULP at 6.5749, 8 at 6.5759 (before 39 at 6.57); measured ≤ 2 ULP below
        points = points[points[:, 0] < 6.574]
    assert _check(formula, ["x"], F64, points, outputs=(0,)) > 200
    if 1 in outputs:  # ∂ where e^(x − eˣ) is a normal number (x < 6.5722): past it, below
        assert _check(formula, ["x"], F64, points[points[:, 0] < 6.5722], outputs=(1,)) > 100


# ∂ of x·eˣ·e^(−eˣ) past x = 6.5722, (1 + x − x·eˣ)·e^(x − eˣ): the subnormal e^(x − eˣ) (x − eˣ < −708.40 from
# x = 6.57224) rounded first, then multiplied up by ≈ −4,700, so its rounding error showed: measured on session 35's box
# 2,196 ULP at 6.583543 (a non-strict xfail until then: session 34's box 2,368 at 6.5834, session 33's ≤ 4 over its
# sample, a difference not explained; with the subnormal no longer rounded first there is none to explain). Now
# exp-product-limit takes
# R·e^(x − eˣ) as one widened product (scaled double words, rounded once): 0 ULP (correctly rounded, as _ulps counts)
# at the 289 points past 6.5722 here, for each of the four forms; over 601 points of 6.5 to 6.6 ≤ 2.9 (x·, −x·, and
# eˣ·e^(−eˣ)'s ∂; the worst at 6.505, where the factor is normal). torch at 6.5835: 1.6e6 ULP.
_PAST_THE_SUBNORMAL = 6.583543143812709  # the worst point before (2,196 ULP; true ∂ −3.1564307863712e−308)


@pytest.mark.parametrize("formula", ["x*exp(x)*exp(-exp(x))", "-x*exp(x)*exp(-exp(x))", "3*x*exp(x)*exp(-exp(x))",
                                     "x**2*exp(x)*exp(-exp(x))"])
def test_exp_product_derivative_past_the_subnormal_factor(formula):
    rng = np.random.default_rng(35)
    points = np.concatenate([_exp_product_points(), [_PAST_THE_SUBNORMAL], _PAST_THE_SUBNORMAL + np.arange(-40, 41) * 2e-5,
                             rng.uniform(6.5722, 6.6, 100)])[:, None]
    assert _check(formula, ["x"], F64, points[points[:, 0] >= 6.5722], outputs=(1,)) > 150


def test_exp_product_derivative_of_a_subnormal_sum():
    _check("exp(x)*exp(-exp(x))", ["x"], F64, np.array([[6.580701754385965]]), outputs=(1,))


def test_exp_product_with_a_subnormal_factor_triton():
    # before (Triton, interpreted, float64): 28 ULP at 6.57 as NumPy's
    triton_torch()
    f, _ = _run("x*exp(x)*exp(-exp(x))", F64, "triton", x=np.array([6.57, 6.5739348370927315]))
    with mpmath.workdps(60):
        for x, g in zip([6.57, 6.5739348370927315], f):
            x = mpmath.mpf(x)
            assert _ulps(g, x * mpmath.exp(x - mpmath.exp(x)), F64) <= BOUND[F64]
