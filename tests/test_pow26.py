"""Session 26, h-pow26: the power-family cases session 25 left (issue 16).

- common-power past its bounds: the Tweedie deviance's ∂μ = 2(μ − y)/μ^(3/2) past |μ| = 2⁸⁰ is the inner sum divided
  by μ stepwise where its terms have opposite signs (symnet/codegen/rewrite.py ``_stepwise_power``);
- quotient-complement on a factor: the Gamma deviance's ∂y = 2·(1 − μ/y)/μ (SymPy's form of 2(1/μ − 1/y)) takes
  (y − μ)/y for the factor 1 − μ/y where μ and y have one sign (``_sterbenz_complement``), other c + k·t/p factors
  the rule's double-word sum;
- polynomial-power (new): (x² + x⁴)^0.3 and its derivative with each polynomial's lowest (|x| < 1) or highest power of
  x taken out and every power of x merged into one |x|^E (``_polynomial_power_node``).

Every check is against mpmath at 1000 digits of SymPy's derivative of the formula as written and torch.autograd of
the formula as written in the same dtype (``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the truth
is normal, its rounding within 1 ULP where subnormal, never worse than torch).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch
from test_breakage21b import _faults
from test_pow25 import _kept

F64, F32 = np.float64, np.float32
x = sp.Symbol("x", real=True)
mu, y = sp.symbols("mu y", real=True)

# the new rule's case, for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("polynomial-power", (x ** 2 + x ** 4) ** sp.Rational(3, 10), (x,), (0.05, 4.0), (1e100,), F64),
]


def _in_float32(points):
    return [p for p in points if all(v == 0 or 1e-44 < abs(v) < 3e38 for v in p)]


# --- common-power past 2^±80: the Tweedie deviance's ∂μ ----------------------------------------------------------
TWEEDIE = "2*(y*mu**(-0.5)/0.5 + mu**0.5/0.5)"  # as in tests/test_pow25.py


def _tweedie(t, mu, y):
    return 2 * (y * mu ** -0.5 / 0.5 + mu ** 0.5 / 0.5)


# μ ≈ y past 2⁸⁰ and below 2⁻⁸⁰, to the largest float and the subnormals; terms of one sign there (f: 4μ + 4y at
# 1.7e308 overflows as one sum); y far from μ
FAR = [(1e30, 1.0000001e30), (1e36, 1.0000001e36), (1e-30, 1.0000001e-30), (1e100, 1.0000001e100),
       (1e300, 1.0000001e300), (1.7e308, 1.6e308), (1e-310, 1.1e-310), (1e25, 3.0), (1e-25, 7.0), (1e30, -1e30)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_tweedie_dmu_past_two_to_the_80(backend, dtype):
    """f, ∂μ, ∂y at 10 points past 2^±80. Before (measured 2026-12-04), ∂μ in float64: 4.4e6 ULP at μ = 1e30,
    y = 1.0000001e30 (torch the same), 6.9e4 at 1e36 (torch 1.7e7), 9.4e6 at 1e−30 (torch the same), 4.7e6 at 1e100 (torch
    1.3e7), 4.4e6 at 1e300 (torch 6.2e22); float32 4.8e6 at 1e30 (torch 1.6e14), 4.5e6 at 1e36, 5.0e6 at 1e−30 (torch inf).
    After: none past the bound."""
    if backend == "triton":
        triton_torch()
    points = FAR if dtype == F64 else _in_float32(FAR)
    if backend == "triton":
        points = points[:6]
    assert not _kept(_faults(TWEEDIE, ["mu", "y"], points, dtype, _tweedie, backend=backend))


def test_stepwise_power_takes_and_leaves():
    """The inner sum k·(a·x + b) divided by x stepwise (a half power last) under sign(a)·sign(x)·sign(b) < 0; none
    where the sum is not linear in x or the lowest power is not a (half-)integer."""
    from symnet.codegen.rewrite import Grouped, _stepwise_power

    scaled, cancels = _stepwise_power(2 * mu - 2 * y, mu, sp.Rational(-3, 2), sp.Rational(-1, 2))
    assert sp.expand(scaled.doit() - (2 * mu - 2 * y) * mu ** sp.Rational(-3, 2)) == 0
    assert scaled.has(Grouped) and cancels == (-sp.sign(mu) * sp.sign(y) < 0)
    assert _stepwise_power(mu ** 2 - y, mu, sp.Rational(-5, 2), sp.Rational(-1, 2)) is None  # not linear
    assert _stepwise_power(mu - y, mu, sp.Rational(-7, 10), sp.Rational(3, 10)) is None  # x^(−0.7)
    assert _stepwise_power(mu - 1, mu, sp.Rational(-17, 2), sp.Rational(-15, 2)) is None  # past x^(−8)


# --- quotient-complement on a factor: the Gamma deviance's ∂y --------------------------------------------------------
GAMMA = "2*(y/mu - log(y/mu) - 1)"


def _gamma(t, y, mu):
    return 2 * (y / mu - t.log(y / mu) - 1)


# (y, μ): near the optimum y = μ at every scale, and far from it
GAMMA_POINTS = [(1.0001, 1.0), (1.0, 1.0001), (3.0, 2.9999), (1 + 2.0 ** -30, 1.0), (1e10, 1.0000001e10),
                (1e-10, 1.0000001e-10), (1e300, 0.9999999e300), (1e-300, 1.0000001e-300), (0.5, 3.0), (1e30, 1.0000001e30),
                (1e-30, 0.9999999e-30), (7.0, 0.01)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_gamma_deviance_dy_near_its_optimum(backend, dtype):
    """f, ∂y, ∂μ at 12 points. Before (measured 2026-12-04), ∂y in float64: 2,038 ULP at y = 1.0001, μ = 1 (torch
    the same), 7,282 at (3, 2.9999) (torch 1,098), 8.4e6 at y = 1 + 2⁻³⁰ (torch the same), 3.8e6 at 1e10 (torch
    1.5e6), 8.1e6 at 1e−10, 6.2e5 at 1e300, 4.5e6 at 1e−300: r/x rounded, then 1 − r/x. Float32 held (a widened
    block). After: none past the bound."""
    if backend == "triton":
        triton_torch()
    points = GAMMA_POINTS if dtype == F64 else _in_float32(GAMMA_POINTS)
    if backend == "triton":
        points = points[:6]
    assert not _kept(_faults(GAMMA, ["y", "mu"], points, dtype, _gamma, backend=backend))


def test_log_linear_root_dx_near_x_equal_y():
    """test_breakage24's strict xfail (its assertion kept): ∂x of log(x/y) − x/y + 1, (y/x − 1)/y, cancelled where
    x ≈ y: 4.1e3 ULP in float64 at (1 − 2⁻⁴⁰, 1 + 2⁻⁴⁰) (torch exact there), up to 9.7e11 ULP over 40 random points
    with |y/x − 1| < 1e−9 (torch up to 2.3e12). Now the factor y/x − 1 is the quotient-complement rule's."""
    fn = lambda t, x, y: t.log(x / y) - x / y + 1  # noqa: E731
    points = [(1 - 2.0 ** -40, 1 + 2.0 ** -40), (1.4554425309821815, 1.4554425311903965),
              (0.9046800706458055, 0.9046800703235031)]
    bad = _kept(_faults("log(x/y) - x/y + 1", ["x", "y"], points, F64, fn))
    assert not bad, bad


