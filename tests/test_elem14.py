"""Issue 16, where symnet was still worse than torch (session 14), each against mpmath (independent of the generated
form):

* learnable-β swish x·σ(β·x), ∂β = x²·σ(u)·σ(−u) in float64 (u = β·x): the product-pair rule's form in float,
  x·(x·(E − 2E·e/s)/s²), rounded some six times: 3.34 ULP on u in [−3, 1] where torch autograd is 2.53 (3.18 at
  the first point below, torch 3.61 at its own worst of the same 20,000). Now sigmoid_pair_product (symnet/special.py,
  helpers in symnet/registry.py): β·x, x·x, (1 + E)² and the numerator by Dekker's products, the quotient in
  double-word, rounded once (1.14 ULP there). Also m·n·E normal where E = e^−|u| is subnormal (x = 1e150, u = 720:
  0 before, as torch).
* power-quotient with a half-integer power: N/x^(3/2) formed x^(3/2), which overflows float64 from x = 3.2e205 where
  the quotient does not: t/x^(3/2) at t = 1e300, x = 1e206 (value 9.33 ULP through the subnormal x^(−3/2), ∂x −0
  where the true value is −1.5e−215: 5.8e15 ULP; float32 ∂x NaN at t = 3e38, x = 1e26), and erf(x)/√x′ at
  x = 3.3e205, whose true value −2.6e−309 is subnormal (0 before: 5.3e14 subnormal steps; now 1). Past
  |x| = 2^⌊120/n⌋ (2⁸⁰ for n = 3/2), (N/x)/√x.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import derived
from test_elem12 import _outputs, _ulps

SWISH = "x*sigmoid(b*x)"
_t, _x = sp.symbols("t x", real=True)
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    # t/x^(3/2) at t = 1e300, x = 1e206: x^(3/2) = inf, the value 0 (true 1e−9) and ∂x −0 (true −1.5e−215)
    ("power-quotient", _t / _x ** sp.Rational(3, 2), (_t, _x), (0.5, 4.0), (1e300, 1e206), np.float64),
]

# (β, x): the worst of 20,000 random points with β·x in [−3, 1] before (3.18 ULP, 1.14 after), and the
# product-pair rule's own points of session 12 (4.04 ULP at β = −4.09, x = 2.5; 4.02 at β = −0.674, x = 3.49)
SWISH_POINTS = [(0.08740639455049427, -30.96480408041003), (0.6737331065707453, -4.057533923527479),
                (-4.09, 2.5), (-0.674, 3.49), (-1.1922949168911057, -3.329470712177278), (1.0, 0.0), (0.0, 3.0),
                (-1.5, -88.7), (0.3, -3.725969909510937), (2.0, 1e-160), (1e-154, 1e154)]


def _swish_points(n, seed, low=-3.0, high=1.0):
    """n points (β, x) with β·x uniform in [low, high], |β| log-uniform over [1e−2, 1e2]."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(low, high, n)
    b = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-2, 2, n)
    return [(float(bi), float(ui / bi)) for bi, ui in zip(b, u)]


def _true_slope(b, x):
    """∂β of x·σ(β·x) = x²·σ(u)·σ(−u), u = β·x exact, in mpmath at 50 digits (no cancellation: a product)."""
    with mpmath.workdps(50):
        B, X = mpmath.mpf(b), mpmath.mpf(x)
        s = 1 / (1 + mpmath.exp(-B * X))
        return X * X * s * (1 / (1 + mpmath.exp(B * X)))


def _slope_errors(points, dtype, backend="numpy"):
    """The worst error in ULPs of the generated ∂β at ``points`` (β, x) in ``dtype``, and its point."""
    points = [(float(dtype(b)), float(dtype(x))) for b, x in points]
    got = _outputs(SWISH, None, backend, {"b": [p[0] for p in points], "x": [p[1] for p in points]}, dtype)[1]
    errors = [(_ulps(g, _true_slope(*p), dtype), p) for g, p in zip(got, points)]
    return max(errors)


def test_swish_beta_slope_float64():
    """Before: 3.18 ULP at the first point (3.34 in the issue's sweep), above torch's 2.53; after ≤ 1.5 there and
    at 2000 random points on u in [−3, 1] and 1000 on [−40, 40]."""
    worst = _slope_errors(SWISH_POINTS + _swish_points(2000, 14), np.float64)
    assert worst[0] <= 1.5, worst
    worst = _slope_errors(_swish_points(1000, 15, -40.0, 40.0), np.float64)
    assert worst[0] <= 1.5, worst


