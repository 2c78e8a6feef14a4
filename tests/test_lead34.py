"""Session 34's merge: the review's findings, each at the input that showed it (mpmath at 800 digits: the sums cancel
near the largest number)."""
import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps


# the conjugate rule's far branch scaled by s = 2^j ≥ 4·max(1, |b|) for B = b·v, b read as B's rational part only:
# √5·x gave b = 1, s = 4, and √A/s + B/s ≈ 2√5·|x|/4 overflowed (float64, 0 for 1.3e−309 at −1.7e308)
@pytest.mark.parametrize("c", [5, 7, 15, 4, 9])
def test_conjugate_far_scale_takes_an_irrational_coefficient_whole(c):
    k = compiled(f"sqrt({c})*x + sqrt({c}*x**2 + 1)")
    rng = np.random.default_rng(3400 + c)
    xs = np.concatenate([[-1.7e308, -1e308], -10 ** rng.uniform(300, np.log10(1.79e308), 40)])
    f = k(x=xs)[0]
    with mpmath.workdps(800):
        for x, g in zip(xs, f):
            X = mpmath.mpf(float(x))
            assert ulps(g, mpmath.sqrt(c) * X + mpmath.sqrt(c * X ** 2 + 1), np.float64) <= 4, (c, x, g)


# the hypot rule's parse took a square's coefficient as its rational part: π²·x² was (1, π²·x²), not a square, so
# π·x + √(π²x² + 1) was never scaled: 0 for 1.6e−201 at x = −1e200 (8.8e15 ULP; 3π, 7π likewise), at c55f38b2 too
@pytest.mark.parametrize("c", ["pi", "3*pi", "7*pi", "exp(1)"])
def test_hypot_takes_a_constant_coefficient_whole(c):
    k = compiled(f"{c}*x + sqrt(({c})**2*x**2 + 1)")
    rng = np.random.default_rng(3434)
    xs = np.concatenate([-10 ** rng.uniform(-3, 306, 30), 10 ** rng.uniform(-3, 306, 10), [-1e200, -1e10, -3.0]])
    f, df = k(x=xs)
    with mpmath.workdps(900):
        C = {"pi": mpmath.pi, "3*pi": 3 * mpmath.pi, "7*pi": 7 * mpmath.pi, "exp(1)": mpmath.e,
             "sqrt(2)/3": mpmath.sqrt(2) / 3}[c]
        for x, g, dg in zip(xs, f, df):
            X = mpmath.mpf(float(x))
            r = mpmath.sqrt(C ** 2 * X ** 2 + 1)
            assert ulps(g, C * X + r, np.float64) <= 4, (c, x, g)
            assert ulps(dg, C + C ** 2 * X / r, np.float64) <= 4, (c, x, dg)
