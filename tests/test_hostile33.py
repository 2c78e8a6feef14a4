"""Session 33's h-hostile33: session 32's four "found, not fixed" numerics, each fixed by a named rule and tested at its
failing point and at neighbouring points and forms (the counts are in each test's comment).

* exp-sigmoid-spread: e^w and σ(u) factors with a derivative's sum between them spread into the sum's terms where
  u < −700, so that exp-sigmoid-far takes e^w·σ(u) in one exponential.
* homogeneous-quotient (and binade_reciprocal(m)): a quotient of homogeneous polynomials in several inputs over one denominator,
  factored, widened, at the inputs over a power of two s, times s^d.
* widened-log-argument: log W of a widened sum W as the log of the double-word sum.
* hypot-sign: v·{1/(√(w + c/v²)·|v|) past the hypot threshold} as sign(v)/√(w + c/v²).

References: mpmath (60–700 digits) of the formula as written, differentiated by SymPy (not symnet), with σ written
out as 1/(1 + e^−u); torch autograd in float64 of the formula as written where a comparison with torch is made.
Before numbers were measured on main at caa7060 (this branch's base). Every test draws its own points.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch, ulps
from test_hostile31 import BOUND, F32, F64, _run
from test_hostile32 import _truths  # (mpmath functions of a formula and its SymPy derivatives)


def _check(formula, reference, names, dtype, points, dps=60, outputs=None, backend="numpy"):
    """Every output (or those in ``outputs``) within the dtype's bound at every point where the truth is a normal
    number of the dtype; a truth past the dtype's range must be the infinity of its sign. Returns (points checked,
    worst ULP)."""
    points = np.asarray(points, dtype)
    got = _run(formula, dtype, backend, **{n: points[:, i] for i, n in enumerate(names)})
    truth = _truths(reference, names, dps)
    top = np.finfo(dtype).max  # (what rounds to inf: past the largest number by half its spacing)
    big, tiny = mpmath.mpf(float(top)) + mpmath.mpf(float(top - np.nextafter(top, dtype(0)))) / 2, float(np.finfo(dtype).tiny)
    checked, worst = 0, 0.0
    for i, point in enumerate(points):
        for j, w in enumerate(truth(*point)):
            if outputs is not None and j not in outputs:
                continue
            if abs(w) >= big:
                assert np.isinf(got[j][i]) and np.sign(got[j][i]) == mpmath.sign(w), (formula, j, point, got[j][i], w)
                continue
            if abs(w) > float(top):  # (rounds to the largest number)
                assert abs(got[j][i]) == float(top), (formula, j, point, got[j][i], w)
                continue
            if abs(w) < tiny:
                continue
            err = ulps(got[j][i], w, dtype)
            assert err <= BOUND[dtype], (formula, j, point, got[j][i], w, err)
            checked, worst = checked + 1, max(worst, err)
    return checked, worst


_x, _y, _p, _t, _e, _a = sp.symbols("x y p t e a", real=True)
# test_stability_rules' cases (rule, formula, variables, 50-digit range, failing point, dtype)
RULE_CASES = [
    ("exp-sigmoid-spread", sp.exp(_x) / (1 + sp.exp(_y)) + 1 / (1 + sp.exp(_y)) ** 2, (_x, _y), (600.0, 900.0),
     (745.0, 745.0), F64),
    ("homogeneous-quotient", (_p - _t) ** 2 / (_p ** 2 + _t ** 2), (_p, _t), (-2.0, 2.0), (0.3, 1e-300), F64),
    ("widened-log-argument", ((_p - _t) ** 2 + _e ** 2) ** (_a / 2), (_a, _e, _p, _t), (0.25, 2.0),
     (1.0, 1e-30, 1.0, 0.0), F64),
    ("hypot-sign", 3 * _x / sp.sqrt(3 * _x ** 2 + 1), (_x,), (1e18, 1e30), (2.4e38,), F32),
]


# ------------------------------------------------------------------ 1. exp-sigmoid-spread

_SPREAD_FORMS = [  # (formula, the same with σ written out)
    ("exp(x)*sigmoid(-y) + sigmoid(-y)**2", "exp(x)/(1 + exp(y)) + 1/(1 + exp(y))**2"),
    ("log(1 + exp(y))*exp(x)*sigmoid(-y)", "log(1 + exp(y))*exp(x)/(1 + exp(y))"),
    # neighbours: the mirror (σ(y) at y < −700), another coefficient and sign, a third factor
    ("exp(x)*sigmoid(y) + sigmoid(y)**2", "exp(x)/(1 + exp(-y)) + 1/(1 + exp(-y))**2"),
    ("3*exp(x)*sigmoid(-y) + sigmoid(-y)**3", "3*exp(x)/(1 + exp(y)) + 1/(1 + exp(y))**3"),
    ("exp(x)*sigmoid(-y)*(y + sigmoid(-y))", "exp(x)/(1 + exp(y))*(y + 1/(1 + exp(y)))"),
    # the first written out: its ∂y is −(e^x + 2σ(−y))·e^y·σ(−y)², NaN at (745, 745) before (e^y·σ(−y)², k = 2)
    ("exp(x)/(exp(y) + 1) + (exp(y) + 1)**(-2)", "exp(x)/(exp(y) + 1) + (exp(y) + 1)**(-2)"),
]


def _spread_points(mirror, n, seed):
    """The failing points and n more: y with 700 < |y| < 780 (σ(−|y|) a subnormal or 0 past 708), x within ±40 of
    |y| (e^x past the float64 range from 709.8), both signs of y for the mirrored form."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(700, 780, n)
    x = y + rng.uniform(-40, 40, n)
    named = np.array([[745, 745], [740, 741], [709.9, 710.5], [800, 790], [30, 701], [1, 710]], float)
    pts = np.concatenate([named, np.stack([x, y], axis=1)])
    if mirror:
        pts[:, 1] = -pts[:, 1]
    return pts