def test_quotient_complement_takes_a_factor_of_a_monomial_only():
    """c·M·(1 − t/p), M a monomial of inputs: c·(1 − r/x) as c·(x − r)/x where x and r have one sign, other sums
    c + k·t/p widened beside M as written; not a sum under a function or a product with another sum."""
    from symnet.codegen.rewrite import Grouped, WidenedBase, _quotient_complement

    taken = _quotient_complement(2 * (1 - mu / y) / mu)  # SymPy's 2 − 2μ/y, over μ
    (exact, cancels), (written, _) = [a for a in taken.args if isinstance(a, sp.Piecewise)][0].args
    assert exact == 2 * Grouped(Grouped(y - mu) / y) and cancels == (sp.sign(mu) * sp.sign(y) > 0)
    assert written == 2 - 2 * mu / y
    widened = _quotient_complement((3 - mu / y) / mu)  # c ≠ k: c + k·t/p widened
    assert isinstance(widened, sp.Piecewise) and widened.args[0].expr == (3 - mu / y) / mu
    assert widened.args[-1].expr.is_Mul and widened.args[-1].expr.has(WidenedBase)
    for left in (sp.log(1 - mu / y) / mu, (1 - mu / y) * (1 + mu), sp.exp(mu) * (1 - mu / y)):
        assert _quotient_complement(left) == left