def test_swish_beta_slope_float32():
    worst = _slope_errors(SWISH_POINTS[:5] + _swish_points(300, 16, -20.0, 20.0), np.float32)
    assert worst[0] <= 0.5 + 1e-3, worst


def test_swish_beta_slope_scaled():
    """m·n·E normal where E = e^−|u| is subnormal or 0 (u = 720: 2.2e−313; the written form gave 0, true 1.1e−13
    at x = 1e150) and where x² overflows but the product does not (x = 1e155, u = 30: 9.4e296): each factor and
    E scaled by a power of 2 and the result scaled back."""
    points = [(7.2e-148, 1e150), (7.4e-148, 1e150), (1e-200, 7.3e202), (3e-154, 1e155), (-3e-154, 1e155),
              (1e150, 7.2e-148), (-5e-151, 1e152)]
    worst = _slope_errors(points, np.float64)
    assert worst[0] <= 1.5, worst


def test_swish_beta_slope_limits():
    """0 at x = 0, x²/4 at β = 0, inf where x²/4 is (x = 1e200, β = 1e−210: u = 1e−10), the select's limit 0
    beyond |u| = 3.4e38, NaN for NaN, and x²/4 subnormal at x = 1e−170 to within a subnormal step."""
    rows = [(1.0, 0.0), (0.0, 3.0), (1e-210, 1e200), (1e300, 1e300), (-1.8e308, -1.8e308), (np.nan, 1.0),
            (1.0, np.nan), (1.0, 1e-170)]
    got = _outputs(SWISH, None, "numpy", {"b": [r[0] for r in rows], "x": [r[1] for r in rows]}, np.float64)[1]
    assert got[0] == 0 and got[1] == 2.25 and got[2] == np.inf and got[3] == 0 and got[4] == 0
    assert np.isnan(got[5]) and np.isnan(got[6]) and abs(got[7] - float(_true_slope(*rows[7]))) <= 5e-324


def test_swish_beta_slope_triton():
    worst = _slope_errors(SWISH_POINTS[:6] + [(7.2e-148, 1e150), (3e-154, 1e155)], np.float64, "triton")
    assert worst[0] <= 1.5, worst
    worst = _slope_errors(SWISH_POINTS[:5], np.float32, "triton")
    assert worst[0] <= 0.5 + 1e-3, worst


def test_swish_beta_slope_beside_torch():
    """Never worse than torch float64 autograd of the written formula, point by point, on u in [−3, 1]."""
    torch = pytest.importorskip("torch")
    points = SWISH_POINTS[:5] + _swish_points(300, 17)
    b, x = (torch.tensor([p[i] for p in points], dtype=torch.float64, requires_grad=True) for i in range(2))
    (x * torch.sigmoid(b * x)).sum().backward()
    got = _outputs(SWISH, None, "numpy", {"b": [p[0] for p in points], "x": [p[1] for p in points]}, np.float64)[1]
    for j, p in enumerate(points):
        true = _true_slope(*p)
        assert _ulps(got[j], true, np.float64) <= max(1.0, _ulps(b.grad[j].item(), true, np.float64)), p


def test_swish_beta_slope_form():
    """The rule writes ∂β as sigmoid_pair_product(β, x, x, x) within |β·x| ≤ 3.4e38, and its exact value is the
    written one (the rule's identity, at a point)."""
    from symnet.special import sigmoid_pair_product

    from symnet.codegen.rewrite import PRODUCT_PAIR, stabilise

    d = derived(SWISH)
    (db,) = [g for g, v in zip(d.jacobian, d.inputs) if v.name == "b"]
    stable, fired = stabilise(db)
    assert PRODUCT_PAIR in fired and stable.has(sigmoid_pair_product)
    with mpmath.workdps(50):
        value = sigmoid_pair_product(sp.Float(0.7), sp.Float(-2.5), sp.Float(-2.5), sp.Float(-2.5)).evalf(50)
        assert abs(float(value) - float(_true_slope(0.7, -2.5))) <= 1e-30


# ------------------------------------------------------------------ power-quotient with a half-integer power


