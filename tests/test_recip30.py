"""c·(1/y) printed as the one quotient c/y (session 30, h-recip30; issue 16).

Both printers wrote a constant times reciprocals with the constant last, ``1/y * c``: 1/y rounded first and overflowed
for a subnormal y where c/y does not, and the product rounded twice where the quotient rounds once. Now
ConditionalPrinting._constant_quotient prints c/(y·z…) (and c/√y); c·y⁻² stays ``y**(-2) * c`` (y² overflows where
y⁻² is a subnormal), and a reciprocal held in a temporary (σ's r = 1/(1 + E)) is a symbol, untouched.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet

x, y = sp.symbols("x y", real=True)
# the truths' digits (conftest._mpmath_digits); before h-dps48 they were mpmath's 15 where this file ran alone (a
# 53-bit truth: 1/selu below was 1.0 ULP, 0 at 50 digits; (3/7)/x 0 and 1/x·(3/7) 1.0, 1.0 and 2.0 at 50)
MP_DPS = 50
LAMBDA = mpmath.mpf("1.0507009873554804934193349852946")


def _ulps(got, true, dtype) -> float:
    return abs(float(got) - float(true)) / float(np.spacing(dtype(abs(float(true)))))


@pytest.mark.parametrize("dtype, at", [(np.float64, 5.4e-309), (np.float32, 2.85e-39)])
def test_reciprocal_of_selu_at_a_subnormal(dtype, at):
    """1/selu(x) = {(1/λ)/x if x > 0; …}: before, 1/x·0.9517… was inf at x = 5.4e−309 f64 (true 1.76249e308) and at
    2.85e−39 f32 (true 3.33946e38); now 0.9517…/x: 0 ULP f64 (at 50 digits), 0.65 f32."""
    k = symnet.compile(symnet.derive(symnet.parse("1/selu(x)")))
    value, _ = k(np.array([at], dtype))
    true = 1 / (LAMBDA * mpmath.mpf(float(dtype(at))))
    assert np.isfinite(value[0]) and _ulps(value[0], true, dtype) <= 1.0, (value[0], float(true))


def _numpy(e):
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    return NumpyExpressionPrinter(set(), {x: "x", y: "y"}, dtype="_dtype").doprint(e)


def _triton(e):
    from symnet.codegen.backends.triton.printer import TritonPrinter
    return TritonPrinter({x: "x", y: "y"}, set()).doprint(e)


@pytest.mark.parametrize("e, numpy_code, triton_code", [
    (sp.Rational(3, 7) / x, "0.42857142857142855/x", "0.42857142857142855/x"),  # before 1/x * 0.428…
    (-sp.Rational(3, 7) / x, "-0.42857142857142855/x", "-0.42857142857142855/x"),  # before -(1/x * 0.428…)
    # before 1/(x*y)/2; taken by exponents where x·y leaves the range (session 37: two reciprocals, 1/x first, were
    # inf at a subnormal x)
    (sp.Rational(1, 2) / (x * y), "_taken_by_exponents(0.5/(x*y), 0.5, 0, lambda: (x, -1, y, -1))", "0.5/(x*y)"),
    (-3 / sp.sqrt(x), "-3.0/np.sqrt(x)", "-3.0/tl.sqrt(x)"),  # before -(1/np.sqrt(x) * 3.0)
    (sp.Rational(5, 2) / x ** 2, "x**(-2) * 2.5", "1.0 / (x * x) * 2.5"),  # kept: x² overflows where x⁻² does not
])
def test_printed_forms(e, numpy_code, triton_code):
    assert _numpy(e) == numpy_code
    assert _triton(e) == triton_code


def test_quotient_is_one_rounding():
    """The printed (3/7)/x against the old 1/x·(3/7) and mpmath on random float64 x: the quotient (the constant's
    rounding and the division's) within 1 ULP (1.0 on these points, the truth rounded first); the product, three
    roundings, was worse (2.0 on the same points)."""
    assert _numpy(sp.Rational(3, 7) / x) == "0.42857142857142855/x"
    rng = np.random.default_rng(30)
    xs = np.concatenate([rng.uniform(0.5, 2.0, 300), 10.0 ** rng.uniform(-300, 300, 300)])
    c = 0.42857142857142855
    true = [mpmath.mpf(3) / 7 / mpmath.mpf(float(v)) for v in xs]
    new = max(_ulps(g, t, np.float64) for g, t in zip(c / xs, true))
    old = max(_ulps(g, t, np.float64) for g, t in zip(1 / xs * c, true))
    assert new <= 1.0 and old > new, (new, old)