# Before: ∂y of e^x·σ(−y) + σ(−y)² −inf at (745, 745) for −1 and at (740, 741) for −0.368; of log(1 + e^y)·e^x·σ(−y)
# −inf for −744 / −272 (f and ∂x right; torch autograd NaN for f and ∂y there). Now every output ≤ 4 ULP (measured
# worst 1.42) at 6 named + 200 drawn points per form, 6 forms (each failed before: ∂y ±inf or NaN at (745, ±745)).
@pytest.mark.parametrize("form", range(len(_SPREAD_FORMS)))
def test_exp_sigmoid_spread(form):
    formula, reference = _SPREAD_FORMS[form]
    checked, worst = _check(formula, reference, ["x", "y"], F64, _spread_points("sigmoid(y)" in formula, 200, 33 + form))
    assert checked >= 3 * 150 and worst <= BOUND[F64]


# Not fixed: with a minus sign the sum cancels where 3e^x·σ(−y) ≈ σ(−y)³ and the widen rule takes f whole, in double
# words, where e^x overflows first: f inf for 3 and ∂y −inf for −3 at (745, 745), f inf for 1.1036 at (740, 741)
# (torch NaN for all); exp-sigmoid-far does not reach inside a widened sum.
def test_exp_sigmoid_inside_a_widened_difference():
    f, _, dy = _run("3*exp(x)*sigmoid(-y) - sigmoid(-y)**3", F64, x=np.array([745.0]), y=np.array([745.0]))
    assert f[0] == 3.0 and dy[0] == -3.0


def test_exp_sigmoid_spread_named_values():
    f, dx, dy = _run("exp(x)*sigmoid(-y) + sigmoid(-y)**2", F64, x=np.array([745.0, 740.0]), y=np.array([745.0, 741.0]))
    assert dy[0] == -1.0 and abs(dy[1] + math.exp(-1)) <= 4e-16  # −inf both before
    f, dx, dy = _run("log(1 + exp(y))*exp(x)*sigmoid(-y)", F64, x=np.array([745.0]), y=np.array([745.0]))
    assert dy[0] == -744.0  # −inf before
    torch = pytest.importorskip("torch")
    x, y = (torch.tensor([745.0], dtype=torch.float64, requires_grad=True) for _ in range(2))
    (torch.exp(x) * torch.sigmoid(-y) + torch.sigmoid(-y) ** 2).sum().backward()
    assert not math.isfinite(y.grad.item())  # torch autograd: NaN (inf·0)


