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
