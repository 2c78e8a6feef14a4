"""Issue 16, elementwise leftovers (session 10), each at the point where the written form failed, against
mpmath (50 digits and more), NumPy and Triton:

* rounded-argument for e^(−v²): erf(softplus x)′ = 2/√π·e^(−softplus(x)²)·σ(x) rounds v = softplus(x) before
  squaring it: 114 ULP at x = 20 in float64 (torch autograd 97; 150–190 reported), v now in double-word and
  e^(−(v_hi + v_lo)²) to first order in v_lo (_dw_nexpsq_first).
* removable-series: f(x)/x^k with a finite limit at 0 is 0/0 there, and its derivative cancels without bound
  as x → 0 (tanh(x)/x′ = (1 − tanh²x)/x − tanh(x)/x²: inf×8 in float64, 9.8e46 ULP in float32 by symnet verify;
  torch the same); the Taylor polynomial about 0 within a measured window.
* product-order: a·b·c of three inputs overflows or underflows in the middle ((a·b)·c = inf at a = 3e38, b = 4,
  c = 1e−3 in float32, true 1.2e36; 0 at 1e−300·1e−300·1e300 in float64, true 1e−300); the factor of middle
  magnitude multiplied last (benchmarks/product_order.py measures the cost).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch
from symnet.codegen.rewrite import stabilise
from symnet.codegen.roots import ZeroSeries
from test_rules9 import _ulps

_x = sp.Symbol("x", real=True)
_a, _b, _c = sp.symbols("a b c", real=True)
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("removable-series", sp.tanh(_x) / _x, (_x,), (-0.6, 0.6), (1e-5,), np.float64),
    ("removable-series", sp.log(1 + _x) / _x, (_x,), (-0.5, 0.5), (3e-6,), np.float32),
    ("product-order", _a * _b * _c, (_a, _b, _c), (-4.0, 4.0), (1e-30, 1e-30, 1e30), np.float32),
    ("product-order", 3 * _a * _b * _c, (_a, _b, _c), (-4.0, 4.0), (1e-300, 1e-300, 1e300), np.float64),
]


def _erf_softplus_slope(x):
    """erf(softplus x)′ = 2/√π·e^(−softplus(x)²)·σ(x), exact (mpmath at 60 digits)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(float(x))
        v = mpmath.log1p(mpmath.exp(x))
        return 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-v * v) / (1 + mpmath.exp(-x))