def _quotient_errors(formula, exact, points, dtype, backend="numpy"):
    """The worst error of each output (value, then ∂ by input) in ULPs of ``dtype`` (in subnormal steps where the
    true value is below the normal range): ``exact`` maps the points' mpf values to the true outputs."""
    d = derived(formula)
    names = [str(v) for v in d.inputs]
    points = [tuple(float(dtype(v)) for v in p) for p in points]
    got = _outputs(formula, None, backend, {n: [p[i] for p in points] for i, n in enumerate(names)}, dtype)
    info = np.finfo(dtype)
    worst = [0.0] * len(got)
    with mpmath.workdps(60):
        for j, p in enumerate(points):
            for k, true in enumerate(exact(*[mpmath.mpf(v) for v in p])):
                want = float(np.asarray(float(true), dtype))
                if abs(want) >= info.tiny or want == 0 and abs(true) > 0:
                    unit = float(np.spacing(np.asarray(abs(want), dtype))) if want else float(info.smallest_subnormal)
                else:
                    unit = float(info.smallest_subnormal)
                g = float(got[k][j])
                error = np.inf if not np.isfinite(g) else float(abs(mpmath.mpf(g) - true)) / unit
                worst[k] = max(worst[k], error)
    return worst


def _t_over_x32(t, x):
    return [t / x ** 1.5, 1 / x ** 1.5, -1.5 * t / x ** 2.5]  # f, ∂t, ∂x (the inputs sorted: t, x)


def _erf_over_sqrt(x):
    return [mpmath.erf(x) / mpmath.sqrt(x), 2 * mpmath.exp(-x * x) / mpmath.sqrt(mpmath.pi * x) - mpmath.erf(x) / (2 * x ** 1.5)]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_half_power_quotient_float64(backend):
    """t/x^(3/2): 9.33 ULP (value) and 5.8e15 (∂x, −0) at t = 1e300, x = 1e206 before; ≤ 1 now, and as written
    below 2⁸⁰. The value's figure depends on the CPU's NumPy power/sqrt loops (SIMD paths differ by CPU): 0.33 on
    the box of session 14, 1.13 at one of these points on the CI box of session 17 (float64 value, same NumPy 2.4.6):
    bounded at 2 ULP (the standard's bound is 4)."""
    if backend == "triton":
        from conftest import triton_torch
        triton_torch()
    points = [(1e300, 1e206), (1e300, 3e205), (1.0, 4.0), (1e10, 1e200), (3e38, 1e26), (2.5, 1e24), (2.5, 1.3e24)]
    worst = _quotient_errors("t/x**(3/2)", _t_over_x32, points, np.float64, backend)
    assert max(worst) <= 2.0, worst


def test_half_power_quotient_float32():
    """float32 ∂x was NaN at t = 3e38, x = 1e26 (x^(5/2) = inf in the float64 block too? no: t·x^(−5/2) formed
    as inf·0); ≤ 1 ULP now."""
    points = [(3e38, 1e26), (1.0, 4.0), (3e38, 3e37), (1e-30, 2e30)]
    worst = _quotient_errors("t/x**(3/2)", _t_over_x32, points, np.float32)
    assert max(worst) <= 1.0, worst


def test_erf_over_sqrt_slope_past_overflow():
    """erf(x)/√x′ where x^(3/2) overflows (x ≥ 3.2e205): true −2.6e−309 at 3.3e205 (subnormal), 0 before (5.3e14
    subnormal steps); within a subnormal step now, and the value and slope as before below."""
    points = [(3.3e205,), (1e206,), (2e205,), (1e100,), (5e25,), (1.2e24,), (1.3e24,), (0.7,), (3.0,)]
    worst = _quotient_errors("erf(x)/sqrt(x)", _erf_over_sqrt, points, np.float64)
    assert worst[0] <= 1.0 and worst[1] <= 1.5, worst


def test_triton_half_powers_print_as_roots():
    """x^(±n/2) in Triton: x^⌊n/2⌋·√x and ((1/x)/…)/√x, not e^(∓1.5·log x), which rounded −1.5·log x (543 ULP in
    float64 at x = 1e206 for ∂t of t/x^(3/2), measured before); x^(1/3) through the generated _pow since session 20."""
    from symnet.codegen.backends.triton.printer import TritonPrinter

    printer = TritonPrinter({}, set())
    assert printer.doprint(_x ** sp.Rational(3, 2)) == "(x * tl.sqrt(x))"
    assert printer.doprint(_x ** sp.Rational(-3, 2)) == "((1.0 / x) / tl.sqrt(x))"
    assert printer.doprint(_x ** sp.Rational(-5, 2)) == "(((1.0 / x) / x) / tl.sqrt(x))"
    # other fractional powers: the generated _pow (y = (u + c)·log b in double words, h-pow20, tests/test_pow20.py)
    assert printer.doprint(_x ** sp.Rational(1, 3)).startswith("_pow(")