def test_exp_sigmoid_spread_float32():
    # float32 inputs of the same size (the kernel's block is in float64): −inf before as in float64; 206 points
    checked, worst = _check(*_SPREAD_FORMS[0], ["x", "y"], F32, _spread_points(False, 200, 3))
    assert checked >= 400


def test_exp_sigmoid_spread_triton():
    # the select printed by the Triton printer: 4 points of each failing form (−inf before)
    triton_torch()
    for formula, reference in _SPREAD_FORMS[:2]:
        _check(formula, reference, ["x", "y"], F64, [[745, 745], [740, 741], [700, 705], [1, 2]], backend="triton")


# ------------------------------------------------------------------ 2. homogeneous-quotient

_HOMOGENEOUS_FORMS = ["(p - t)**2/(p**2 + t**2)", "p*t/(p**2 + t**2)", "(p**2 - t**2)/(p**2 + p*t + t**2)",
                      "(p - t)**3/(p**2 + t**2)"]


def _homogeneous_points(dtype, n, seed):
    """The failing points and n more: p log-uniform over the dtype's range (both signs), t = p·r with r log-uniform
    over 1e±300 (float32 1e±40), or within 1e−3 … 1e−15 of ±1 (p ≈ ±t, where p − t or p + t cancels), or 0."""
    rng = np.random.default_rng(seed)
    top = math.log10(float(np.finfo(dtype).max))
    low = math.log10(float(np.finfo(dtype).smallest_subnormal)) + 0.5
    p = np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(low, top, n)
    span = 300 if dtype is F64 else 40
    kind = rng.integers(0, 3, n)
    r = np.where(kind == 0, np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-span, span, n),
                 np.sign(rng.uniform(-1, 1, n)) * (1 + np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-15, -3, n)))
    with np.errstate(over="ignore", under="ignore"):
        t = np.clip(p * r, -float(np.finfo(dtype).max), float(np.finfo(dtype).max))
    named = [[0.3, 1e-300], [-1.797e308, 1.0], [-1.797e308, 1e308], [-1.797e308, -1.7970000001797e308],
             [1e154, 3e154], [1e-300, 3e-300], [1e-320, 2e-320], [0.3, 1e-17]] if dtype is F64 else \
        [[0.3, 1e-40], [-3.4e38, 1.0], [-3.4e38, 1e38], [1e19, 3e19], [1e-30, 3e-30], [1e-44, 2e-44], [0.3, 1e-8]]
    return np.concatenate([np.array(named, float), np.stack([p, t], axis=1)]).astype(dtype)


# Before: (p − t)²/(p² + t²) ∂p 8.9e−16 for 2.2e−299 at (0.3, 1e−300) (3.3e299 ULP; the cancelled form
# 2(p − t)/(p² + t²) − 2p(p − t)²/(p² + t²)²; torch 8.4e15 ULP there), f, ∂p and ∂t NaN at p = −1.797e308 (any t),
# at (1e154, 3e154) and (1e−300, 3e−300) (inf/inf, 0/0; torch the same); the neighbouring forms alike (p·t/(p² + t²)
# −0 for −0.425 at (−1.797e308, 1e308)), float32 ∂t −3.6e−15 for 3.0e−34 at (6.8e−37, 0.067), 1.5e26 ULP (the same
# cancellation). Now f, ∂p, ∂t ≤ 4 ULP (float64, measured worst 0.50) / 8 ULP (float32, worst 0.50) at 8 named + 300
# drawn points per form and dtype, 4 forms (6 of the 8 form × dtype cells failed before; p·t/(p² + t²) and
# (p − t)³/(p² + t²) in float32 were within).
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("form", _HOMOGENEOUS_FORMS)
def test_homogeneous_quotient(form, dtype):
    checked, worst = _check(form, form, ["p", "t"], dtype, _homogeneous_points(dtype, 300, 33), dps=400)
    assert checked >= 300 and worst <= BOUND[dtype]