_ERF_POINTS = [20.0, 19.37, 13.946887304611646, 8.5, 4.421131, 2.25, 0.7, -3.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_erf_of_softplus_slope_at_twenty(dtype):
    k = symnet.compile(symnet.derive("erf(softplus(x))", ["x"]), "numpy")
    x = np.array(_ERF_POINTS, dtype)
    _, dx = k(x=x)
    worst = max(_ulps(float(g), _erf_softplus_slope(v), dtype) for g, v in zip(dx, x))
    assert worst <= 2.5, worst  # before: 570 ULP in float64 (at 19.37), 87 in float32; torch autograd 97 at 13.95


def test_erf_of_softplus_slope_triton():
    torch = triton_torch()
    k = symnet.compile(symnet.derive("erf(softplus(x))", ["x"]), "triton")
    x = np.array(_ERF_POINTS, np.float64)
    _, dx = k(x=torch.tensor(x))
    worst = max(_ulps(float(g), _erf_softplus_slope(v)) for g, v in zip(dx.cpu().numpy(), x))
    assert worst <= 2.5, worst


def test_erf_of_softplus_slope_uses_the_first_order_helper_on_the_band_only():
    k = symnet.compile(symnet.derive("erf(softplus(x))", ["x"]), "numpy")
    assert "_dw_nexpsq_first(" in k.source


# ------------------------------------------------------------------ removable-series

def _mp_of(formula):
    """The formula and its derivative as mpmath functions of x (SymPy's own, exact)."""
    e = sp.sympify(formula, locals={"x": _x})
    return [sp.lambdify([_x], g, "mpmath") for g in (e, sp.diff(e, _x))]


_SMALL = [0.0, -0.0, 5e-324, 1e-300, -1e-200, 1e-45, 2.0 ** -30, -3e-9, 1e-5, -0.01, 0.2]
_REMOVABLE = ["tanh(x)/x", "sin(x)/x", "(exp(x) - 1)/x", "log(1 + x)/x", "(1 - cos(x))/x**2"]


@pytest.mark.parametrize("formula", _REMOVABLE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_removable_singularity_and_its_derivative_near_zero(formula, dtype):
    """Against mpmath at 1500 digits, at 0 SymPy's limit; before, the value was NaN at 0 and the derivative inf
    or NaN below |x| ≈ 1e−150 (float64) and 1e10 ULP off at x = 1e−5."""
    k = symnet.compile(symnet.derive(formula, ["x"]), "numpy")
    exact = _mp_of(formula)
    e = sp.sympify(formula, locals={"x": _x})
    limits = [sp.limit(g, _x, 0) for g in (e, sp.diff(e, _x))]
    x = np.array(_SMALL, dtype)
    got = k(x=x)
    bound = 3.0 if dtype is np.float64 else 6.0  # OUTSIDE_ULP: the written form's own error outside the window
    for j, out in enumerate(got):
        for v, g in zip(x, out):
            with mpmath.workdps(1500):  # x^−3 at 5e−324 cancels 970 digits
                true = exact[j](mpmath.mpf(float(v))) if v != 0 else mpmath.mpf(str(sp.N(limits[j], 30)))
            assert _ulps(float(g), true, dtype) <= bound, (formula, j, float(v), float(g))


def test_tanh_over_x_series_against_sympy_series():
    """The exactness check: the fitted coefficients are SymPy's Taylor coefficients of tanh(x)/x′ (an odd
    function: x·P(x²)), to 1e−40."""
    stable, fired = stabilise(sp.diff(sp.tanh(_x) / _x, _x))
    assert "removable-series" in {r.name for r in fired}
    (z,) = stable.atoms(ZeroSeries)
    assert (z.power, z.stride) == (1, 2)
    series = sp.series(sp.diff(sp.tanh(_x) / _x, _x), _x, 0, 2 * len(z.coefficients) + 1).removeO()
    for j, c in enumerate(z.coefficients):
        want = series.coeff(_x, 2 * j + 1)
        assert abs(float(c - want)) * 0.6 ** (2 * j + 1) <= 1e-24, (j, c, want)  # its share over the window


def test_removable_series_leaves_poles_and_logs_alone():
    for e in (1 / _x, sp.sin(_x) / _x ** 2, sp.log(_x) / _x, sp.exp(_x) / _x):
        assert "removable-series" not in {r.name for r in stabilise(e)[1]}, e


def test_removable_series_in_a_product_with_another_input():
    y = sp.Symbol("y", real=True)
    stable, fired = stabilise(y * sp.tanh(_x) / _x)
    assert "removable-series" in {r.name for r in fired}
    k = symnet.compile(symnet.derive("y*tanh(x)/x", ["x", "y"]), "numpy")
    f, dx, dy = k(x=np.array([0.0, 1e-5]), y=np.array([3.0, 3.0]))
    assert f[0] == 3.0 and dy[0] == 1.0 and dx[0] == 0.0


def test_removable_series_triton():
    torch = triton_torch()
    k = symnet.compile(symnet.derive("tanh(x)/x", ["x"]), "triton")
    exact = _mp_of("tanh(x)/x")
    x = np.array([0.0, 1e-300, 1e-5, -0.3, 0.61], np.float64)
    got = k(x=torch.tensor(x))
    for j, out in enumerate(got):
        for v, g in zip(x, out.cpu().numpy()):
            with mpmath.workdps(1500):  # x^−3 at 5e−324 cancels 970 digits
                true = exact[j](mpmath.mpf(float(v)) if v != 0 else mpmath.mpf("1e-400"))  # the limit at 0
            assert _ulps(float(g), true) <= 3, (j, float(v), float(g))



def test_expm1_over_x_derivative_at_zero():
    """The derivation's (e^x − (e^x − 1)/x)/x gets the exp-minus rule's select on |x| < log 2: read as a kink at
    0, only the inner 1 − expm1(x)/x got the series, and x^−1·(its −x/2) was NaN at 0, inf at 5e−324."""
    k = symnet.compile(symnet.derive("(exp(x) - 1)/x", ["x"]), "numpy")
    _, dx = k(x=np.array([0.0, 5e-324, -1e-300]))
    assert list(dx) == [0.5, 0.5, 0.5]


# ------------------------------------------------------------------ product-order

_PRODUCTS = [(-0.0009201741, -3.4028235e38, 2.9632428), (-3.4028235e38, 0.0014122457, 1e-45), (3e38, 4.0, 1e-3),
             (1e-30, 1e-30, 1e30), (2.0, 3.0, 4.0), (0.0, 5.0, 1e38), (-1e20, 1e-25, -1e20), (1e-300, 1e300, 1e-300),
             (1e300, 1e300, 1e-300), (1e-300, 1e-300, 1e300), (2.2250738585072014e-308, -537.02, -1.7976931348623157e308)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_product_of_three_inputs_does_not_overflow_in_the_middle(dtype, backend):
    """Against mpmath: (a·b)·c was inf at (3e38, 4, 1e−3) in float32 (true 1.2e36) and 0 at (1e−300, 1e−300,
    1e300) in float64 (true 1e−300); the generated order b·c·a met inf at (−9.2e−4, −3.4e38, 2.96)."""
    k = symnet.compile(symnet.derive("a*b*c", ["a", "b", "c"]), backend)
    cols = [np.array([p[i] for p in _PRODUCTS]).astype(dtype) for i in range(3)]
    if backend == "triton":
        torch = triton_torch()
        f = k(a=torch.tensor(cols[0]), b=torch.tensor(cols[1]), c=torch.tensor(cols[2]))[0].cpu().numpy()
    else:
        f = k(a=cols[0], b=cols[1], c=cols[2])[0]
    for i in range(len(_PRODUCTS)):
        a, b, c = (mpmath.mpf(float(col[i])) for col in cols)
        if mpmath.isnan(a * b * c):  # float32's 1e300 is inf: 0·inf
            assert np.isnan(f[i])
            continue
        assert _ulps(float(f[i]), a * b * c, dtype) <= 1.0, (i, float(f[i]), a * b * c)


def test_product_order_in_a_derivative_and_beside_a_number():
    """∂/∂d of a·b·c·d is a·b·c: ordered too; 3·a·b·c keeps its number outside."""
    k = symnet.compile(symnet.derive("a*b*c*d", ["a", "b", "c", "d"]), "numpy")
    assert "_ordered_product(" in k.source
    out = k(a=np.array([1e300]), b=np.array([1e300]), c=np.array([1e-300]), d=np.array([2.0]))
    assert out[4][0] == 1e300  # ∂/∂d = a·b·c
    stable, _ = stabilise(3 * _a * _b * _c)
    assert stable.as_coeff_Mul()[0] == 3