# --- polynomial-power: (x² + x⁴)^0.3 -------------------------------------------------------------------------------
POWER = "(x**2 + x**4)**0.3"


def _power(t, x):
    return (x ** 2 + x ** 4) ** 0.3


XS = [1e-300, 1e-200, 1e-100, 1e-30, 1e-10, 1e-5, 0.01, 0.5, 0.999, 1.0, 1.001, 3.0, 1e5, 1e10, 1e19, 1e30, 1e70,
      1e100, 1e154, 1e200, 1e300, 1.7e308]
POWER_POINTS = [(v,) for v in XS] + [(-v,) for v in XS[::3]]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_power_of_a_sum_of_two_powers(backend, dtype):
    """f and ∂ at 30 points from 1e−300 to 1.7e308 (8 negative). Before (measured 2026-12-04), float64: f inf from
    1e100 (true 1e120), 0 at 1e−200 (5.8e15 ULP); ∂ 0 at 1e100 (true 1.2e20, 7.3e15 ULP), NaN at 1e200, inf at
    1e−200 (true 6e79); float32: f 0 at 1e−30, inf at 1e10; ∂ inf at 1e−30, 0 at ±1e10 (1.6e7 ULP), NaN at 1e30;
    torch the same. After: none past the bound (±inf inputs left out: ours inf, the limit, where torch's ∂ is
    inf/inf = NaN)."""
    if backend == "triton":
        triton_torch()
    points = POWER_POINTS if dtype == F64 else _in_float32(POWER_POINTS)
    if backend == "triton":
        points = points[::2]
    assert not _kept(_faults(POWER, ["x"], points, dtype, _power, backend=backend))


def test_power_of_a_sum_of_two_powers_at_the_float64_ends():
    """test_breakage24b's strict xfail (its assertion kept): f 0 at 1e−310 (truth 1.0e−186), ∂ NaN at 1.797e308
    (truth 5.37e61); torch 0 and NaN: x² + x⁴ = x²·(1 + x²) is no c + w·x² (square-sum-power's)."""
    bad = _kept(_faults(POWER, ["x"], [(1e-310,), (1.797e308,)], F64, _power))
    assert not bad, bad


def test_polynomial_power_takes_and_leaves():
    """The two branches at |x| = 1, |x|^E merged (the derivative's x·|x|^(−1.4): one |x|^(−0.4)); left: a sum with
    coefficients of both signs (x² − x⁴ cancels near 1: the written form), an odd lowest power under a fractional
    one ((x + x³)^(1/3): negative x), another input, a polynomial of one degree."""
    from symnet.codegen.rewrite import _polynomial_power_node

    f = (x ** 2 + x ** 4) ** sp.Rational(3, 10)
    taken = _polynomial_power_node(sp.diff(f, x))
    (small, near), (large, _) = taken.args
    assert near == (sp.Abs(x) < 1)
    assert sp.Abs(x) ** sp.Rational(-2, 5) in sp.Mul.make_args(small), small
    assert sp.Abs(x) ** sp.Rational(1, 5) in sp.Mul.make_args(large), large
    z = sp.Symbol("z", real=True)
    for left in ((x ** 2 - x ** 4) ** sp.Rational(3, 10), (x + x ** 3) ** sp.Rational(1, 3),
                 (x ** 2 + z * x ** 4) ** sp.Rational(3, 10), (x ** 4) ** sp.Rational(3, 10), x ** 2 + x ** 4):
        assert _polynomial_power_node(left) is None, left