def test_homogeneous_quotient_named_values_beside_torch():
    torch = pytest.importorskip("torch")
    p, t = np.array([0.3, -1.797e308]), np.array([1e-300, 1e308])
    f, dp, dt = _run("(p - t)**2/(p**2 + t**2)", F64, p=p, t=t)
    with mpmath.workdps(700):
        want = [2 * mpmath.mpf(b) * (mpmath.mpf(a) ** 2 - mpmath.mpf(b) ** 2) / (mpmath.mpf(a) ** 2 + mpmath.mpf(b) ** 2) ** 2
                for a, b in zip(p, t)]
    assert all(ulps(g, w, F64) <= 1 for g, w in zip(dp, want))  # 3.3e299 ULP and NaN before
    tp, tt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (p, t))
    ((tp - tt) ** 2 / (tp ** 2 + tt ** 2)).sum().backward()
    assert ulps(tp.grad[0].item(), want[0], F64) > 1e15 and not math.isfinite(tp.grad[1].item())  # torch: 8.4e15, NaN


def test_homogeneous_quotient_triton():
    # binade_reciprocal's Triton helper (exponent bits) and the scaled, widened quotient: 5 of the failing points, both dtypes
    triton_torch()
    pts64 = [[0.3, 1e-300], [-1.797e308, 1e308], [1e154, 3e154], [1e-300, 3e-300], [1e-320, 2e-320]]
    _check(_HOMOGENEOUS_FORMS[0], _HOMOGENEOUS_FORMS[0], ["p", "t"], F64, pts64, dps=700, backend="triton")
    pts32 = [[0.3, 1e-40], [-3.4e38, 1e38], [1e19, 3e19], [1e-30, 3e-30], [1e-44, 2e-44]]
    _check(_HOMOGENEOUS_FORMS[0], _HOMOGENEOUS_FORMS[0], ["p", "t"], F32, pts32, dps=700, backend="triton")


# ------------------------------------------------------------------ 3. widened-log-argument

_CHARBONNIER = "((p - t)**2 + e**2)**(a/2)"


