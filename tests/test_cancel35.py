"""Session 35 (h-cancel35), issue 16: cancellations found and not fixed by session 34, each at the value that showed
it and its neighbourhood. Truths are mpmath's of the formula as written (its own roots, reciprocals and quotients,
never symnet's derivation), at the digits each sum needs; errors in ULPs of the kernel's dtype (conftest.ulps)."""
import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

BOUND = {np.float64: 4, np.float32: 8}


# ---------------------------------------------------------------- conjugate: c + g/√A with an irrational constant c

# The conjugate rule's derivative form c + g/√A read c as the sum's rational part: ∂ of √2/3·x + √(2x²/9 + 1) is
# (3√2 + 2x/√(2x²/9 + 1))/9, whose constant 3√2 is no Rational, so the rule never applied and the sum cancelled for
# x ≪ 0: 0 at x = −1e10 for 1.06e−20 (7.0e15 ULP), 1.1e−16 for 1.99e−124 at −7.3e61; √5·x + √(5x² + 1) likewise
# (5.9e15 ULP at −1e10; the value was right, session 34's test_lead34 checks it). Now ≤ 1 ULP.
HYPOT_FORMS = {  # formula: its constant c (f = c·x + √(c²x² + 1))
    "sqrt(2)/3*x + sqrt(2*x**2/9 + 1)": mpmath.sqrt(2) / 3,
    "sqrt(5)*x + sqrt(5*x**2 + 1)": mpmath.sqrt(5),
    "sqrt(7)/2*x + sqrt(7*x**2/4 + 1)": mpmath.sqrt(7) / 2,
    "2*sqrt(3)*x + sqrt(12*x**2 + 1)": 2 * mpmath.sqrt(3),
}


def _hypot_points(dtype, seed):
    rng = np.random.default_rng(seed)
    top = 306 if dtype == np.float64 else 37
    xs = np.concatenate([[-1e10, -7.3e61, -3.0, -1e5], -10 ** rng.uniform(-3, top, 150),
                         10 ** rng.uniform(-3, top, 40), rng.uniform(-5, 5, 20)])
    return xs[np.abs(xs) < np.finfo(dtype).max].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(HYPOT_FORMS))
def test_conjugate_takes_an_irrational_constant_of_the_derivative(formula, dtype):
    c = HYPOT_FORMS[formula]
    xs = _hypot_points(dtype, 3500 + len(formula))
    f, df = compiled(formula)(x=xs)
    with mpmath.workdps(700):  # c²x² + 1 at x = −1e306 needs 612 digits to keep the 1
        C = +c
        for x, g, dg in zip(xs, f, df):
            X = mpmath.mpf(float(x))
            r = mpmath.sqrt(C ** 2 * X ** 2 + 1)
            assert ulps(g, C * X + r, dtype) <= BOUND[dtype], (formula, x, g)
            assert ulps(dg, C + C ** 2 * X / r, dtype) <= BOUND[dtype], (formula, x, dg)