def _charbonnier_points(dtype, n, seed):
    """The failing point and n more: α uniform in (−2, 2), ε log-uniform 1e−30 … 1 (float32 1e−18 … 1), p − t within
    ε of ±1 (((p − t)² + ε² near 1: the log near 0) for two thirds of them, log-uniform 1e−3 … 1e3 for the rest."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, n)
    e = 10.0 ** rng.uniform(-30 if dtype is F64 else -18, 0, n)
    t = rng.uniform(-2, 2, n)
    d = np.where(rng.uniform(0, 1, n) < 2 / 3, np.sign(rng.uniform(-1, 1, n)) * (1 + rng.uniform(-1, 1, n) * e),
                 np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-3, 3, n))
    p = (t + d).astype(dtype).astype(float)
    named = [[1.0, 1e-30, 1.0, 0.0], [2.0, 1e-30, 1.0, 0.0], [-1.0, 1e-10, 0.3, -0.7], [0.5, 1e-8, 2.0, 1.0]]
    return np.concatenate([np.array(named), np.stack([a, e, p, t], axis=1)]).astype(dtype)


# Before: ∂α 0 for 5e−61 at p − t = 1, ε = 1e−30 (((p − t)² + ε²) rounded to 1 before the log; torch 0 too), and
# wherever (p − t)² + ε² is within 2⁻⁵³ of 1 (float32: 1.2e7 ULP at ε = 1e−10, p − t = 1). Now every output ≤ 4 ULP
# (float64, measured worst 1.86) / 8 ULP (float32, worst 0.50) at 4 named + 300 drawn points per dtype.
@pytest.mark.parametrize("dtype", [F64, F32])
def test_widened_log_argument(dtype):
    checked, worst = _check(_CHARBONNIER, _CHARBONNIER, ["a", "e", "p", "t"], dtype,
                            _charbonnier_points(dtype, 300, 33), dps=120)
    assert checked >= 4 * 250 and worst <= BOUND[dtype]


def test_widened_log_argument_beside_torch():
    torch = pytest.importorskip("torch")
    _, da, *_ = _run(_CHARBONNIER, F64, a=np.array([1.0]), e=np.array([1e-30]), p=np.array([1.0]), t=np.array([0.0]))
    assert ulps(da[0], mpmath.mpf("5e-61"), F64) <= 1  # 0 before
    a, e, p, t = (torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in (1.0, 1e-30, 1.0, 0.0))
    (((p - t) ** 2 + e ** 2) ** (a / 2)).sum().backward()
    assert a.grad.item() == 0.0  # torch: 0 (symnet better)


def test_widened_log_argument_triton():
    triton_torch()
    pts = [[1.0, 1e-30, 1.0, 0.0], [-1.0, 1e-10, 0.3, -0.7], [0.5, 1e-8, 2.0, 1.0]]
    _check(_CHARBONNIER, _CHARBONNIER, ["a", "e", "p", "t"], F64, pts, dps=120, backend="triton")


# ------------------------------------------------------------------ 4. hypot-sign

_HYPOT_FORMS = ["sqrt(3*x**2 + 1)", "sqrt(x**2 + 1)", "sqrt(5*x**2 + 2)", "2*sqrt(3*x**2 + 1)", "sqrt(x**2/4 + 7)"]


def _hypot_points(dtype, n, seed):
    """The failing points and n more: x log-uniform (both signs) from 1e−5 to the dtype's largest number, a third of
    them past 2⁵⁹ (the hypot rule's scaled branch)."""
    rng = np.random.default_rng(seed)
    top = math.log10(float(np.finfo(dtype).max))
    x = np.sign(rng.uniform(-1, 1, n)) * 10.0 ** np.where(rng.uniform(0, 1, n) < 1 / 3, rng.uniform(17.8, top, n),
                                                          rng.uniform(-5, top, n))
    named = [2.4e38, -2.4e38, 3.4e38, 2.0 ** 59, 2.0 ** 60] + ([1.5e308, -1.7e308] if dtype is F64 else [])
    return np.concatenate([named, x]).astype(dtype)[:, None]


# Before: float32 ∂x of √(3x² + 1) 0 at x = 2.4e38 for 1.732 (√(3 + x⁻²)·|x| overflowed: wherever √3·|x| > 3.4e38;
# 1.45e7 ULP), √(5x² + 2) and 2√(3x² + 1) the same (9.4e6, 1.45e7 ULP); w ≤ 1 (√(x² + 1), √(x²/4 + 7)) and float64
# were within before (float64's printer takes the product again where it overflows). Now f (±inf where it overflows)
# and ∂x ≤ 8 / 4 ULP (measured worst 1.57 float32, 1.55 float64) at 5–7 named + 300 drawn points per form and dtype,
# 5 forms.
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("form", _HYPOT_FORMS)
def test_hypot_sign(form, dtype):
    checked, worst = _check(form, form, ["x"], dtype, _hypot_points(dtype, 300, 33))
    assert checked >= 300 and worst <= BOUND[dtype]


def test_hypot_sign_named_value():
    _, dx = _run("sqrt(3*x**2 + 1)", F32, x=np.array([2.4e38, -2.4e38], np.float32))
    assert list(dx) == [float(np.float32(math.sqrt(3))), -float(np.float32(math.sqrt(3)))]  # 0 and −0 before


def test_hypot_sign_triton():
    triton_torch()
    _check("sqrt(3*x**2 + 1)", "sqrt(3*x**2 + 1)", ["x"], F32, [[2.4e38], [-2.4e38], [1e20], [3.0]], backend="triton")
